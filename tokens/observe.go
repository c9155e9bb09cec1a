package tokens

import (
	"bytes"

	"github.com/imqtt/imqtt/persist"
)

// Observe is the persist.Observer of the service (install it with
// persist.Store.AddObserver on every node): it finds the deny-list writes of
// the applied entry and queues their ids for OnRevoke. It runs on raft's
// apply goroutine, so it only scans and queues.
func (s *Service) Observe(_ uint64, batches [][]persist.Op, results [][]persist.Result) {
	var ids []string
	for i, ops := range batches {
		for j := range ops {
			op := &ops[j]
			if op.Kind != persist.OpPutRaw || !bytes.HasPrefix(op.Key, []byte(pfxDeny)) {
				continue
			}
			if i < len(results) && j < len(results[i]) && results[i][j].Err != nil {
				continue
			}
			ids = append(ids, string(op.Key[len(pfxDeny):]))
		}
	}
	if len(ids) == 0 || s.opts.OnRevoke == nil {
		return
	}
	s.mu.Lock()
	s.pending = append(s.pending, ids...)
	s.mu.Unlock()
	select {
	case s.wake <- struct{}{}:
	default:
	}
}

// notifier hands queued revocations to OnRevoke until Close. Started by
// Open, stopped by Close (s.done).
func (s *Service) notifier() {
	defer s.wg.Done()
	for {
		select {
		case <-s.done:
			return
		case <-s.wake:
		}
		s.mu.Lock()
		ids := s.pending
		s.pending = nil
		s.mu.Unlock()
		if len(ids) > 0 {
			s.opts.OnRevoke(ids)
		}
	}
}
