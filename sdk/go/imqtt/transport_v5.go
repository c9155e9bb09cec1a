package imqtt

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"sync"
	"sync/atomic"
	"time"

	"github.com/eclipse/paho.golang/autopaho"
	"github.com/eclipse/paho.golang/paho"
)

// closeTimeout bounds how long close waits for a clean DISCONNECT.
const closeTimeout = 5 * time.Second

// v5 is the MQTT 5 transport: an autopaho ConnectionManager, which
// reconnects with cfg.backoff and keeps the session state (in-flight QoS 1
// packets) across reconnects.
type v5 struct {
	cfg      transportConfig
	cm       atomic.Pointer[autopaho.ConnectionManager] // set by start, or by the first OnConnectionUp if earlier
	lastErr  atomic.Pointer[error]                      // why the current connection went down
	connErr  atomic.Pointer[error]                      // the last failed connect attempt
	wasUp    atomic.Bool                                // a connection came up once: refusals now go to events.failed
	stopOnce sync.Once                                  // stops the ConnectionManager on a permanent refusal
	stop     context.CancelFunc                         // ends the ConnectionManager's context (set by start)
	once     sync.Once
}

func newV5(cfg transportConfig) *v5 { return &v5{cfg: cfg} }

// start implements transport.
func (t *v5) start(ctx context.Context) error {
	u, err := url.Parse(t.cfg.url)
	if err != nil {
		return fmt.Errorf("%w: URL: %w", ErrInvalidConfig, err)
	}
	up := make(chan struct{}, 1)
	refused := make(chan error, 1)
	// run ends the ConnectionManager: cancelled on a permanent refusal of a
	// reconnect (autopaho would retry it forever), else by close.
	run, stop := context.WithCancel(context.Background())
	t.stop = stop
	ac := autopaho.ClientConfig{
		ServerUrls:                    []*url.URL{u},
		KeepAlive:                     t.cfg.keepAlive,
		CleanStartOnInitialConnection: false,
		SessionExpiryInterval:         uint32(t.cfg.sessionExpiry / time.Second),
		ReconnectBackoff:              t.cfg.backoff,
		ConnectTimeout:                10 * time.Second,
		ConnectUsername:               t.cfg.user,
		ConnectPassword:               []byte(t.cfg.password),
		// autopaho sends Request Problem Information 0 unless told: the
		// broker would then drop the reason strings of PUBACKs and
		// DISCONNECTs that MarkRead and Typing report.
		ConnectPacketBuilder: func(cp *paho.Connect, _ *url.URL) (*paho.Connect, error) {
			if cp.Properties == nil {
				cp.Properties = &paho.ConnectProperties{}
			}
			cp.Properties.RequestProblemInfo = true
			return cp, nil
		},
		OnConnectionUp: func(cm *autopaho.ConnectionManager, _ *paho.Connack) {
			t.cm.CompareAndSwap(nil, cm)
			t.wasUp.Store(true)
			t.lastErr.Store(nil)
			t.cfg.events.up()
			select {
			case up <- struct{}{}:
			default:
			}
		},
		OnConnectionDown: func() bool {
			var err error
			if p := t.lastErr.Load(); p != nil {
				err = *p
			}
			t.cfg.events.down(err)
			return true
		},
		OnConnectError: func(err error) {
			var ce *autopaho.ConnackError
			if !errors.As(err, &ce) {
				t.connErr.Store(&err)
				return
			}
			ie := &Error{Code: ce.ReasonCode, Reason: ce.Reason}
			var stored error = ie
			t.connErr.Store(&stored)
			switch {
			case !permanent(ie.Code):
			case !t.wasUp.Load():
				select {
				case refused <- ie:
				default:
				}
			default:
				t.stopOnce.Do(func() {
					stop()
					t.cfg.events.failed(ie)
				})
			}
		},
		ClientConfig: paho.ClientConfig{
			ClientID: t.cfg.clientID,
			OnPublishReceived: []func(paho.PublishReceived) (bool, error){
				func(pr paho.PublishReceived) (bool, error) {
					in := inbound{topic: pr.Packet.Topic, payload: pr.Packet.Payload}
					if pr.Packet.Properties != nil {
						in.corr = pr.Packet.Properties.CorrelationData
					}
					t.cfg.events.message(in)
					return true, nil
				},
			},
			OnClientError: func(err error) { t.lastErr.Store(&err) },
			OnServerDisconnect: func(d *paho.Disconnect) {
				err := error(&Error{Code: d.ReasonCode, Reason: "server disconnected"})
				t.lastErr.Store(&err)
			},
		},
	}
	cm, err := autopaho.NewConnection(run, ac)
	if err != nil {
		stop()
		return fmt.Errorf("imqtt: connect: %w", err)
	}
	t.cm.CompareAndSwap(nil, cm)
	select {
	case <-up:
		return nil
	case err := <-refused:
		t.close()
		return err
	case <-ctx.Done():
		t.close()
		if p := t.connErr.Load(); p != nil {
			return fmt.Errorf("%w: last attempt: %w", ctx.Err(), *p)
		}
		return ctx.Err()
	}
}

// publish implements transport.
func (t *v5) publish(ctx context.Context, topic string, payload []byte, rt string, corr []byte) error {
	p := &paho.Publish{QoS: 1, Topic: topic, Payload: payload}
	if rt != "" {
		p.Properties = &paho.PublishProperties{ResponseTopic: rt, CorrelationData: corr}
	}
	pr, err := t.cm.Load().Publish(ctx, p)
	if pr != nil {
		if pr.ReasonCode < 0x80 {
			return nil
		}
		reason := ""
		if pr.Properties != nil {
			reason = pr.Properties.ReasonString
		}
		return &Error{Code: pr.ReasonCode, Reason: reason, Topic: topic}
	}
	if errors.Is(err, autopaho.ConnectionDownError) {
		return ErrNotConnected
	}
	return fmt.Errorf("imqtt: publish %s: %w", topic, err)
}

// subscribe implements transport.
func (t *v5) subscribe(ctx context.Context, filters ...string) error {
	s := &paho.Subscribe{}
	for _, f := range filters {
		s.Subscriptions = append(s.Subscriptions, paho.SubscribeOptions{Topic: f, QoS: 1})
	}
	sa, err := t.cm.Load().Subscribe(ctx, s)
	if sa == nil {
		if errors.Is(err, autopaho.ConnectionDownError) {
			return ErrNotConnected
		}
		return fmt.Errorf("imqtt: subscribe %v: %w", filters, err)
	}
	for i, code := range sa.Reasons {
		if code >= 0x80 && i < len(filters) {
			return &Error{Code: code, Reason: "subscribe refused", Topic: filters[i]}
		}
	}
	return nil
}

// close implements transport.
func (t *v5) close() {
	t.once.Do(func() {
		cm := t.cm.Load()
		if cm == nil {
			return
		}
		ctx, cancel := context.WithTimeout(context.Background(), closeTimeout)
		defer cancel()
		_ = cm.Disconnect(ctx)
		t.stop()
	})
}
