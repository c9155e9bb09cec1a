package cluster

import (
	"fmt"
	"sync/atomic"
	"time"

	"github.com/hashicorp/raft"
)

// Request states: a request is proposed only if the batcher moves it from
// reqQueued to reqTaken; Apply gives up on it by moving it to reqAbandoned.
const (
	reqQueued int32 = iota
	reqTaken
	reqAbandoned
)

// request is one command waiting in the batcher.
type request struct {
	cmd   []byte
	state atomic.Int32
	reply chan reply // buffered 1; written once by the waiter or the batcher
}

type reply struct {
	res   any
	err   error
	index uint64 // the entry's log index (0 when it was not committed)
}

// flight is one proposed raft entry and the requests packed into it, in order.
type flight struct {
	future raft.ApplyFuture
	reqs   []*request
}

// proposeFunc proposes one encoded entry (raft.Apply on a Node).
type proposeFunc func(data []byte) raft.ApplyFuture

// batchStats are the batcher's counters, read by Node.Stats.
type batchStats struct {
	entries      atomic.Uint64
	commands     atomic.Uint64
	flushFull    atomic.Uint64
	flushBytes   atomic.Uint64
	flushDelay   atomic.Uint64
	flushIdle    atomic.Uint64
	abandoned    atomic.Uint64
	proposeError atomic.Uint64
	// queued is a gauge: commands taken from in and not yet flushed.
	queued atomic.Int64
}

// batcher packs concurrent commands into raft entries. Two goroutines, both
// started by Node.Open and tracked by its WaitGroup:
//
//   - run collects requests from in and flushes the pending batch when it
//     holds maxCmds commands, when the next command would push it past
//     maxBytes, when no earlier entry is still in flight (group commit: a lone
//     writer does not wait, and under load a batch grows for as long as the
//     previous entry takes to commit), or maxDelay after its first command,
//     whichever comes first. It proposes the entry and hands the flight to
//     wait. It exits when done closes, and then closes flights.
//   - wait takes flights in proposal order, blocks on each future (raft
//     completes them in log order) and replies to each request, then kicks
//     run so that a batch held back by an in-flight entry goes out. It exits
//     when flights is closed and drained.
//
// Proposing does not wait for the previous entry to commit: entries pipeline
// (after maxDelay) and raft group-commits entries queued together into one
// log append and fsync.
type batcher struct {
	propose  proposeFunc
	mapErr   func(error) error
	maxCmds  int
	maxBytes int
	maxDelay time.Duration
	// maxInflight is how many proposed, unanswered entries may exist before
	// new commands are held back to grow the next batch.
	maxInflight int64

	in      chan *request
	flights chan *flight
	done    <-chan struct{}
	// inflight counts proposed entries not yet answered; kick (capacity 1)
	// tells run that one was answered.
	inflight atomic.Int64
	kick     chan struct{}
	stats    batchStats
}

func newBatcher(cfg Config, propose proposeFunc, mapErr func(error) error, done <-chan struct{}) *batcher {
	return &batcher{
		propose:     propose,
		mapErr:      mapErr,
		maxCmds:     cfg.BatchMaxCommands,
		maxBytes:    cfg.BatchMaxBytes,
		maxDelay:    cfg.BatchMaxDelay,
		maxInflight: int64(cfg.BatchMaxInflight),
		in:          make(chan *request, 4*cfg.BatchMaxCommands),
		flights:     make(chan *flight, 256),
		done:        done,
		kick:        make(chan struct{}, 1),
	}
}

// Flush reasons.
const (
	flushFull = iota
	flushBytes
	flushDelay
	flushIdle
)

func (b *batcher) run() {
	defer close(b.flights)
	var (
		pending []*request
		size    int
		timer   = time.NewTimer(time.Hour)
		timerC  <-chan time.Time
	)
	timer.Stop()
	defer timer.Stop()

	flush := func(reason int) {
		timer.Stop()
		timerC = nil
		batch := pending
		pending, size = nil, 0
		b.stats.queued.Add(-int64(len(batch)))
		b.flush(batch, reason)
	}
	// add appends r, flushing first if r would overflow the byte budget.
	add := func(r *request) {
		if len(pending) > 0 && size+len(r.cmd) > b.maxBytes {
			flush(flushBytes)
		}
		pending = append(pending, r)
		size += len(r.cmd)
		b.stats.queued.Add(1)
	}

	for {
		select {
		case <-b.done:
			for _, r := range pending {
				r.reply <- reply{err: ErrClosed}
			}
			b.stats.queued.Add(-int64(len(pending)))
			return
		case <-timerC:
			timerC = nil
			if len(pending) > 0 {
				flush(flushDelay)
			}
		case <-b.kick:
			if len(pending) > 0 && b.inflight.Load() < b.maxInflight {
				flush(flushIdle)
			}
		case r := <-b.in:
			add(r)
			// Take whatever else is already queued, up to a full batch.
		drain:
			for len(pending) < b.maxCmds {
				select {
				case r := <-b.in:
					add(r)
				default:
					break drain
				}
			}
			switch {
			case len(pending) >= b.maxCmds:
				flush(flushFull)
			case b.maxDelay == 0 || b.inflight.Load() < b.maxInflight:
				flush(flushIdle)
			case timerC == nil && len(pending) > 0:
				timer.Reset(b.maxDelay)
				timerC = timer.C
			}
		}
	}
}

// flush encodes the still-wanted requests of batch into one entry, proposes
// it and queues the flight for wait.
func (b *batcher) flush(batch []*request, reason int) {
	reqs := batch[:0]
	for _, r := range batch {
		if r.state.CompareAndSwap(reqQueued, reqTaken) {
			reqs = append(reqs, r)
		} else {
			b.stats.abandoned.Add(1)
		}
	}
	if len(reqs) == 0 {
		return
	}
	cmds := make([][]byte, len(reqs))
	for i, r := range reqs {
		cmds[i] = r.cmd
	}
	data := appendEntry(make([]byte, 0, entrySize(cmds)), cmds)
	f := b.propose(data)

	b.stats.entries.Add(1)
	b.stats.commands.Add(uint64(len(reqs)))
	switch reason {
	case flushFull:
		b.stats.flushFull.Add(1)
	case flushBytes:
		b.stats.flushBytes.Add(1)
	case flushDelay:
		b.stats.flushDelay.Add(1)
	case flushIdle:
		b.stats.flushIdle.Add(1)
	}
	b.inflight.Add(1)
	select {
	case b.flights <- &flight{future: f, reqs: reqs}:
	case <-b.done:
		b.inflight.Add(-1)
		for _, r := range reqs {
			r.reply <- reply{err: ErrClosed}
		}
	}
}

func (b *batcher) wait() {
	for fl := range b.flights {
		b.complete(fl)
		b.inflight.Add(-1)
		select {
		case b.kick <- struct{}{}:
		default: // a kick is already pending
		}
	}
}

// complete waits for one flight's future and replies to its requests.
func (b *batcher) complete(fl *flight) {
	if err := fl.future.Error(); err != nil {
		b.stats.proposeError.Add(1)
		err = b.mapErr(err)
		for _, r := range fl.reqs {
			r.reply <- reply{err: err}
		}
		return
	}
	res, _ := fl.future.Response().(*entryResult)
	switch {
	case res == nil:
		// Only replayed entries get no result, and nothing waits on those.
		err := fmt.Errorf("%w: no result for a new entry", ErrBadEntry)
		for _, r := range fl.reqs {
			r.reply <- reply{err: err}
		}
	case res.err != nil:
		for _, r := range fl.reqs {
			r.reply <- reply{err: res.err, index: fl.future.Index()}
		}
	default:
		idx := fl.future.Index()
		for i, r := range fl.reqs {
			v := res.results[i]
			if err, ok := v.(error); ok && err != nil {
				r.reply <- reply{err: err, index: idx}
				continue
			}
			r.reply <- reply{res: v, index: idx}
		}
	}
}
