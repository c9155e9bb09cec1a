package im

import (
	"errors"
	"fmt"
	"sync"

	"github.com/imqtt/imqtt/hooks/ext"
	"github.com/imqtt/imqtt/im"
)

// Engine is what Publisher needs of the native engine
// (*broker/engine.Engine).
type Engine interface {
	// PublishMessage publishes m as the server; subscribers are judged by
	// the engine's Authorizer. It never blocks on a subscriber.
	PublishMessage(m ext.Message) error
	// SubscribedExcept reports whether a subscriber other than client id
	// except matches topic.
	SubscribedExcept(topic, except string) bool
}

// maxEarly bounds the deliveries kept before Bind.
const maxEarly = 1024

// errEarlyFull: a delivery made before Bind when maxEarly were waiting.
var errEarlyFull = errors.New("im engine publisher: not bound and full")

// Publisher is the im.Deliverer over the native engine: every
// delivery goes through Engine.PublishMessage with the IM payload's
// properties (content type, UTF-8, a reply's Correlation Data), so
// persistent and clean sessions, QoS and the ACL behave as for any server
// publish. The engine batches its writes, so there is no cork and no direct
// write to the requester (Delivery.Requester is not needed).
//
// The service is built before the engine (the engine's Authorizer holds the
// service's policy), so the publisher is bound to the engine afterwards:
// deliveries made before Bind (the presence of the last run, published at
// the service's start) are kept, at most maxEarly, and published by Bind in
// order. Safe for concurrent use.
type Publisher struct {
	mu    sync.Mutex
	eng   Engine
	early []im.Delivery
}

// NewPublisher returns an unbound publisher.
func NewPublisher() *Publisher { return &Publisher{} }

// Bind sets the engine and publishes what waited for it. Call it once.
func (p *Publisher) Bind(eng Engine) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.eng = eng
	var errs []error
	for _, d := range p.early {
		errs = append(errs, p.deliver(eng, d))
	}
	p.early = nil
	return errors.Join(errs...)
}

// Deliver publishes d as the broker; with d.SkipIfOnly set it publishes
// nothing unless another subscriber than that client matches d.Topic.
func (p *Publisher) Deliver(d im.Delivery) error {
	p.mu.Lock()
	eng := p.eng
	if eng == nil {
		defer p.mu.Unlock()
		if len(p.early) >= maxEarly {
			return fmt.Errorf("deliver %s: %w", d.Topic, errEarlyFull)
		}
		p.early = append(p.early, d)
		return nil
	}
	p.mu.Unlock()
	return p.deliver(eng, d)
}

func (p *Publisher) deliver(eng Engine, d im.Delivery) error {
	if d.SkipIfOnly != "" && !eng.SubscribedExcept(d.Topic, d.SkipIfOnly) {
		return nil
	}
	err := eng.PublishMessage(ext.Message{
		Topic:           d.Topic,
		Payload:         d.Payload,
		QoS:             d.QoS,
		Retain:          d.Retain,
		ContentType:     contentType,
		UTF8:            true,
		CorrelationData: d.CorrelationData,
	})
	if err != nil {
		return fmt.Errorf("deliver %s: %w", d.Topic, err)
	}
	return nil
}
