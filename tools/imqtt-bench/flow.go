package main

import (
	"context"
	"fmt"
	"math/bits"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"time"
)

// Phases of a flow run: messages count towards throughput and latency only while
// the phase is phMeasure.
// maxDrain bounds the drain however long a broker keeps delivering a backlog.
const maxDrain = 2 * time.Minute

const (
	phWarmup int32 = iota
	phMeasure
	phStopped
)

// topology says who publishes where and who receives what.
type topology struct {
	pubs, subs int
	pubTopic   func(i int) string
	subFilter  func(j int) string
	targets    func(i int) []int // subscribers that receive publisher i's messages
}

func topologyOf(c *Config, runID string) topology {
	one := "bench/" + runID + "/" + c.Scenario
	switch c.Scenario {
	case "fanin":
		return topology{pubs: c.Pubs, subs: 1,
			pubTopic: func(int) string { return one }, subFilter: func(int) string { return one },
			targets: func(int) []int { return []int{0} }}
	case "fanout":
		all := make([]int, c.Subs)
		for j := range all {
			all[j] = j
		}
		return topology{pubs: 1, subs: c.Subs,
			pubTopic: func(int) string { return one }, subFilter: func(int) string { return one },
			targets: func(int) []int { return all }}
	default: // pairs
		t := func(i int) string { return fmt.Sprintf("bench/%s/pair/%d", runID, i) }
		return topology{pubs: c.Pubs, subs: c.Pubs, pubTopic: t, subFilter: t,
			targets: func(i int) []int { return []int{i} }}
	}
}

// flowSub is one subscriber; its reader goroutine owns h and seen until it ends.
type flowSub struct {
	cl       *client
	h        hist
	seen     map[uint32]*bitmap
	received atomic.Int64 // unique messages
	measured atomic.Int64 // messages received during the measured window
	dups     atomic.Int64
	err      error
}

// pendingPub is a QoS 1 publish waiting for its PUBACK.
type pendingPub struct {
	seq    uint64
	sentNS int64 // the tool clock when it was written
}

// flowPub is one publisher: a sender goroutine and a reader goroutine for PUBACKs.
type flowPub struct {
	cl       *client
	idx      uint32
	topic    string
	sent     atomic.Int64
	measured atomic.Int64
	acked    atomic.Int64
	tokens   chan struct{}
	mu       sync.Mutex
	pending  map[uint16]pendingPub // packet id -> seq and send time, under mu
	ackedSet bitmap                // under mu
	ackH     hist                  // PUBLISH -> PUBACK latency; owned by readPub until it ends
	err      error
}

// flowRun holds one run's shared state.
type flowRun struct {
	cfg   *Config
	clk   clock
	phase atomic.Int32
	stop  chan struct{} // closed: senders stop
	subs  []*flowSub
	pubs  []*flowPub
	topo  topology
}

// runFlow runs fanin, fanout or pairs and returns what it measured. ctx cancels the
// run early (the partial result is still returned).
func runFlow(ctx context.Context, cfg Config) (*Result, error) {
	res := &Result{Tool: "imqtt-bench", Config: cfg}
	runID := fmt.Sprintf("%08x", rand.Uint32())
	r := &flowRun{cfg: &cfg, clk: newClock(), stop: make(chan struct{}), topo: topologyOf(&cfg, runID)}
	before, err := sampleProc(cfg.PID)
	if err != nil {
		return res, err
	}
	res.BrokerRSSBefore = before.rss

	var readers sync.WaitGroup
	defer func() { // every connection is closed and every reader has ended on return
		for _, s := range r.subs {
			s.cl.disconnect()
		}
		for _, p := range r.pubs {
			p.cl.disconnect()
		}
		readers.Wait()
	}()

	// 1. subscribers, each subscribed before any publisher starts
	r.subs = make([]*flowSub, r.topo.subs)
	err = parallel(r.topo.subs, 64, func(j int) error {
		o := cfg.dialOptions()
		o.localIP, o.rbuf = cfg.srcIP(j), 64<<10
		if cfg.SubBroker != "" {
			o.addr = cfg.SubBroker
		}
		if cfg.Persistent {
			o.expiry = 3600
		}
		cl, err := dial(o, fmt.Sprintf("ib-%s-s%d", runID, j))
		if err != nil {
			return err
		}
		if err := cl.subscribe(r.topo.subFilter(j), cfg.QoS, cfg.Timeout); err != nil {
			cl.c.Close()
			return err
		}
		r.subs[j] = &flowSub{cl: cl, seen: map[uint32]*bitmap{}}
		return nil
	})
	r.subs = compact(r.subs)
	if err != nil {
		return res, fmt.Errorf("connect subscribers: %w", err)
	}
	for _, s := range r.subs {
		readers.Add(1)
		go func() { defer readers.Done(); r.readSub(s) }()
	}

	if cfg.SubBroker != "" && cfg.SubBroker != cfg.Broker {
		// Another cluster node: its routes reach the publishers' node
		// asynchronously (hooks/route), normally within milliseconds.
		time.Sleep(time.Second)
	}

	// 2. publishers
	r.pubs = make([]*flowPub, r.topo.pubs)
	err = parallel(r.topo.pubs, 64, func(i int) error {
		o := cfg.dialOptions()
		o.localIP = cfg.srcIP(r.topo.subs + i)
		cl, err := dial(o, fmt.Sprintf("ib-%s-p%d", runID, i))
		if err != nil {
			return err
		}
		p := &flowPub{cl: cl, idx: uint32(i), topic: r.topo.pubTopic(i), pending: map[uint16]pendingPub{}}
		if cfg.QoS > 0 {
			p.tokens = make(chan struct{}, cfg.Inflight)
			for range cfg.Inflight {
				p.tokens <- struct{}{}
			}
		}
		r.pubs[i] = p
		return nil
	})
	r.pubs = compact(r.pubs)
	if err != nil {
		return res, fmt.Errorf("connect publishers: %w", err)
	}
	for _, p := range r.pubs {
		readers.Add(1)
		go func() { defer readers.Done(); r.readPub(p) }()
	}

	// 3. load: warmup, measured window, stop
	var senders sync.WaitGroup
	for _, p := range r.pubs {
		senders.Add(1)
		go func() { defer senders.Done(); r.send(p) }()
	}
	prog := startProgress(&cfg, r.progressLine)
	stopSenders := func() {
		select {
		case <-r.stop:
		default:
			close(r.stop)
		}
		senders.Wait()
	}
	defer stopSenders()

	w := measure(ctx, &cfg, &r.phase, before.rss)
	cancelled := w.cancelled
	if w.brokerErr != nil {
		res.addError(w.brokerErr)
	}
	stopSenders()

	// 4. drain: wait until every expected message and every PUBACK arrived, or
	// until nothing arrived for cfg.Drain (a broker still working off a backlog keeps
	// the drain going, up to maxDrain): what never arrives is lost.
	drainStart := time.Now()
	lastProgress, lastGot, lastAcked := drainStart, int64(-1), int64(-1)
	for !cancelled {
		exp, got, sent, acked := r.totals()
		now := time.Now()
		if got >= exp && (cfg.QoS == 0 || acked >= sent) {
			break
		}
		if got != lastGot || acked != lastAcked {
			lastProgress, lastGot, lastAcked = now, got, acked
		}
		if now.Sub(lastProgress) >= cfg.Drain || now.Sub(drainStart) >= maxDrain {
			break
		}
		cancelled = !sleepCtx(ctx, 20*time.Millisecond)
	}
	res.DrainS = time.Since(drainStart).Seconds()
	prog.stop()
	if s, err := sampleProc(cfg.PID); err == nil {
		res.BrokerRSSAfter = s.rss
		w.peak = max(w.peak, s.rss)
	}
	for _, s := range r.subs {
		s.cl.disconnect()
	}
	for _, p := range r.pubs {
		p.cl.disconnect()
	}
	readers.Wait()

	// 5. results (readers have ended: their state is ours now)
	window := w.seconds()
	res.Window = window
	var all hist
	var measured int64
	for _, s := range r.subs {
		all.merge(&s.h)
		measured += s.measured.Load()
		res.Received += s.received.Load()
		res.Duplicates += s.dups.Load()
		if s.err != nil {
			res.addError(s.err)
		}
	}
	var sentMeasured int64
	var acks hist
	for _, p := range r.pubs {
		acks.merge(&p.ackH)
		sent := p.sent.Load()
		res.Sent += sent
		res.Acked += p.acked.Load()
		sentMeasured += p.measured.Load()
		tg := r.topo.targets(int(p.idx))
		res.Expected += sent * int64(len(tg))
		for _, j := range tg {
			res.AckedLost += missing(p.ackedSet, r.subs[j].seen[p.idx])
		}
		if p.err != nil {
			res.addError(p.err)
		}
	}
	res.Lost = max(0, res.Expected-res.Received)
	if res.Expected > 0 {
		res.LossPct = 100 * float64(res.Lost) / float64(res.Expected)
	}
	res.SentPerS = float64(sentMeasured) / window
	res.DeliveredPerS = float64(measured) / window
	res.Latency = latencyOf(&all)
	if cfg.QoS > 0 {
		res.AckLatency = latencyOf(&acks)
	}
	w.fill(res, measured)
	if cancelled {
		return res, ctx.Err()
	}
	return res, nil
}

// totals sums expected and received deliveries and sent and acked publishes.
func (r *flowRun) totals() (expected, received, sent, acked int64) {
	for _, p := range r.pubs {
		s := p.sent.Load()
		sent += s
		acked += p.acked.Load()
		expected += s * int64(len(r.topo.targets(int(p.idx))))
	}
	for _, s := range r.subs {
		received += s.received.Load()
	}
	return
}

func (r *flowRun) progressLine() string {
	exp, got, sent, acked := r.totals()
	ph := [...]string{"warmup", "measure", "drain"}[r.phase.Load()]
	return fmt.Sprintf("phase=%s sent=%d acked=%d received=%d/%d", ph, sent, acked, got, exp)
}

// missing counts sequence numbers in acked that are not in seen.
func missing(acked bitmap, seen *bitmap) int64 {
	var n int
	for w, a := range acked {
		var s uint64
		if seen != nil && w < len(*seen) {
			s = (*seen)[w]
		}
		n += bits.OnesCount64(a &^ s)
	}
	return int64(n)
}

// readSub consumes deliveries until the connection closes.
func (r *flowRun) readSub(s *flowSub) {
	for {
		p, now, err := s.cl.readPublish(r.clk)
		if err != nil {
			if r.phase.Load() != phStopped {
				s.err = fmt.Errorf("subscriber read: %w", err)
			}
			return
		}
		sentNS, pub, seq, ok := getHeader(p.Payload)
		if !ok {
			continue
		}
		b := s.seen[pub]
		if b == nil {
			b = new(bitmap)
			s.seen[pub] = b
		}
		if b.set(seq) {
			s.dups.Add(1)
			continue
		}
		s.received.Add(1)
		if r.phase.Load() == phMeasure {
			s.measured.Add(1)
			s.h.record(now - sentNS)
		}
	}
}

// readPub consumes PUBACKs until the connection closes.
func (r *flowRun) readPub(p *flowPub) {
	for {
		typ, _, body, err := p.cl.read()
		if err != nil {
			if r.phase.Load() != phStopped {
				p.err = fmt.Errorf("publisher read: %w", err)
			}
			return
		}
		if typ != ptPuback {
			continue
		}
		id, reason, err := decodeAckID(p.cl.version, typ, body)
		if err != nil {
			p.err = err
			return
		}
		now := r.clk.now()
		p.mu.Lock()
		pp, ok := p.pending[id]
		if ok {
			delete(p.pending, id)
			if reason < 0x80 {
				p.ackedSet.set(pp.seq)
			}
		}
		p.mu.Unlock()
		if ok && reason < 0x80 && r.phase.Load() == phMeasure {
			p.ackH.record(now - pp.sentNS)
		}
		if ok {
			if reason < 0x80 {
				p.acked.Add(1)
			}
			p.tokens <- struct{}{}
		}
	}
}

// send publishes until r.stop closes: as fast as accepted, or on a fixed schedule.
func (r *flowRun) send(p *flowPub) {
	cfg := r.cfg
	payload := make([]byte, cfg.Size)
	var interval time.Duration
	var next time.Time
	var timer *time.Timer
	if cfg.Rate > 0 {
		interval = time.Duration(float64(time.Second) * float64(len(r.pubs)) / cfg.Rate)
		next = time.Now().Add(time.Duration(rand.Int64N(int64(interval) + 1))) // spread publishers
		timer = time.NewTimer(time.Hour)
		defer timer.Stop()
	}
	var seq uint64
	fail := func(err error) {
		if r.phase.Load() != phStopped {
			p.err = fmt.Errorf("publisher write: %w", err)
		}
	}
	defer func() { _ = p.cl.flush() }()
	for {
		if cfg.Rate > 0 {
			if d := time.Until(next); d > 0 {
				if err := p.cl.flush(); err != nil {
					fail(err)
					return
				}
				timer.Reset(d)
				select {
				case <-timer.C:
				case <-r.stop:
					return
				}
			}
			next = next.Add(interval)
		}
		select {
		case <-r.stop:
			return
		default:
		}
		var id uint16
		if cfg.QoS > 0 {
			select {
			case <-p.tokens:
			default:
				if err := p.cl.flush(); err != nil {
					fail(err)
					return
				}
				select {
				case <-p.tokens:
				case <-r.stop:
					return
				}
			}
		}
		sentNS := r.clk.now()
		if cfg.QoS > 0 {
			id = uint16(seq%65535) + 1
			p.mu.Lock()
			p.pending[id] = pendingPub{seq: seq, sentNS: sentNS}
			p.mu.Unlock()
		}
		putHeader(payload, sentNS, p.idx, seq)
		seq++
		if err := p.cl.writePublish(p.topic, cfg.QoS, id, payload); err != nil {
			fail(err)
			return
		}
		p.sent.Add(1)
		if r.phase.Load() == phMeasure {
			p.measured.Add(1)
		}
	}
}

// parallel runs fn(0..n-1) with at most c at once and returns the first error.
func parallel(n, c int, fn func(i int) error) error {
	var (
		wg    sync.WaitGroup
		mu    sync.Mutex
		first error
		next  atomic.Int64
	)
	for range min(n, c) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := int(next.Add(1) - 1)
				if i >= n {
					return
				}
				mu.Lock()
				failed := first != nil
				mu.Unlock()
				if failed {
					return
				}
				if err := fn(i); err != nil {
					mu.Lock()
					if first == nil {
						first = fmt.Errorf("connection %d: %w", i, err)
					}
					mu.Unlock()
				}
			}
		}()
	}
	wg.Wait()
	return first
}

// compact drops nil entries (connections that failed) so cleanup sees only live ones.
func compact[T any](s []*T) []*T {
	out := s[:0]
	for _, v := range s {
		if v != nil {
			out = append(out, v)
		}
	}
	return out
}

// sleepCtx sleeps d unless ctx ends first; it reports whether it slept the full d.
func sleepCtx(ctx context.Context, d time.Duration) bool {
	if d <= 0 {
		return ctx.Err() == nil
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}
