package imqtt

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	mqtt "github.com/eclipse/paho.mqtt.golang"
)

// v311 is the MQTT 3.1.1 transport: a paho.mqtt.golang client with a clean
// session false, whose reconnects this transport drives (paho.mqtt.golang
// has no pluggable backoff): one goroutine, started by start and stopped by
// close, waits for a lost connection and reconnects with cfg.backoff.
type v311 struct {
	cfg  transportConfig
	cli  mqtt.Client
	lost chan struct{} // a connection was lost (capacity 1)
	stop chan struct{}
	wg   sync.WaitGroup
	once sync.Once
}

func newV311(cfg transportConfig) *v311 {
	return &v311{cfg: cfg, lost: make(chan struct{}, 1), stop: make(chan struct{})}
}

// connackCodes maps MQTT 3.1.1 CONNACK return codes to MQTT 5 reason codes,
// so that errors read the same for both versions.
var connackCodes = [...]byte{0, 0x84, 0x85, CodeServerUnavailable, CodeBadCredentials, CodeNotAuthorized}

// start implements transport.
func (t *v311) start(ctx context.Context) error {
	o := mqtt.NewClientOptions().AddBroker(t.cfg.url).SetClientID(t.cfg.clientID).
		SetUsername(t.cfg.user).SetPassword(t.cfg.password).
		SetCleanSession(false).SetProtocolVersion(4).
		SetAutoReconnect(false).SetConnectRetry(false).SetOrderMatters(true).
		SetKeepAlive(time.Duration(t.cfg.keepAlive) * time.Second).
		SetConnectTimeout(10 * time.Second).
		SetDefaultPublishHandler(func(_ mqtt.Client, m mqtt.Message) {
			t.cfg.events.message(inbound{topic: m.Topic(), payload: m.Payload()})
		}).
		SetOnConnectHandler(func(mqtt.Client) { t.cfg.events.up() }).
		SetConnectionLostHandler(func(_ mqtt.Client, err error) {
			t.cfg.events.down(err)
			select {
			case t.lost <- struct{}{}:
			default:
			}
		})
	t.cli = mqtt.NewClient(o)
	var last error
	for attempt := 0; ; attempt++ {
		select {
		case <-time.After(t.cfg.backoff(attempt)):
		case <-ctx.Done():
			if last != nil {
				return fmt.Errorf("%w: last attempt: %w", ctx.Err(), last)
			}
			return ctx.Err()
		}
		err := t.connect(ctx)
		if err == nil {
			break
		}
		if ie := (*Error)(nil); errors.As(err, &ie) && permanent(ie.Code) {
			return err
		}
		if ctx.Err() == nil {
			last = err
		}
	}
	t.wg.Add(1)
	go t.reconnectLoop()
	return nil
}

// connect makes one connection attempt.
func (t *v311) connect(ctx context.Context) error {
	tok := t.cli.Connect()
	select {
	case <-tok.Done():
	case <-ctx.Done():
		return ctx.Err()
	}
	if err := tok.Error(); err != nil {
		ct, _ := tok.(*mqtt.ConnectToken)
		if ct != nil {
			if rc := ct.ReturnCode(); rc > 0 && int(rc) < len(connackCodes) {
				return &Error{Code: connackCodes[rc], Reason: err.Error()}
			}
		}
		return fmt.Errorf("imqtt: connect: %w", err)
	}
	return nil
}

// reconnectLoop reconnects after every lost connection until stop, or
// until a permanent refusal (reported to events.failed).
func (t *v311) reconnectLoop() {
	defer t.wg.Done()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go func() { // ends with reconnectLoop: cancel or stop
		select {
		case <-t.stop:
			cancel()
		case <-ctx.Done():
		}
	}()
	for {
		select {
		case <-t.stop:
			return
		case <-t.lost:
		}
		for attempt := 1; ; attempt++ {
			select {
			case <-time.After(t.cfg.backoff(attempt)):
			case <-t.stop:
				return
			}
			err := t.connect(ctx)
			if err == nil {
				break
			}
			if ie := (*Error)(nil); errors.As(err, &ie) && permanent(ie.Code) {
				t.cfg.events.failed(ie)
				return
			}
		}
	}
}

// publish implements transport.
func (t *v311) publish(ctx context.Context, topic string, payload []byte, _ string, _ []byte) error {
	if !t.cli.IsConnectionOpen() {
		return ErrNotConnected
	}
	tok := t.cli.Publish(topic, 1, false, payload)
	select {
	case <-tok.Done():
	case <-ctx.Done():
		return ctx.Err()
	}
	if err := tok.Error(); err != nil {
		if errors.Is(err, mqtt.ErrNotConnected) {
			return ErrNotConnected
		}
		return fmt.Errorf("imqtt: publish %s: %w", topic, err)
	}
	return nil
}

// subscribe implements transport.
func (t *v311) subscribe(ctx context.Context, filters ...string) error {
	if !t.cli.IsConnectionOpen() {
		return ErrNotConnected
	}
	m := make(map[string]byte, len(filters))
	for _, f := range filters {
		m[f] = 1
	}
	tok := t.cli.SubscribeMultiple(m, nil)
	select {
	case <-tok.Done():
	case <-ctx.Done():
		return ctx.Err()
	}
	if err := tok.Error(); err != nil {
		return fmt.Errorf("imqtt: subscribe %v: %w", filters, err)
	}
	st, _ := tok.(*mqtt.SubscribeToken)
	if st != nil {
		for f, code := range st.Result() {
			if code >= 0x80 {
				return &Error{Code: CodeNotAuthorized, Reason: "subscribe refused", Topic: f}
			}
		}
	}
	return nil
}

// close implements transport.
func (t *v311) close() {
	t.once.Do(func() {
		close(t.stop)
		t.wg.Wait()
		if t.cli != nil && t.cli.IsConnected() {
			t.cli.Disconnect(250)
		}
	})
}
