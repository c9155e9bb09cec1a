package im

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/rs/zerolog"

	"github.com/imqtt/imqtt/hooks/ext"
	"github.com/imqtt/imqtt/im"
	"github.com/imqtt/imqtt/internal/logfield"
)

// Options are the engine adapter's collaborators.
type Options struct {
	Service Service // required
	Log     zerolog.Logger
	// HandleTimeout bounds each Handle call; 0 means DefaultHandleTimeout.
	HandleTimeout time.Duration
}

// Hook adapts the native engine's extension interfaces to the IM
// service (doc.go "The native engine"): ext.PublishHandler for the im/
// tree and ext.Lifecycle for presence and the device cap. The access policy
// is Policy(svc), composed into the engine's Authorizer by the broker.
type Hook struct {
	svc     Service
	log     zerolog.Logger
	timeout time.Duration

	life   context.Context // cancelled by Close: Handle calls in progress give up
	cancel context.CancelFunc
	once   sync.Once
}

var (
	_ ext.PublishHandler = (*Hook)(nil)
	_ ext.Lifecycle      = (*Hook)(nil)
)

// New returns the adapter. It starts nothing.
func New(opts Options) (*Hook, error) {
	if opts.Service == nil {
		return nil, fmt.Errorf("%w: Service is required", ErrInvalidOptions)
	}
	if opts.HandleTimeout <= 0 {
		opts.HandleTimeout = DefaultHandleTimeout
	}
	life, cancel := context.WithCancel(context.Background())
	return &Hook{
		svc:     opts.Service,
		log:     opts.Log.With().Str(logfield.Component, "im_hook").Logger(),
		timeout: opts.HandleTimeout,
		life:    life,
		cancel:  cancel,
	}, nil
}

// Close cancels Handle calls in progress. Idempotent.
func (h *Hook) Close() error {
	h.once.Do(h.cancel)
	return nil
}

// engineClient is the identity of c as the service sees it.
func engineClient(c *ext.Client) im.Client {
	return im.Client{User: c.Username, ClientID: c.ID, V5: c.ProtocolVersion == 5}
}

// Claims reports whether topic is in the im/ tree: the service handles every
// publish there (the Authorizer already let it through).
func (h *Hook) Claims(topic string) bool { return im.IsIMTopic(topic) }

// Handle hands an im/ publish to the service; its outcome is the code of the
// publisher's ack (the engine sends it to v5 QoS 1 and QoS 2 publishers).
// ctx is the engine's life; the hook bounds each call by HandleTimeout and
// its own Close.
func (h *Hook) Handle(ctx context.Context, c *ext.Client, p *ext.InboundPublish) ext.HandleResult {
	ctx, cancel := context.WithTimeout(ctx, h.timeout)
	defer cancel()
	stop := context.AfterFunc(h.life, cancel)
	defer stop()
	out := h.svc.Handle(ctx, engineClient(c), im.Request{
		Topic:           p.Topic,
		Payload:         p.Payload,
		QoS:             p.QoS,
		ResponseTopic:   p.ResponseTopic,
		CorrelationData: p.CorrelationData,
	})
	if out.Code >= 0x80 {
		h.log.Debug().Str(logfield.ClientID, c.ID).Str(logfield.Topic, p.Topic).
			Str(logfield.Reason, out.Reason).Uint8(logfield.Code, out.Code).Msg("im publish refused")
	}
	return ext.HandleResult{Code: out.Code, Reason: out.Reason}
}

// Connected records a device; a user above the device cap is refused with
// CONNACK 0x97 (Quota exceeded), a closed service with 0x8B.
func (h *Hook) Connected(_ context.Context, c *ext.Client) byte {
	err := h.svc.Connected(engineClient(c))
	if err == nil {
		return 0
	}
	h.log.Info().Err(err).Str(logfield.ClientID, c.ID).Str(logfield.User, c.Username).Msg("device refused")
	if errors.Is(err, im.ErrClosed) {
		return 0x8B // server shutting down
	}
	return 0x97 // quota exceeded (im.ErrTooManyDevices)
}

// Disconnected forgets a device (the engine does not call it for a session
// taken over by the same device).
func (h *Hook) Disconnected(c *ext.Client) {
	h.svc.Disconnected(engineClient(c))
}
