package im

import (
	"bytes"
	"context"
	"fmt"
	"sync"
	"time"

	mqtt "github.com/mochi-mqtt/server/v2"
	"github.com/mochi-mqtt/server/v2/packets"
	"github.com/rs/zerolog"

	"github.com/imqtt/imqtt/hooks/acl"
	"github.com/imqtt/imqtt/im"
	"github.com/imqtt/imqtt/internal/logfield"
)

// Service is what the hook needs of *im.Service.
type Service interface {
	Handle(ctx context.Context, c im.Client, r im.Request) im.Outcome
	CanPublish(user, topic string) bool
	CanSubscribe(user, filter string) bool
	CanReceive(user, topic string) bool
	Connected(c im.Client) error
	Disconnected(c im.Client)
}

// DefaultHandleTimeout bounds one Service.Handle call (a raft commit inside).
const DefaultHandleTimeout = 10 * time.Second

// Options are the hook's collaborators.
type Options struct {
	Server  *mqtt.Server // required
	Service Service      // required
	Log     zerolog.Logger
	// HandleTimeout bounds each Handle call; 0 means DefaultHandleTimeout.
	HandleTimeout time.Duration
}

// Hook adapts mochi events to the IM service (doc.go).
type Hook struct {
	mqtt.HookBase
	opts Options
	log  zerolog.Logger

	life    context.Context // cancelled by Stop: Handle calls in progress give up
	cancel  context.CancelFunc
	once    sync.Once
	pending pendingWrites
}

// New returns the hook. It starts nothing.
func New(opts Options) (*Hook, error) {
	if opts.Server == nil || opts.Service == nil {
		return nil, fmt.Errorf("%w: Server and Service are required", ErrInvalidOptions)
	}
	if opts.HandleTimeout <= 0 {
		opts.HandleTimeout = DefaultHandleTimeout
	}
	life, cancel := context.WithCancel(context.Background())
	return &Hook{
		opts:    opts,
		log:     opts.Log.With().Str(logfield.Component, "im_hook").Logger(),
		life:    life,
		cancel:  cancel,
		pending: newPendingWrites(),
	}, nil
}

// ID names the hook.
func (h *Hook) ID() string { return "imqtt-im" }

// Provides reports the events the hook handles.
func (h *Hook) Provides(b byte) bool {
	return bytes.Contains([]byte{
		mqtt.OnPublish,
		mqtt.OnPacketProcessed,
		mqtt.OnSessionEstablished,
		mqtt.OnDisconnect,
	}, []byte{b})
}

// Init accepts no config: everything comes with New.
func (h *Hook) Init(config any) error { return nil }

// Stop cancels Handle calls in progress. Idempotent.
func (h *Hook) Stop() error {
	h.once.Do(h.cancel)
	return nil
}

// client is the identity of cl as the service sees it.
func client(cl *mqtt.Client) im.Client {
	return im.Client{
		User:     string(cl.Properties.Username),
		ClientID: cl.ID,
		V5:       cl.Properties.ProtocolVersion == 5,
	}
}

// OnPublish hands an im/ PUBLISH to the service (doc.go "Events").
func (h *Hook) OnPublish(cl *mqtt.Client, pk packets.Packet) (packets.Packet, error) {
	if cl.Net.Inline || !im.IsIMTopic(pk.TopicName) {
		return pk, nil
	}
	ctx, cancel := context.WithTimeout(h.life, h.opts.HandleTimeout)
	req := im.Request{
		Topic:           pk.TopicName,
		Payload:         pk.Payload,
		QoS:             pk.FixedHeader.Qos,
		ResponseTopic:   pk.Properties.ResponseTopic,
		CorrelationData: pk.Properties.CorrelationData,
	}
	if k, ok := cl.Net.Conn.(corker); ok {
		req.Replying = k.Cork // OnPacketProcessed uncorks
	}
	out := h.opts.Service.Handle(ctx, client(cl), req)
	cancel()
	if out.Code >= 0x80 {
		h.log.Debug().Str(logfield.ClientID, cl.ID).Str(logfield.Topic, pk.TopicName).
			Str(logfield.Reason, out.Reason).Uint8(logfield.Code, out.Code).Msg("im publish refused")
		if cl.Properties.ProtocolVersion == 5 && pk.FixedHeader.Qos == 1 {
			return pk, packets.Code{Code: out.Code, Reason: out.Reason}
		}
	}
	return pk, packets.CodeSuccessIgnore
}

// OnPacketProcessed releases what the connection held since the service
// replied to the packet (OnPublish corks it); mochi has written its PUBACK by
// now. Cheap for every other packet.
func (h *Hook) OnPacketProcessed(cl *mqtt.Client, _ packets.Packet, _ error) {
	if k, ok := cl.Net.Conn.(corker); ok && k.Corked() {
		h.release(cl, k)
	}
}

// OnSessionEstablished reports a connected device; a user above the device cap
// is disconnected.
func (h *Hook) OnSessionEstablished(cl *mqtt.Client, pk packets.Packet) {
	if cl.Net.Inline {
		return
	}
	if err := h.opts.Service.Connected(client(cl)); err != nil {
		h.log.Info().Err(err).Str(logfield.ClientID, cl.ID).Str(logfield.User, string(cl.Properties.Username)).Msg("device refused")
		_ = h.opts.Server.DisconnectClient(cl, packets.ErrQuotaExceeded)
	}
}

// OnDisconnect reports a device gone, unless its session was taken over by a
// newer connection with the same client id.
func (h *Hook) OnDisconnect(cl *mqtt.Client, err error, expire bool) {
	if cl.Net.Inline {
		return
	}
	if cur, ok := h.opts.Server.Clients.Get(cl.ID); ok && cur != cl && !cur.Closed() {
		return
	}
	h.opts.Service.Disconnected(client(cl))
}

// Policy returns the im/ namespace policy for hooks/acl: the service decides
// every access to a topic or filter whose first level is "im"; other topics are
// left to the rules.
func (h *Hook) Policy() acl.Policy {
	return Policy(h.opts.Service)
}

// Policy returns the im/ namespace policy of svc (see Hook.Policy).
func Policy(svc Service) acl.Policy {
	return func(user, clientID, topic string, access acl.Access) (acl.Verdict, bool) {
		if !im.IsIMTopic(topic) {
			return acl.Deny, false
		}
		var ok bool
		switch access {
		case acl.AccessWrite:
			ok = svc.CanPublish(user, topic)
		case acl.AccessSubscribe:
			ok = svc.CanSubscribe(user, topic)
		case acl.AccessRead:
			ok = svc.CanReceive(user, topic)
		}
		if ok {
			return acl.Allow, true
		}
		return acl.Deny, true
	}
}
