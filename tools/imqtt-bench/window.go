package main

import (
	"context"
	"fmt"
	"sync/atomic"
	"time"
)

// window is a run's measured window: the samples at its two ends and the
// broker's RSS peak, shared by the flow and IM runners.
type window struct {
	cancelled    bool
	t0, t1       time.Time
	cpu0, cpu1   procSample // the broker
	self0, self1 procSample // this tool
	busy0, busy1 float64    // machine busy seconds
	busyErr      error
	peak         int64 // broker RSS peak so far
	brokerErr    error // the broker exited during the window
}

// measure runs the warmup, then the measured window (phase phMeasure) of
// cfg.Duration, sampling the broker's RSS once a second, then sets phStopped.
func measure(ctx context.Context, cfg *Config, phase *atomic.Int32, rss0 int64) window {
	var w window
	w.cancelled = !sleepCtx(ctx, cfg.Warmup)
	w.cpu0, _ = sampleProc(cfg.PID)
	w.self0, _ = sampleProc(selfPID())
	w.busy0, w.busyErr = machineBusy()
	w.t0 = time.Now()
	phase.Store(phMeasure)
	w.peak = rss0
	if !w.cancelled {
		deadline := w.t0.Add(cfg.Duration)
		for time.Now().Before(deadline) && !w.cancelled {
			w.cancelled = !sleepCtx(ctx, min(time.Second, time.Until(deadline)))
			if s, err := sampleProc(cfg.PID); err == nil && s.rss > w.peak {
				w.peak = s.rss
			}
		}
	}
	phase.Store(phStopped)
	w.t1 = time.Now()
	w.busy1, _ = machineBusy()
	w.self1, _ = sampleProc(selfPID())
	var err error
	if w.cpu1, err = sampleProc(cfg.PID); err != nil {
		w.brokerErr = fmt.Errorf("broker exited during the run: %w", err)
	}
	return w
}

// seconds is the window's length.
func (w *window) seconds() float64 { return w.t1.Sub(w.t0).Seconds() }

// fill sets res's CPU and memory figures; measured is the deliveries counted
// in the window.
func (w *window) fill(res *Result, measured int64) {
	secs := w.seconds()
	if w.cpu0.valid && w.cpu1.valid {
		res.BrokerCPUS = w.cpu1.cpu - w.cpu0.cpu
		res.BrokerCPUPct = 100 * res.BrokerCPUS / secs
		if measured > 0 {
			res.BrokerCPUPerM = res.BrokerCPUS / (float64(measured) / 1e6)
		}
		res.BrokerRSSPeak = w.peak
	}
	if w.self0.valid && w.self1.valid {
		res.ToolCPUPct = 100 * (w.self1.cpu - w.self0.cpu) / w.self1.at.Sub(w.self0.at).Seconds()
		if w.busyErr == nil {
			res.OtherCPUPct = 100*(w.busy1-w.busy0)/secs - res.ToolCPUPct - res.BrokerCPUPct
		}
	}
}
