package imqtt

import (
	"context"
	"time"
)

// transport is one MQTT connection with reconnects, over MQTT 5
// (transport_v5.go, paho.golang autopaho) or MQTT 3.1.1
// (transport_v311.go, paho.mqtt.golang). The Client owns it: start once,
// close once.
type transport interface {
	// start begins connecting and returns once the first CONNACK accepted
	// the connection, or with an *Error for a permanent CONNACK refusal
	// (no retry), or when ctx ends with ctx's error wrapping the last
	// connect error (network errors and other refusals are retried with
	// backoff until then). After start, the transport reconnects on its
	// own (with backoff) until close or a permanent refusal (events.failed).
	start(ctx context.Context) error
	// publish sends at QoS 1 and waits for the PUBACK (or ctx). rt, when
	// not empty, is the reply topic: MQTT 5 sets it as Response Topic with
	// corr as Correlation Data; MQTT 3.1.1 ignores both (the caller put
	// reply_to and rid in the payload). Returns ErrNotConnected when down,
	// and on MQTT 5 an *Error (Code, Reason, Topic) when the PUBACK
	// refuses the publish (isRefusal); MQTT 3.1.1 has no such PUBACK.
	publish(ctx context.Context, topic string, payload []byte, rt string, corr []byte) error
	// subscribe subscribes the filters at QoS 1 and fails unless each is
	// granted.
	subscribe(ctx context.Context, filters ...string) error
	// close disconnects and stops reconnecting; it waits for the
	// transport's goroutines. Idempotent.
	close()
}

// transportEvents are the callbacks of a transport. They must not block:
// the Client queues what they carry.
type transportEvents struct {
	message func(in inbound)
	up      func()          // a connection is up (every time)
	down    func(err error) // the connection dropped; reconnecting follows
	// failed: a reconnect got a permanent CONNACK refusal (permanent); the
	// transport has stopped reconnecting. Called at most once, never for
	// the first connection (start returns that refusal).
	failed func(err *Error)
}

// inbound is a publish received from the server.
type inbound struct {
	topic   string
	payload []byte
	corr    []byte // MQTT 5 Correlation Data
}

// transportConfig is what both transports need from the Config.
type transportConfig struct {
	url, clientID, user, password string
	keepAlive                     uint16
	sessionExpiry                 time.Duration
	backoff                       func(attempt int) time.Duration
	events                        transportEvents
}
