package broker

import (
	"errors"
	"fmt"
	"hash/fnv"
	"strconv"

	"github.com/rs/zerolog"

	imhook "github.com/imqtt/imqtt/hooks/im"
	"github.com/imqtt/imqtt/im"
	"github.com/imqtt/imqtt/im/media"
	"github.com/imqtt/imqtt/im/push"
	"github.com/imqtt/imqtt/im/ratelimit"
	"github.com/imqtt/imqtt/im/wordfilter"
	"github.com/imqtt/imqtt/internal/logfield"
)

// IMConfig is the IM server (`im:`): the service's own settings plus the word
// filter, the per-user rate limit and the offline-push webhook.
type IMConfig struct {
	im.Config `yaml:",inline"`
	Filter    wordfilter.Config `yaml:"filter"`
	RateLimit ratelimit.Config  `yaml:"rate_limit"`
	Push      push.Config       `yaml:"push"`
	Media     media.Config      `yaml:"media"` // media_wiring.go
}

// DefaultIMConfig returns the IM defaults.
func DefaultIMConfig() IMConfig {
	return IMConfig{
		Config:    im.DefaultConfig(),
		Filter:    wordfilter.DefaultConfig(),
		RateLimit: ratelimit.DefaultConfig(),
		Push:      push.DefaultConfig(),
		Media:     media.DefaultConfig(),
	}
}

// Validate checks every part; errors name the key path under im.
func (c IMConfig) Validate() error {
	if err := c.Config.Validate(); err != nil {
		return fmt.Errorf("im: %w", err)
	}
	if err := c.Filter.Validate(); err != nil {
		return fmt.Errorf("im.filter: %w", err)
	}
	if err := c.RateLimit.Validate(); err != nil {
		return fmt.Errorf("im.rate_limit: %w", err)
	}
	if err := c.Push.Validate(); err != nil {
		return fmt.Errorf("im.push: %w", err)
	}
	if err := c.Media.Validate(); err != nil {
		return fmt.Errorf("im.media: %w", err)
	}
	return nil
}

// imParts is the IM server of a broker: the service, its engine adapter and
// publisher, and the support parts the broker owns (closed after the
// engine).
type imParts struct {
	svc      *im.Service
	hook     *imhook.Hook       // the engine's ext.PublishHandler and ext.Lifecycle
	pub      *imhook.Publisher  // the service's deliveries into the engine
	filter   *wordfilter.Filter // nil when off
	push     *push.Dispatcher   // nil when off
	media    media.Store        // nil when off (media_wiring.go)
	embedded *media.Embedded    // the embedded store, served by the admin listener; nil otherwise
}

// nodeNumber is the 10-bit node number in IM message ids: node.number, or
// derived from node.id when it is -1 (docs/protocol.md "Ids").
func nodeNumber(n NodeConfig) uint16 {
	if n.Number >= 0 {
		return uint16(n.Number)
	}
	h := fnv.New32a()
	_, _ = h.Write([]byte(n.ID))
	return uint16(h.Sum32() % 1024)
}

// pushAdapter hands the service's push events to the webhook dispatcher.
type pushAdapter struct{ d *push.Dispatcher }

func (a pushAdapter) Push(ev im.PushEvent) {
	a.d.Enqueue(push.Event{
		User: ev.User, Conv: ev.Conv, From: ev.From, Preview: ev.Preview,
		ID: ev.ID, Seq: ev.Seq, TS: ev.TS, Mention: ev.Mention, Kind: ev.Kind, Target: ev.Target,
	})
}

// openIM builds the IM service on the broker's node and store, publishing
// through deliver (the engine's imhook.Publisher); the caller adds the
// engine adapter and gives the service's policy to the ACL.
func (b *Broker) openIM(log zerolog.Logger, deliver im.Deliverer) (err error) {
	cfg := b.cfg.IM
	p := &imParts{}
	defer func() {
		if err != nil {
			_ = p.close()
		}
	}()
	opts := im.Options{
		Node:    b.writer,
		Store:   b.store,
		NodeID:  nodeNumber(b.cfg.Node),
		Deliver: deliver,
		Log:     log,
		// Presence: records per node in the replicated store, published by
		// the leader (im/presence.go).
		NodeName: b.node.ID(),
		IsLeader: b.node.IsLeader,
		IsAdmin:  b.isStoreAdmin,
		Members: func() []string {
			var ids []string
			for _, s := range b.node.Status().Servers {
				ids = append(ids, s.ID)
			}
			return ids
		},
	}
	if cfg.Filter.Enabled {
		if p.filter, err = wordfilter.New(cfg.Filter); err != nil {
			return fmt.Errorf("im.filter: %w", err)
		}
		opts.Filter = p.filter
	}
	if cfg.RateLimit.MessagesPerSecond > 0 {
		opts.Limiter = ratelimit.New(cfg.RateLimit, nil)
	}
	if cfg.Push.URL != "" {
		if p.push, err = push.New(cfg.Push, log); err != nil {
			return fmt.Errorf("im.push: %w", err)
		}
		if err := b.metrics.Registry().Register(p.push); err != nil {
			return fmt.Errorf("im.push metrics: %w", err)
		}
		opts.Push = pushAdapter{p.push}
	}
	if err := b.openMedia(log, p); err != nil {
		return err
	}
	if p.media != nil {
		opts.Media = mediaAdapter{p.media}
	}
	if p.svc, err = im.New(cfg.Config, opts); err != nil {
		return fmt.Errorf("im: %w", err)
	}
	b.im = p
	b.log.Info().Str(logfield.NodeNumber, strconv.Itoa(int(opts.NodeID))).
		Bool("filter", p.filter != nil).Bool(logfield.Push, p.push != nil).Msg("im server on")
	return nil
}

// close stops the service and the push dispatcher. Idempotent through their
// own Close.
func (p *imParts) close() error {
	var errs []error
	if p.hook != nil {
		_ = p.hook.Close() // cancels Handle calls still waiting for a commit
	}
	if p.svc != nil {
		if err := p.svc.Close(); err != nil {
			errs = append(errs, fmt.Errorf("close im service: %w", err))
		}
	}
	if p.media != nil {
		if err := p.media.Close(); err != nil {
			errs = append(errs, fmt.Errorf("close media store: %w", err))
		}
	}
	if p.push != nil {
		if err := p.push.Close(); err != nil {
			errs = append(errs, fmt.Errorf("close push dispatcher: %w", err))
		}
	}
	return errors.Join(errs...)
}

// reloadIM re-reads the word list (SIGHUP).
func (b *Broker) reloadIM() error {
	if b.im == nil || b.im.filter == nil {
		return nil
	}
	changed, words, err := b.im.filter.Reload()
	if err != nil {
		return fmt.Errorf("im.filter: %w", err)
	}
	if changed {
		b.log.Info().Int(logfield.Words, words).Msg("word list reloaded")
	}
	return nil
}
