package main

import (
	"fmt"
	"os"
	"sync"
	"time"
)

func selfPID() int { return os.Getpid() }

// progress prints one line a second to cfg.Progress until stop; stop waits for it.
type progress struct {
	done chan struct{}
	wg   sync.WaitGroup
	once sync.Once
}

func startProgress(cfg *Config, line func() string) *progress {
	p := &progress{done: make(chan struct{})}
	if cfg.Progress == nil {
		return p
	}
	start := time.Now()
	p.wg.Add(1)
	go func() {
		defer p.wg.Done()
		t := time.NewTicker(time.Second)
		defer t.Stop()
		last, _ := sampleProc(cfg.PID)
		for {
			select {
			case <-p.done:
				return
			case <-t.C:
			}
			cpu := ""
			if s, err := sampleProc(cfg.PID); err == nil && s.valid && last.valid {
				cpu = fmt.Sprintf(" broker_cpu=%.0f%% broker_rss=%.1fMiB",
					100*(s.cpu-last.cpu)/s.at.Sub(last.at).Seconds(), mib(s.rss))
				last = s
			}
			fmt.Fprintf(cfg.Progress, "[%s %4.0fs] %s%s\n", cfg.Scenario, time.Since(start).Seconds(), line(), cpu)
		}
	}()
	return p
}

func (p *progress) stop() {
	p.once.Do(func() { close(p.done) })
	p.wg.Wait()
}
