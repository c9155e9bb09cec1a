package main

import (
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"strconv"
	"sync"
	"sync/atomic"
	"time"
)

// imstorm: a reconnect + sync storm.
//
//  1. -subs N receivers st{run}r{j} connect, one device each (clean session,
//     subscribed to im/u/{user}/#), then all disconnect.
//  2. -pubs P senders st{run}s{i} send -msgs K direct messages to every receiver
//     (message m of receiver j comes from sender (j*K+m) mod P, so a receiver
//     has min(P, K) conversations), flooding within -inflight per sender, until
//     every send is answered on the ack topic (or nothing moved for -drain).
//     Only acked sends are expected. The senders then disconnect.
//  3. After -settle, the storm: all N devices reconnect (same client ids, at most
//     -concurrency dials in flight, 200 unless given), subscribe to
//     im/u/{user}/# and call rpc sync from since {} (what a fresh device sends)
//     over im/u/{user}/rpc/sync, following the returned since while more is
//     true. A device is synced when a page says more: false.
//
// The storm is measured: CONNACKs/s, dial -> CONNACK, storm start -> each device
// synced, synced messages (per 1M of which broker CPU is given), missing acked
// sends and duplicates. -duration and -warmup do not apply.

// stormDials is imstorm's default -concurrency.
const stormDials = 200

// stormMax bounds the storm (every device reconnected and synced).
const stormMax = 5 * time.Minute

// stormSyncStalls is how many pages in a row may say more: true without
// returning a message or moving a cursor before the device gives up.
const stormSyncStalls = 3

// stormRun holds one imstorm run's state.
type stormRun struct {
	cfg     *Config
	im      *imRun      // users, tokens, the senders' ack machinery (readSender)
	recv    []string    // receiver users
	topics  []string    // send topic of each receiver
	targets [][]int32   // sender i's message seq -> receiver index
	books   []*syncBook // per receiver; its storm goroutine's until it ends
	conns   []*client   // storm connections; each its goroutine's until it ends

	stage      atomic.Int32                // 0 connect, 1 backlog, 2 settle, 3 storm
	live       atomic.Pointer[[]*imSender] // the senders once all connected (progress)
	total      int64                       // sends planned
	connected  atomic.Int64                // storm CONNACKs
	synced     atomic.Int64                // devices fully synced
	syncedMsgs atomic.Int64                // unique messages of this run returned by sync
	pages      atomic.Int64                // sync responses
}

// runStorm runs imstorm and returns what it measured; ctx cancels the run
// early (the partial result is still returned).
func runStorm(ctx context.Context, cfg Config) (*Result, error) {
	res := &Result{Tool: "imqtt-bench", Config: cfg}
	signer, err := loadJWTSigner(cfg.JWTSecretFile, jwtTTL)
	if err != nil {
		return res, err
	}
	runID := fmt.Sprintf("%08x", rand.Uint32())
	st := &stormRun{cfg: &cfg}
	topo := imTopology{senders: make([]string, cfg.Pubs), members: make([]string, cfg.Subs)}
	st.recv, st.topics = topo.members, make([]string, cfg.Subs)
	for j := range topo.members {
		topo.members[j] = fmt.Sprintf("st%sr%d", runID, j)
		st.topics[j] = "im/send/user/" + topo.members[j]
	}
	for i := range topo.senders {
		topo.senders[i] = fmt.Sprintf("st%ss%d", runID, i)
	}
	st.targets = stormPlan(cfg.Subs, cfg.Pubs, cfg.Msgs)
	st.total = int64(cfg.Subs) * int64(cfg.Msgs)
	st.im = &imRun{cfg: &cfg, clk: newClock(), stop: make(chan struct{}), topo: topo,
		runID: runID, signer: signer, lat: newStripedHist(1), ackLat: newStripedHist(16)}
	st.books = make([]*syncBook, cfg.Subs)
	st.conns = make([]*client, cfg.Subs)
	return st.run(ctx, res)
}

// stormPlan returns, for each of p senders, the receiver of each of its
// messages in send order: message m of receiver j (of n, k each) is sent by
// sender (j*k+m) mod p, so every sender sends n*k/p (rounded) and every
// receiver hears from min(p, k) senders.
func stormPlan(n, p, k int) [][]int32 {
	t := make([][]int32, p)
	for i := range t {
		t[i] = make([]int32, 0, (n*k)/p+1)
	}
	for j := range n {
		for m := range k {
			i := (j*k + m) % p
			t[i] = append(t[i], int32(j))
		}
	}
	return t
}

func (st *stormRun) note(format string, a ...any) { st.im.note(format, a...) }

func (st *stormRun) run(ctx context.Context, res *Result) (*Result, error) {
	cfg := st.cfg
	before, err := sampleProc(cfg.PID)
	if err != nil {
		return res, err
	}
	res.BrokerRSSBefore = before.rss
	prog := startProgress(cfg, st.progressLine)
	defer prog.stop()
	defer st.closeStorm()

	// 1. every receiver's device connects once, then goes offline
	t0 := time.Now()
	if err := st.connectOnce(ctx); err != nil {
		return res, err
	}
	st.note("%d receivers connected and disconnected in %.1f s", len(st.recv), time.Since(t0).Seconds())

	// 2. the backlog
	st.stage.Store(1)
	t0 = time.Now()
	err = st.backlog(ctx, res)
	res.SendS = time.Since(t0).Seconds()
	if err != nil {
		return res, err
	}
	if res.SendS > 0 {
		res.SentPerS = float64(res.Sent) / res.SendS
	}
	st.note("%d of %d sends acked in %.1f s (%.0f/s); %d messages waiting per receiver", res.Acked, st.total, res.SendS, res.SentPerS, cfg.Msgs)
	if ctx.Err() != nil {
		return res, ctx.Err()
	}

	// 3. the storm
	st.stage.Store(2)
	if !sleepCtx(ctx, cfg.Settle) {
		return res, ctx.Err()
	}
	st.stage.Store(3)
	cancelled := st.storm(ctx, res, before.rss)
	prog.stop()
	st.note("%d of %d devices reconnected and synced in %.2f s", res.SyncedDevices, len(st.recv), res.Window)
	if cancelled {
		return res, ctx.Err()
	}
	return res, nil
}

func (st *stormRun) progressLine() string {
	switch st.stage.Load() {
	case 0:
		return "stage=connect"
	case 1:
		var sent, answered int64
		if live := st.live.Load(); live != nil {
			for _, s := range *live {
				sent += s.sent.Load()
				answered += s.acked.Load() + s.refused.Load()
			}
		}
		return fmt.Sprintf("stage=backlog sent=%d answered=%d/%d", sent, answered, st.total)
	case 2:
		return "stage=settle"
	}
	return fmt.Sprintf("stage=storm connected=%d synced=%d/%d msgs=%d pages=%d",
		st.connected.Load(), st.synced.Load(), len(st.recv), st.syncedMsgs.Load(), st.pages.Load())
}

// connectOnce connects every receiver's device (subscribed like a real device)
// and disconnects them all.
func (st *stormRun) connectOnce(ctx context.Context) error {
	r, cfg := st.im, st.cfg
	conns := make([]*client, len(st.recv))
	err := parallel(len(conns), cfg.Concurrency, func(j int) error {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		user := st.recv[j]
		cl, err := r.dialAs(j, user, fmt.Sprintf("ib-%s-r%d", r.runID, j))
		if err != nil {
			return fmt.Errorf("receiver %s: %w", user, err)
		}
		conns[j] = cl
		if err := cl.subscribe("im/u/"+user+"/#", 1, cfg.Timeout); err != nil {
			return fmt.Errorf("receiver %s: %w", user, err)
		}
		return nil
	})
	_ = parallel(len(conns), 256, func(j int) error {
		if conns[j] != nil {
			conns[j].disconnect()
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("connect receivers: %w", err)
	}
	return nil
}

// backlog connects the senders, sends every planned message, waits for the
// acks and disconnects the senders; it fills the send side of res.
func (st *stormRun) backlog(ctx context.Context, res *Result) error {
	r, cfg := st.im, st.cfg
	r.senders = make([]*imSender, cfg.Pubs)
	err := parallel(cfg.Pubs, cfg.Concurrency, func(i int) error {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		user := r.topo.senders[i]
		cl, err := r.dialAs(len(st.recv)+i, user, fmt.Sprintf("ib-%s-s%d", r.runID, i))
		if err != nil {
			return fmt.Errorf("sender %s: %w", user, err)
		}
		if err := cl.subscribe("im/u/"+user+"/ack", 1, cfg.Timeout); err != nil {
			cl.c.Close()
			return fmt.Errorf("sender %s: %w", user, err)
		}
		s := &imSender{cl: cl, idx: uint32(i), byID: map[uint16]uint64{}, sentAt: map[uint64]int64{},
			tokens: make(chan struct{}, cfg.Inflight)}
		for range cfg.Inflight {
			s.tokens <- struct{}{}
		}
		r.senders[i] = s
		return nil
	})
	if err != nil {
		for _, s := range compact(r.senders) {
			s.cl.disconnect()
		}
		r.senders = nil
		return fmt.Errorf("connect senders: %w", err)
	}
	live := r.senders
	st.live.Store(&live)
	var readers, senders sync.WaitGroup
	r.phase.Store(phMeasure) // acks are timed
	for _, s := range r.senders {
		readers.Add(2)
		senders.Add(1)
		go func() { defer readers.Done(); r.readSender(s) }()
		go func() { defer readers.Done(); defer senders.Done(); st.send(s) }()
	}
	// until every send is answered and PUBACKed, or nothing moved for -drain
	lastProgress, last := time.Now(), [3]int64{-1}
	for {
		var sent, answered, pubacked int64
		for _, s := range r.senders {
			sent += s.sent.Load()
			answered += s.acked.Load() + s.refused.Load()
			pubacked += s.pubacked.Load()
		}
		if sent == st.total && answered >= sent && pubacked >= sent {
			break
		}
		if cur := [3]int64{sent, answered, pubacked}; cur != last {
			lastProgress, last = time.Now(), cur
		}
		if time.Since(lastProgress) >= cfg.Drain || !sleepCtx(ctx, 20*time.Millisecond) {
			break
		}
	}
	close(r.stop)
	senders.Wait()
	r.phase.Store(phStopped)
	for _, s := range r.senders {
		s.cl.disconnect()
	}
	readers.Wait()

	var refused, noAck, noPuback int64
	var refusal string
	for _, s := range r.senders {
		sent, ref := s.sent.Load(), s.refused.Load()
		res.Sent += sent
		res.Acked += s.acked.Load()
		refused += ref
		noAck += max(0, sent-s.acked.Load()-ref)
		noPuback += max(0, sent-s.pubacked.Load())
		if refusal == "" {
			refusal = s.refusal
		}
		for _, err := range []error{s.err, s.sendErr} {
			if err != nil {
				res.addError(err)
			}
		}
	}
	res.Expected = res.Acked
	ackLat := r.ackLat.merged()
	res.AckLatency = latencyOf(&ackLat)
	if res.Sent < st.total {
		res.addError(fmt.Errorf("only %d of %d planned sends went out", res.Sent, st.total))
	}
	if refused > 0 {
		res.addError(fmt.Errorf("%d sends refused (not expected); first: %s", refused, refusal))
	}
	if noAck > 0 {
		res.addError(fmt.Errorf("%d sends got no ack on the ack topic (not expected)", noAck))
	}
	if noPuback > 0 {
		res.addError(fmt.Errorf("%d sends got no PUBACK", noPuback))
	}
	return nil
}

// send publishes sender s's planned messages, at most -inflight unacknowledged.
func (st *stormRun) send(s *imSender) {
	r := st.im
	tg := st.targets[s.idx]
	var payload []byte
	defer func() { _ = s.cl.flush() }()
	for seq := range uint64(len(tg)) {
		var ok bool
		var err error
		payload, ok, err = r.sendOne(s, st.topics[tg[seq]], seq, payload)
		if err != nil {
			s.sendErr = fmt.Errorf("sender write: %w", err)
		}
		if !ok {
			return
		}
	}
}

// storm reconnects every device at once, each syncing to the end, and fills
// the storm side of res. It reports whether ctx ended it.
func (st *stormRun) storm(ctx context.Context, res *Result, rss0 int64) (cancelled bool) {
	cfg := st.cfg
	sctx, cancel := context.WithTimeout(ctx, stormMax)
	defer cancel()
	n := len(st.recv)
	hs, toSynced := newStripedHist(16), newStripedHist(16)
	errs := make([]error, n)
	var lastConnack atomic.Int64 // ns after t0
	var failed atomic.Int64

	var w window
	w.cpu0, _ = sampleProc(cfg.PID)
	w.self0, _ = sampleProc(selfPID())
	w.busy0, w.busyErr = machineBusy()
	w.peak = rss0
	stopSampler := make(chan struct{})
	var sampler sync.WaitGroup
	sampler.Add(1)
	go func() { // the broker's RSS peak
		defer sampler.Done()
		t := time.NewTicker(200 * time.Millisecond)
		defer t.Stop()
		for {
			select {
			case <-stopSampler:
				return
			case <-t.C:
			}
			if s, err := sampleProc(cfg.PID); err == nil && s.rss > w.peak {
				w.peak = s.rss
			}
		}
	}()

	sem := make(chan struct{}, cfg.Concurrency)
	var devices sync.WaitGroup
	w.t0 = time.Now()
	t0 := w.t0
dials:
	for j := range n {
		select {
		case sem <- struct{}{}:
		case <-sctx.Done():
			break dials
		}
		devices.Add(1)
		go func() {
			defer devices.Done()
			released := false
			release := func() {
				if !released {
					released = true
					<-sem
				}
			}
			defer release()
			start := time.Now()
			cl, err := st.im.dialAs(j, st.recv[j], fmt.Sprintf("ib-%s-r%d", st.im.runID, j))
			release()
			if err != nil {
				failed.Add(1)
				errs[j] = fmt.Errorf("reconnect %s: %w", st.recv[j], err)
				return
			}
			now := time.Now()
			hs.record(j, int64(now.Sub(start)))
			for at := int64(now.Sub(t0)); ; {
				old := lastConnack.Load()
				if at <= old || lastConnack.CompareAndSwap(old, at) {
					break
				}
			}
			st.connected.Add(1)
			st.conns[j] = cl
			if err := st.syncDevice(sctx, j, cl); err != nil {
				errs[j] = fmt.Errorf("device %s: %w", st.recv[j], err)
				return
			}
			toSynced.record(j, int64(time.Since(t0)))
			st.synced.Add(1)
		}()
	}
	devices.Wait()
	w.t1 = time.Now()
	close(stopSampler)
	sampler.Wait()
	w.busy1, _ = machineBusy()
	w.self1, _ = sampleProc(selfPID())
	if s, err := sampleProc(cfg.PID); err != nil {
		res.addError(fmt.Errorf("broker exited during the run: %w", err))
	} else {
		w.cpu1 = s
		res.BrokerRSSAfter = s.rss
		w.peak = max(w.peak, s.rss)
	}
	cancelled = ctx.Err() != nil
	if !cancelled && sctx.Err() != nil {
		res.addError(fmt.Errorf("storm not over after %v", stormMax))
	}

	// results (every device goroutine has ended: the books are ours)
	res.Window = w.seconds()
	res.Connected, res.Failed = int(st.connected.Load()), int(failed.Load())
	res.SyncedDevices = int(st.synced.Load())
	res.SyncRPCs = st.pages.Load()
	if lc := time.Duration(lastConnack.Load()); lc > 0 {
		res.ConnectRate = float64(res.Connected) / lc.Seconds()
	}
	h, ts := hs.merged(), toSynced.merged()
	res.Handshake, res.Latency = latencyOf(&h), latencyOf(&ts)
	var foreign, corrupt, regressed int64
	for _, b := range st.books {
		if b != nil {
			res.Received += b.unique
			res.Duplicates += b.dups
			foreign += b.foreign
			corrupt += b.corrupt
			regressed += b.regressed
		}
	}
	acked := make([]bitmap, len(st.im.senders))
	for i, s := range st.im.senders {
		acked[i] = s.ackedSet
	}
	missing, short := stormMissing(acked, st.targets, st.books)
	res.Lost, res.AckedLost = missing, missing
	if res.Expected > 0 {
		res.LossPct = 100 * float64(missing) / float64(res.Expected)
	}
	res.DeliveredPerS = float64(res.Received) / res.Window
	w.fill(res, res.Received)

	var nerr int
	var first error
	for _, err := range errs {
		if err != nil {
			if first == nil {
				first = err
			}
			nerr++
		}
	}
	if nerr > 0 {
		res.addError(fmt.Errorf("%d of %d devices did not sync; first: %w", nerr, n, first))
	}
	if missing > 0 {
		res.addError(fmt.Errorf("%d acked messages missing from the sync of %d devices", missing, short))
	}
	if corrupt > 0 {
		res.addError(fmt.Errorf("%d synced messages with a body that does not match their cid", corrupt))
	}
	if regressed > 0 {
		res.addError(fmt.Errorf("%d sync cursors moved back", regressed))
	}
	if foreign > 0 {
		st.note("%d synced messages were not this run's (ignored)", foreign)
	}
	return cancelled
}

// syncDevice subscribes a reconnected device and syncs it to the end.
func (st *stormRun) syncDevice(ctx context.Context, j int, cl *client) error {
	stop := context.AfterFunc(ctx, func() { cl.c.Close() })
	defer stop()
	user := st.recv[j]
	if err := cl.subscribe("im/u/"+user+"/#", 1, st.cfg.Timeout); err != nil {
		return err
	}
	book := newSyncBook()
	st.books[j] = book
	req := syncRequest{Since: book.since, Limit: syncPageLimit(st.cfg.Size), ReplyTo: "im/u/" + user + "/rpc/sync"}
	stalls := 0
	for rid := 1; ; rid++ {
		req.RID = strconv.Itoa(rid)
		p, err := st.syncCall(cl, rid, &req)
		if err != nil {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			return err
		}
		st.pages.Add(1)
		u0 := book.unique
		progress := book.add(&p, st.im.runID)
		st.syncedMsgs.Add(book.unique - u0)
		if !p.More {
			return nil
		}
		if progress {
			stalls = 0
		} else if stalls++; stalls == stormSyncStalls {
			return fmt.Errorf("sync said more: true %d times without a message or a moved cursor", stalls)
		}
	}
}

// syncCall sends one sync request and waits for its response (cl has no
// reader goroutine: this is it).
func (st *stormRun) syncCall(cl *client, rid int, req *syncRequest) (syncResponse, error) {
	var res syncResponse
	body, err := json.Marshal(req)
	if err != nil {
		return res, fmt.Errorf("encode sync: %w", err)
	}
	_ = cl.c.SetReadDeadline(time.Now().Add(imRPCTimeout))
	if err := cl.writePublish("im/rpc/sync", 1, uint16(rid%65535)+1, body); err != nil {
		return res, fmt.Errorf("send sync: %w", err)
	}
	if err := cl.flush(); err != nil {
		return res, fmt.Errorf("send sync: %w", err)
	}
	for {
		p, _, err := cl.readPublish(st.im.clk)
		if err != nil {
			return res, fmt.Errorf("wait for the sync response: %w", err)
		}
		res, err = parseSyncResponse(p.Payload)
		if err != nil {
			if string(p.Topic) == req.ReplyTo {
				return res, err
			}
			continue // something else of the user's
		}
		if res.Method != "sync" || (res.RID != "" && res.RID != req.RID) {
			continue
		}
		if !res.OK {
			return res, fmt.Errorf("sync: code %d %q: %w", res.Code, res.Reason, ErrRefused)
		}
		return res, nil
	}
}

// closeStorm disconnects the storm's devices.
func (st *stormRun) closeStorm() {
	_ = parallel(len(st.conns), 256, func(j int) error {
		if st.conns[j] != nil {
			st.conns[j].disconnect()
		}
		return nil
	})
}
