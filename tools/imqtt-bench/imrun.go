package main

import (
	"context"
	"fmt"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"time"
)

// imMember is one receiving connection; its reader goroutine owns seen and err
// until it ends.
type imMember struct {
	cl       *client
	seen     map[uint32]*bitmap // sender index -> sequence numbers delivered
	received atomic.Int64       // unique messages of this run
	measured atomic.Int64       // received during the measured window
	dups     atomic.Int64       // a cid delivered again
	corrupt  atomic.Int64       // our cid with a body that does not match it
	receipts atomic.Int64       // read receipts published (-receipts)
	err      error
}

// imSender is one sending connection: a sender goroutine and a reader goroutine
// for PUBACKs and the acks on im/u/{user}/ack.
type imSender struct {
	cl       *client
	idx      uint32
	topic    string
	sent     atomic.Int64
	measured atomic.Int64 // sent during the measured window
	acked    atomic.Int64 // ack topic ok:true
	refused  atomic.Int64 // ack topic ok:false
	pubacked atomic.Int64
	receipts atomic.Int64  // receipt events received on im/u/{user}/receipt
	tokens   chan struct{} // -inflight: released by PUBACKs

	mu       sync.Mutex
	byID     map[uint16]uint64 // packet id -> seq, awaiting PUBACK
	sentAt   map[uint64]int64  // seq -> send time, awaiting the ack topic
	ackedSet bitmap            // seqs acked ok
	refusal  string            // the first refusal's code and reason
	err      error             // set by the reader goroutine
	sendErr  error             // set by the sender goroutine
}

// imRun holds one IM run's shared state.
type imRun struct {
	cfg     *Config
	clk     clock
	phase   atomic.Int32
	stop    chan struct{} // closed: senders stop
	topo    imTopology
	runID   string
	signer  *jwtSigner
	group   string // imgroup: the group's id
	members []*imMember
	senders []*imSender
	lat     *stripedHist // send -> delivery
	ackLat  *stripedHist // send -> ack on the ack topic
}

// dialAs connects connection number j as user with a fresh token.
func (r *imRun) dialAs(j int, user, clientID string) (*client, error) {
	o := r.cfg.dialOptions()
	o.user, o.pass = user, r.signer.token(user, time.Now())
	o.localIP = r.cfg.srcIP(j)
	o.rbuf = 64 << 10
	if len(r.topo.members)+len(r.topo.senders) > 2000 {
		o.rbuf = 4 << 10 // envelopes are small; 10^4 connections x 64 KiB is not
	}
	return dial(o, clientID)
}

// run connects everyone, loads, drains and fills res.
func (r *imRun) run(ctx context.Context, res *Result) (*Result, error) {
	cfg := r.cfg
	before, err := sampleProc(cfg.PID)
	if err != nil {
		return res, err
	}
	res.BrokerRSSBefore = before.rss
	r.lat, r.ackLat = newStripedHist(16), newStripedHist(16)

	var readers sync.WaitGroup
	closeAll := func() {
		for _, m := range r.members {
			m.cl.disconnect()
		}
		for _, s := range r.senders {
			s.cl.disconnect()
		}
	}
	defer func() { // every connection is closed and every reader has ended on return
		closeAll()
		readers.Wait()
	}()

	// 0. imgroup: the group exists before its members connect, so that building
	// it fans its notices out to nobody.
	if r.topo.group {
		t0 := time.Now()
		g, calls, err := r.buildGroup(ctx)
		if err != nil {
			return res, fmt.Errorf("build group: %w", err)
		}
		r.group = g
		r.note("group %s of %d members built with %d rpc calls in %.1f s", g, len(r.topo.members), calls, time.Since(t0).Seconds())
	}

	// 1. members, each subscribed before any sender starts
	t0 := time.Now()
	r.members = make([]*imMember, len(r.topo.members))
	err = parallel(len(r.members), cfg.Concurrency, func(j int) error {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		user := r.topo.members[j]
		cl, err := r.dialAs(j, user, fmt.Sprintf("ib-%s-m%d", r.runID, j))
		if err != nil {
			return fmt.Errorf("member %s: %w", user, err)
		}
		if err := cl.subscribe("im/u/"+user+"/msg", 1, cfg.Timeout); err != nil {
			cl.c.Close()
			return fmt.Errorf("member %s: %w", user, err)
		}
		r.members[j] = &imMember{cl: cl, seen: map[uint32]*bitmap{}}
		return nil
	})
	if err != nil {
		r.members = compact(r.members)
		return res, fmt.Errorf("connect members: %w", err)
	}
	for j, m := range r.members {
		readers.Add(1)
		go func() { defer readers.Done(); r.readMember(j, m) }()
	}

	// 2. senders (a device of their own that reads the acks)
	r.senders = make([]*imSender, len(r.topo.senders))
	err = parallel(len(r.senders), cfg.Concurrency, func(i int) error {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		user := r.topo.senders[i]
		cl, err := r.dialAs(len(r.members)+i, user, fmt.Sprintf("ib-%s-s%d", r.runID, i))
		if err != nil {
			return fmt.Errorf("sender %s: %w", user, err)
		}
		if err := cl.subscribe("im/u/"+user+"/ack", 1, cfg.Timeout); err != nil {
			cl.c.Close()
			return fmt.Errorf("sender %s: %w", user, err)
		}
		if cfg.Receipts > 0 {
			if err := cl.subscribe("im/u/"+user+"/receipt", 1, cfg.Timeout); err != nil {
				cl.c.Close()
				return fmt.Errorf("sender %s: %w", user, err)
			}
		}
		s := &imSender{cl: cl, idx: uint32(i), topic: r.topo.topic(i, r.group),
			byID: map[uint16]uint64{}, sentAt: map[uint64]int64{}, tokens: make(chan struct{}, cfg.Inflight)}
		for range cfg.Inflight {
			s.tokens <- struct{}{}
		}
		r.senders[i] = s
		return nil
	})
	if err != nil {
		r.senders = compact(r.senders)
		return res, fmt.Errorf("connect senders: %w", err)
	}
	for _, s := range r.senders {
		readers.Add(1)
		go func() { defer readers.Done(); r.readSender(s) }()
	}
	r.note("%d members and %d senders connected in %.1f s", len(r.members), len(r.senders), time.Since(t0).Seconds())

	// 3. load: warmup, measured window, stop
	var senders sync.WaitGroup
	for _, s := range r.senders {
		senders.Add(1)
		go func() { defer senders.Done(); r.send(s) }()
	}
	prog := startProgress(cfg, r.progressLine)
	defer prog.stop()
	stopSenders := func() {
		select {
		case <-r.stop:
		default:
			close(r.stop)
		}
		senders.Wait()
	}
	defer stopSenders()

	w := measure(ctx, cfg, &r.phase, before.rss)
	cancelled := w.cancelled
	if w.brokerErr != nil {
		res.addError(w.brokerErr)
	}
	stopSenders()

	// 4. drain: until every send has its PUBACK and its ack and every expected
	// delivery arrived, or nothing moved for -drain (at most maxDrain in all).
	drainStart := time.Now()
	lastProgress, last := drainStart, [4]int64{-1}
	for !cancelled {
		exp, got, sent, answered, pubacked := r.totals()
		now := time.Now()
		if got >= exp && answered >= sent && pubacked >= sent {
			break
		}
		if cur := [4]int64{exp, got, answered, pubacked}; cur != last {
			lastProgress, last = now, cur
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
	closeAll()
	readers.Wait()

	// 5. results (readers have ended: their state is ours now)
	window := w.seconds()
	res.Window = window
	r.collect(res)
	res.SentPerS = float64(r.sum(func(s *imSender) int64 { return s.measured.Load() })) / window
	var measured int64
	for _, m := range r.members {
		measured += m.measured.Load()
	}
	res.DeliveredPerS = float64(measured) / window
	lat, ackLat := r.lat.merged(), r.ackLat.merged()
	res.Latency, res.AckLatency = latencyOf(&lat), latencyOf(&ackLat)
	w.fill(res, measured)
	if cancelled {
		return res, ctx.Err()
	}
	return res, nil
}

// collect fills the counters, loss and errors of res from the ended readers.
func (r *imRun) collect(res *Result) {
	var corrupt, refused, noAck, noPuback int64
	var refusal string
	for _, m := range r.members {
		res.Received += m.received.Load()
		res.ReceiptsSent += m.receipts.Load()
		res.Duplicates += m.dups.Load()
		corrupt += m.corrupt.Load()
		if m.err != nil {
			res.addError(m.err)
		}
	}
	for _, s := range r.senders {
		sent, ref := s.sent.Load(), s.refused.Load()
		res.Sent += sent
		res.Acked += s.acked.Load()
		res.ReceiptsReceived += s.receipts.Load()
		refused += ref
		noAck += max(0, sent-s.acked.Load()-ref)
		noPuback += max(0, sent-s.pubacked.Load())
		tg := r.topo.targets(int(s.idx))
		res.Expected += (sent - ref) * int64(len(tg))
		for _, j := range tg {
			res.AckedLost += missing(s.ackedSet, r.members[j].seen[s.idx])
		}
		if refusal == "" {
			refusal = s.refusal
		}
		for _, err := range []error{s.err, s.sendErr} {
			if err != nil {
				res.addError(err)
			}
		}
	}
	res.Lost = max(0, res.Expected-res.Received)
	if res.Expected > 0 {
		res.LossPct = 100 * float64(res.Lost) / float64(res.Expected)
	}
	if refused > 0 {
		res.addError(fmt.Errorf("%d sends refused (not expected, not lost); first: %s", refused, refusal))
	}
	if noAck > 0 {
		res.addError(fmt.Errorf("%d sends got no ack on the ack topic", noAck))
	}
	if noPuback > 0 {
		res.addError(fmt.Errorf("%d sends got no PUBACK", noPuback))
	}
	if corrupt > 0 {
		res.addError(fmt.Errorf("%d deliveries with a body that does not match their cid", corrupt))
	}
}

func (r *imRun) sum(f func(*imSender) int64) (n int64) {
	for _, s := range r.senders {
		n += f(s)
	}
	return n
}

// totals sums expected and received deliveries, sends, sends answered on the
// ack topic (ok or refused) and PUBACKs.
func (r *imRun) totals() (expected, received, sent, answered, pubacked int64) {
	for _, s := range r.senders {
		n, ref := s.sent.Load(), s.refused.Load()
		sent += n
		answered += s.acked.Load() + ref
		pubacked += s.pubacked.Load()
		expected += (n - ref) * int64(len(r.topo.targets(int(s.idx))))
	}
	for _, m := range r.members {
		received += m.received.Load()
	}
	return
}

func (r *imRun) progressLine() string {
	exp, got, sent, answered, _ := r.totals()
	ph := [...]string{"warmup", "measure", "drain"}[r.phase.Load()]
	return fmt.Sprintf("phase=%s sent=%d answered=%d received=%d/%d", ph, sent, answered, got, exp)
}

// note prints a setup line with the progress lines (stderr), if any.
func (r *imRun) note(format string, a ...any) {
	if r.cfg.Progress != nil {
		fmt.Fprintf(r.cfg.Progress, "[%s] "+format+"\n", append([]any{r.cfg.Scenario}, a...)...)
	}
}

// send publishes until r.stop closes: as fast as PUBACKs come back, or on a
// fixed schedule.
func (r *imRun) send(s *imSender) {
	cfg := r.cfg
	var interval time.Duration
	var next time.Time
	var timer *time.Timer
	if cfg.Rate > 0 {
		interval = time.Duration(float64(time.Second) * float64(len(r.senders)) / cfg.Rate)
		next = time.Now().Add(time.Duration(rand.Int64N(int64(interval) + 1))) // spread senders
		timer = time.NewTimer(time.Hour)
		defer timer.Stop()
	}
	var payload []byte
	var seq uint64
	fail := func(err error) {
		if r.phase.Load() != phStopped {
			s.sendErr = fmt.Errorf("sender write: %w", err)
		}
	}
	defer func() { _ = s.cl.flush() }()
	for {
		if cfg.Rate > 0 {
			if d := time.Until(next); d > 0 {
				if err := s.cl.flush(); err != nil {
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
		var ok bool
		var err error
		payload, ok, err = r.sendOne(s, s.topic, seq, payload)
		seq++
		if err != nil {
			fail(err)
		}
		if !ok {
			return
		}
		if r.phase.Load() == phMeasure {
			s.measured.Add(1)
		}
	}
}

// sendOne waits for one of s's -inflight tokens (flushing what is buffered
// first if it has to wait), books send seq and writes its PUBLISH to topic with
// the run's payload (reusing buf). ok is false when the run stopped or the
// write failed (err).
func (r *imRun) sendOne(s *imSender, topic string, seq uint64, buf []byte) (_ []byte, ok bool, err error) {
	select {
	case <-r.stop:
		return buf, false, nil
	case <-s.tokens:
	default:
		if err := s.cl.flush(); err != nil {
			return buf, false, err
		}
		select {
		case <-s.tokens:
		case <-r.stop:
			return buf, false, nil
		}
	}
	sentNS := r.clk.now()
	id := uint16(seq%65535) + 1
	s.mu.Lock()
	s.byID[id] = seq
	s.sentAt[seq] = sentNS
	s.mu.Unlock()
	buf = appendSendPayload(buf[:0], r.runID, r.cfg.Size, sentNS, s.idx, seq)
	if err := s.cl.writePublish(topic, 1, id, buf); err != nil {
		return buf, false, err
	}
	s.sent.Add(1)
	return buf, true, nil
}

// stripedHist is a histogram shared by many reader goroutines: one hist per
// reader would be 30 KiB each, 300 MiB for a group of 10^4.
type stripedHist struct{ s []lockedHist }

type lockedHist struct {
	mu sync.Mutex
	h  hist
}

func newStripedHist(n int) *stripedHist { return &stripedHist{s: make([]lockedHist, n)} }

// record adds v to the stripe of reader i.
func (s *stripedHist) record(i int, v int64) {
	l := &s.s[i%len(s.s)]
	l.mu.Lock()
	l.h.record(v)
	l.mu.Unlock()
}

// merged returns the sum of the stripes; call it once the readers have ended.
func (s *stripedHist) merged() hist {
	var h hist
	for i := range s.s {
		h.merge(&s.s[i].h)
	}
	return h
}
