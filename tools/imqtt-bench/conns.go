package main

import (
	"context"
	"fmt"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"time"
)

// runConns opens cfg.Pubs idle connections (each subscribed to its own inbox topic
// with -subscribe), measures connect rate and handshake latency (dial to CONNACK),
// samples the broker's RSS before and after, holds them idle, then checks that each
// still answers PINGREQ.
func runConns(ctx context.Context, cfg Config) (*Result, error) {
	res := &Result{Tool: "imqtt-bench", Config: cfg}
	runID := fmt.Sprintf("%08x", rand.Uint32())
	before, err := sampleProc(cfg.PID)
	if err != nil {
		return res, err
	}
	self0, _ := sampleProc(selfPID())
	res.BrokerRSSBefore = before.rss
	conns := make([]*client, cfg.Pubs)
	defer func() {
		_ = parallel(len(conns), 256, func(i int) error {
			if conns[i] != nil {
				conns[i].disconnect()
			}
			return nil
		})
	}()

	var (
		mu       sync.Mutex
		hs       hist
		failed   atomic.Int64
		done     atomic.Int64
		firstErr error
	)
	prog := startProgress(&cfg, func() string {
		return fmt.Sprintf("connected=%d failed=%d", done.Load(), failed.Load())
	})
	t0 := time.Now()
	_ = parallel(cfg.Pubs, cfg.Concurrency, func(i int) error {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		o := cfg.dialOptions()
		o.localIP, o.rbuf = cfg.srcIP(i), 512
		start := time.Now()
		cl, err := dial(o, fmt.Sprintf("ib-%s-c%d", runID, i))
		if err == nil && cfg.Subscribe {
			if err = cl.subscribe(fmt.Sprintf("bench/%s/inbox/%d", runID, i), cfg.QoS, cfg.Timeout); err != nil {
				cl.c.Close()
			}
		}
		took := time.Since(start)
		mu.Lock()
		defer mu.Unlock()
		if err != nil {
			failed.Add(1)
			if firstErr == nil {
				firstErr = err
			}
			return nil // keep going: the count of failures is a result
		}
		hs.record(int64(took))
		conns[i] = cl
		done.Add(1)
		return nil
	})
	elapsed := time.Since(t0)
	cpu1, _ := sampleProc(cfg.PID)
	res.Connected, res.Failed = int(done.Load()), int(failed.Load())
	if firstErr != nil {
		res.addError(fmt.Errorf("first failed connect: %w", firstErr))
	}
	res.ConnectRate = float64(res.Connected) / elapsed.Seconds()
	res.Handshake = latencyOf(&hs)
	res.Window = elapsed.Seconds()

	cancelled := !sleepCtx(ctx, cfg.Settle)
	after, err := sampleProc(cfg.PID)
	if err != nil {
		res.addError(fmt.Errorf("broker exited: %w", err))
	}
	if before.valid && after.valid && res.Connected > 0 {
		res.BrokerRSSAfter = after.rss
		res.BrokerRSSPeak = max(after.rss, before.rss)
		res.BytesPerConn = float64(after.rss-before.rss) / float64(res.Connected)
		res.BrokerCPUS = cpu1.cpu - before.cpu
		res.BrokerCPUPerConn = 1e6 * res.BrokerCPUS / float64(res.Connected)
	}
	if !cancelled {
		cancelled = !sleepCtx(ctx, cfg.Hold)
	}
	var alive atomic.Int64
	if !cancelled {
		_ = parallel(len(conns), cfg.Concurrency, func(i int) error {
			if conns[i] != nil && conns[i].ping(cfg.Timeout) == nil {
				alive.Add(1)
			}
			return nil
		})
	}
	prog.stop()
	res.AliveAfterHold = int(alive.Load())
	if self1, err := sampleProc(selfPID()); err == nil && self0.valid {
		res.ToolCPUPct = 100 * (self1.cpu - self0.cpu) / time.Since(self0.at).Seconds()
	}
	if cancelled {
		return res, ctx.Err()
	}
	return res, nil
}
