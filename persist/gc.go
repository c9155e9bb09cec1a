package persist

import (
	"errors"
	"time"

	badger "github.com/dgraph-io/badger/v4"

	"github.com/imqtt/imqtt/internal/logfield"
)

// gcLoop is the value-log GC goroutine. Open starts it (on-disk stores with a
// non-zero ValueLogGCInterval); Close stops it by closing s.done and waits for it
// on s.wg. Each tick runs RunValueLogGC until Badger reports there is nothing
// left to rewrite, checking s.done between rewrites so Close never waits for more
// than one.
func (s *Store) gcLoop() {
	defer s.wg.Done()
	t := time.NewTicker(s.cfg.ValueLogGCInterval)
	defer t.Stop()
	for {
		select {
		case <-s.done:
			return
		case <-t.C:
			s.runValueLogGC()
		}
	}
}

// runValueLogGC runs one GC pass on the current generation.
func (s *Store) runValueLogGC() {
	g, err := s.acquire()
	if err != nil {
		return
	}
	defer g.release()
	rewrites := 0
	for {
		select {
		case <-s.done:
			return
		default:
		}
		err := g.db.RunValueLogGC(s.cfg.ValueLogGCRatio)
		if err == nil {
			rewrites++
			continue
		}
		if !errors.Is(err, badger.ErrNoRewrite) && !errors.Is(err, badger.ErrRejected) {
			s.log.Warn().Err(err).Str(logfield.Dir, g.dir).Msg("value log gc failed")
		}
		break
	}
	s.log.Debug().Str(logfield.Dir, g.dir).Int(logfield.Rewrites, rewrites).Msg("value log gc")
}
