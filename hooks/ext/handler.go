package ext

import "context"

// Request handling and the connection life cycle (issue 17): the IM service
// (hooks/im) claims the PUBLISHes of its namespace and keeps presence from
// connects and disconnects through these two interfaces; the engine knows
// nothing of IM.

// InboundPublish is a PUBLISH a PublishHandler claimed, copied out of the
// engine's read buffer (the handler may keep it). Topic is the topic name
// after alias resolution.
type InboundPublish struct {
	Topic           string
	Payload         []byte
	QoS             byte
	Retain          bool
	ResponseTopic   string // MQTT 5 Response Topic, "" if none
	CorrelationData []byte // MQTT 5 Correlation Data, nil if none
}

// HandleResult is a PublishHandler's verdict: Code is the MQTT 5 reason code
// of the publisher's PUBACK (QoS 1) or PUBREC (QoS 2): below 0x80 accepts,
// 0x80 and above refuses (a refused QoS 2 is not kept in flight). Reason is a
// short text for the Reason String of a v5 ack and logs. A 3.1.1 client gets
// a plain ack whatever the code (3.1.1 acks have no reason code); a QoS 0
// publish gets no ack at all: the handler answers such clients on its own
// topics.
type HandleResult struct {
	Code   byte
	Reason string
}

// PublishHandler handles the PUBLISHes of the topics it claims instead of the
// engine's routing: a claimed publish is acknowledged with Handle's code and
// delivered to no subscriber (what the handler publishes goes out through the
// engine's server publish).
//
// The engine asks Claims for every PUBLISH whose publisher passed
// ext.AccessPublish (the Authorizer stays the one access decision; a denied
// publish gets 0x87 and never reaches the handler). Claims must be fast,
// non-blocking, deterministic and safe for concurrent use.
//
// Handle runs on a goroutine of its own that the engine owns, never on a
// transport worker: it may block (a raft commit) until ctx ends (the engine's
// Close). Meanwhile the publisher's connection is not read, so its later
// packets wait and its acks stay in order (MQTT 4.6); the ack is queued when
// Handle returns. Handle is called concurrently for different connections,
// at most once at a time per connection.
type PublishHandler interface {
	Claims(topic string) bool
	Handle(ctx context.Context, c *Client, p *InboundPublish) HandleResult
}

// Lifecycle hears of every accepted connection and its end. For one client
// id the calls never overlap and follow the connections' order; the engine
// makes them off its locks.
type Lifecycle interface {
	// Connected: c's CONNECT was authenticated and its session attached,
	// before the CONNACK. It may block (a raft write): it runs off the
	// transport workers with the connection paused, and other connections
	// of the same client id wait for it. A non-zero return refuses the connection
	// with that CONNACK reason code (0x97 Quota exceeded for a device cap;
	// 3.1.1 clients get the mapped return code) and no Disconnected follows.
	// ctx ends when the engine closes.
	Connected(ctx context.Context, c *Client) byte
	// Disconnected: a connection Connected accepted has ended (DISCONNECT,
	// lost, closed by the server). It is not called when a newer connection
	// of the same user with the same client id is attached by then (a
	// takeover or a quick reconnect): that one carries on as the same
	// device. It may block; it runs on the connection's reader goroutine.
	Disconnected(c *Client)
}

// Message is a message the server publishes itself (engine Publish with
// properties): MQTT 5 subscribers get the properties, 3.1.1 ones the topic
// and payload.
type Message struct {
	Topic   string
	Payload []byte
	QoS     byte
	Retain  bool
	// ContentType is the MQTT 5 Content Type, "" for none.
	ContentType string
	// UTF8 sets the Payload Format Indicator to 1 (UTF-8 text).
	UTF8 bool
	// ResponseTopic and CorrelationData are the MQTT 5 request/response
	// properties (a reply carries the request's Correlation Data).
	ResponseTopic   string
	CorrelationData []byte
}
