package push

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/rs/zerolog"

	"github.com/imqtt/imqtt/internal/logfield"
)

// Event is one message for a user without a connected device.
type Event struct {
	User, Conv, From, Preview string
	ID, Seq                   uint64
	TS                        int64 // unix ms
	// Mention: the message mentions User (pushed even if User muted Conv).
	Mention bool
	// Kind is the event: "" (sent as "message"), "edit" or "recall"; Target
	// is the seq of the edited or recalled message.
	Kind   string
	Target uint64
}

// wire is the JSON body of a POST.
type wire struct {
	Event   string `json:"event"`
	User    string `json:"user"`
	Conv    string `json:"conv"`
	From    string `json:"from"`
	ID      string `json:"id"`
	Seq     uint64 `json:"seq"`
	TS      int64  `json:"ts"`
	Preview string `json:"preview"`
	Attempt int    `json:"attempt"`
	Mention bool   `json:"mention,omitempty"`
	Target  uint64 `json:"target,omitempty"` // edit, recall: the changed message's seq
}

type job struct {
	ev      Event
	eventID string
}

// Dispatcher sends events (see the package doc).
type Dispatcher struct {
	cfg    Config
	log    zerolog.Logger
	client *http.Client
	queue  chan job
	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup
	once   sync.Once
	closed atomic.Bool

	sent, failed, dropped, retries atomic.Uint64
	descs                          [5]*prometheus.Desc
}

// New validates cfg and starts the workers.
func New(cfg Config, log zerolog.Logger) (*Dispatcher, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if cfg.URL == "" {
		return nil, fmt.Errorf("%w: url: must be set to start a dispatcher", ErrInvalidConfig)
	}
	ctx, cancel := context.WithCancel(context.Background())
	d := &Dispatcher{
		cfg:    cfg,
		log:    log.With().Str(logfield.Component, "push").Logger(),
		client: &http.Client{Timeout: cfg.Timeout},
		queue:  make(chan job, cfg.Queue),
		ctx:    ctx,
		cancel: cancel,
	}
	d.descs = [5]*prometheus.Desc{
		prometheus.NewDesc("imqtt_push_sent_total", "Push events accepted by the webhook (2xx).", nil, nil),
		prometheus.NewDesc("imqtt_push_failed_total", "Push events given up (4xx or attempts exhausted).", nil, nil),
		prometheus.NewDesc("imqtt_push_dropped_total", "Push events dropped: queue full or shutdown.", nil, nil),
		prometheus.NewDesc("imqtt_push_retries_total", "Push attempts retried.", nil, nil),
		prometheus.NewDesc("imqtt_push_queue_length", "Push events waiting.", nil, nil),
	}
	for range cfg.Workers {
		d.wg.Add(1)
		go d.work()
	}
	return d, nil
}

// Enqueue queues ev without blocking; false when it was dropped.
func (d *Dispatcher) Enqueue(ev Event) bool {
	if d.closed.Load() {
		d.dropped.Add(1)
		return false
	}
	j := job{ev: ev, eventID: strconv.FormatUint(ev.ID, 10) + "-" + ev.User}
	select {
	case d.queue <- j:
		return true
	default:
		d.dropped.Add(1)
		d.log.Warn().Str(logfield.User, ev.User).Msg("push queue full; event dropped")
		return false
	}
}

// Close stops the workers and waits; queued events are dropped. Idempotent.
func (d *Dispatcher) Close() error {
	d.once.Do(func() {
		d.closed.Store(true)
		d.cancel()
		d.wg.Wait()
		for {
			select {
			case <-d.queue:
				d.dropped.Add(1)
			default:
				return
			}
		}
	})
	return nil
}

func (d *Dispatcher) work() {
	defer d.wg.Done()
	for {
		select {
		case <-d.ctx.Done():
			return
		case j := <-d.queue:
			d.deliver(j)
		}
	}
}

// deliver tries j until it is sent, refused, out of attempts or shut down.
func (d *Dispatcher) deliver(j job) {
	backoff := d.cfg.BackoffMin
	for attempt := 1; ; attempt++ {
		retry, err := d.post(j, attempt)
		if err == nil {
			d.sent.Add(1)
			return
		}
		if !retry || attempt >= d.cfg.MaxAttempts || d.ctx.Err() != nil {
			if d.ctx.Err() != nil {
				d.dropped.Add(1)
			} else {
				d.failed.Add(1)
				d.log.Warn().Err(err).Str(logfield.User, j.ev.User).Int(logfield.Attempt, attempt).Msg("push failed")
			}
			return
		}
		d.retries.Add(1)
		wait := backoff/2 + rand.N(backoff/2+1)
		backoff = min(backoff*2, d.cfg.BackoffMax)
		t := time.NewTimer(wait)
		select {
		case <-d.ctx.Done():
			t.Stop()
			d.dropped.Add(1)
			return
		case <-t.C:
		}
	}
}

// post makes one attempt; retry says whether a failure may be retried.
func (d *Dispatcher) post(j job, attempt int) (retry bool, err error) {
	event := "message"
	if j.ev.Kind != "" {
		event = j.ev.Kind
	}
	body, err := json.Marshal(wire{
		Event: event, Target: j.ev.Target, User: j.ev.User, Conv: j.ev.Conv, From: j.ev.From,
		ID: strconv.FormatUint(j.ev.ID, 10), Seq: j.ev.Seq, TS: j.ev.TS, Preview: j.ev.Preview,
		Attempt: attempt, Mention: j.ev.Mention,
	})
	if err != nil {
		return false, fmt.Errorf("encode event: %w", err)
	}
	req, err := http.NewRequestWithContext(d.ctx, http.MethodPost, d.cfg.URL, bytes.NewReader(body))
	if err != nil {
		return false, fmt.Errorf("build request: %w", err)
	}
	ts := strconv.FormatInt(time.Now().Unix(), 10)
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "imqttd-push")
	req.Header.Set("X-Imqtt-Event-Id", j.eventID)
	req.Header.Set("X-Imqtt-Timestamp", ts)
	req.Header.Set("X-Imqtt-Signature", Sign(d.cfg.Secret, ts, body))
	resp, err := d.client.Do(req)
	if err != nil {
		return true, fmt.Errorf("post: %w", err)
	}
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	_ = resp.Body.Close()
	switch {
	case resp.StatusCode >= 200 && resp.StatusCode < 300:
		return false, nil
	case resp.StatusCode == http.StatusTooManyRequests || resp.StatusCode >= 500:
		return true, fmt.Errorf("webhook answered %d", resp.StatusCode)
	default:
		return false, fmt.Errorf("webhook answered %d", resp.StatusCode)
	}
}

// Describe implements prometheus.Collector.
func (d *Dispatcher) Describe(ch chan<- *prometheus.Desc) {
	for _, desc := range d.descs {
		ch <- desc
	}
}

// Collect implements prometheus.Collector.
func (d *Dispatcher) Collect(ch chan<- prometheus.Metric) {
	for i, v := range []uint64{d.sent.Load(), d.failed.Load(), d.dropped.Load(), d.retries.Load()} {
		ch <- prometheus.MustNewConstMetric(d.descs[i], prometheus.CounterValue, float64(v))
	}
	ch <- prometheus.MustNewConstMetric(d.descs[4], prometheus.GaugeValue, float64(len(d.queue)))
}
