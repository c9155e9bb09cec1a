package enginetest

import (
	"context"
	"fmt"
	"net"
	"time"

	"github.com/eclipse/paho.golang/paho"
)

// client is a paho.golang MQTT 5 client that queues what it receives.
type client struct {
	*paho.Client
	msgs    chan *paho.Publish
	discon  chan *paho.Disconnect
	connack *paho.Connack
}

func ctxIO() (context.Context, context.CancelFunc) {
	return context.WithTimeout(context.Background(), ioTimeout)
}

// dialPaho connects a paho client with cp (KeepAlive 60 unless set: long, so
// paho's pinger stays out of the way); a CONNACK reason other than 0 is
// an error.
func dialPaho(tg Target, cp *paho.Connect) (*client, error) {
	conn, err := net.DialTimeout("tcp", tg.Addr, ioTimeout)
	if err != nil {
		return nil, fmt.Errorf("dial %s: %w", tg.Addr, err)
	}
	c := &client{msgs: make(chan *paho.Publish, 256), discon: make(chan *paho.Disconnect, 1)}
	c.Client = paho.NewClient(paho.ClientConfig{
		Conn:     conn,
		ClientID: cp.ClientID,
		OnPublishReceived: []func(paho.PublishReceived) (bool, error){
			func(pr paho.PublishReceived) (bool, error) {
				select {
				case c.msgs <- pr.Packet:
				default: // a check that floods must read; never block paho
				}
				return true, nil
			},
		},
		OnServerDisconnect: func(d *paho.Disconnect) {
			select {
			case c.discon <- d:
			default:
			}
		},
	})
	if cp.KeepAlive == 0 {
		cp.KeepAlive = 60
	}
	ctx, cancel := ctxIO()
	defer cancel()
	c.connack, err = c.Connect(ctx, cp)
	if err != nil {
		_ = conn.Close()
		rc := -1
		if c.connack != nil {
			rc = int(c.connack.ReasonCode)
		}
		return nil, fmt.Errorf("connect %s (CONNACK %#x): %w", cp.ClientID, rc, err)
	}
	return c, nil
}

// connectV5 is a clean-start paho client with a unique id from prefix.
func connectV5(tg Target, prefix string) (*client, error) {
	return dialPaho(tg, &paho.Connect{ClientID: uniq(prefix), CleanStart: true})
}

// close sends DISCONNECT 0 and closes; safe on nil.
func (c *client) close() {
	if c == nil {
		return
	}
	_ = c.Disconnect(&paho.Disconnect{ReasonCode: 0})
}

// sub subscribes to opts and checks every reason code is the granted QoS
// asked for.
func (c *client) sub(props *paho.SubscribeProperties, opts ...paho.SubscribeOptions) error {
	ctx, cancel := ctxIO()
	defer cancel()
	ack, err := c.Subscribe(ctx, &paho.Subscribe{Properties: props, Subscriptions: opts})
	if err != nil {
		return fmt.Errorf("subscribe: %w", err)
	}
	for i, rc := range ack.Reasons {
		if i < len(opts) && rc != opts[i].QoS {
			return fmt.Errorf("SUBACK %q reason %#x, want %#x: %w", opts[i].Topic, rc, opts[i].QoS, ErrUnexpected)
		}
	}
	return nil
}

func (c *client) sub1(filter string, qos byte) error {
	return c.sub(nil, paho.SubscribeOptions{Topic: filter, QoS: qos})
}

// pub publishes and, for QoS 1/2, checks the ack's reason code is below 0x80.
func (c *client) pub(p *paho.Publish) error {
	ctx, cancel := ctxIO()
	defer cancel()
	resp, err := c.Publish(ctx, p)
	if err != nil {
		return fmt.Errorf("publish %q: %w", p.Topic, err)
	}
	if resp != nil && resp.ReasonCode >= 0x80 {
		return fmt.Errorf("publish %q: reason %#x: %w", p.Topic, resp.ReasonCode, ErrUnexpected)
	}
	return nil
}

// next returns the next received message within d.
func (c *client) next(d time.Duration) (*paho.Publish, error) {
	select {
	case m := <-c.msgs:
		return m, nil
	case <-time.After(d):
		return nil, fmt.Errorf("no message within %s: %w", d, ErrTimeout)
	}
}

// nextPayload returns the next message and checks its topic and payload.
func (c *client) expectMsg(topic, payload string) (*paho.Publish, error) {
	m, err := c.next(ioTimeout)
	if err != nil {
		return nil, fmt.Errorf("waiting for %q on %q: %w", payload, topic, err)
	}
	if m.Topic != topic || string(m.Payload) != payload {
		return m, fmt.Errorf("got %q on %q, want %q on %q: %w", m.Payload, m.Topic, payload, topic, ErrUnexpected)
	}
	return m, nil
}

func u32(v uint32) *uint32 { return &v }
func u16(v uint16) *uint16 { return &v }
func ptrByte(v byte) *byte { return &v }
