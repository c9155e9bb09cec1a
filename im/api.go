package im

import "context"

// Replicator proposes a command through the raft write path (*cluster.Node).
// Apply blocks until cmd (persist.EncodeOps bytes) is committed and applied on
// this node and returns the state machine's result: a []persist.Result, or an
// error value for a command that did not decode. After an error the command's
// outcome is unknown. Safe for concurrent use.
type Replicator interface {
	Apply(ctx context.Context, cmd []byte) (any, error)
}

// Delivery is one publish the service asks for: a message, ack, receipt,
// presence, typing, notification or rpc response, already encoded.
type Delivery struct {
	Topic           string
	Payload         []byte
	QoS             byte
	Retain          bool
	CorrelationData []byte // MQTT 5 Correlation Data of a reply; nil otherwise
	// SkipIfOnly names the sending device's client id on the author's copy
	// of a message: that device has the ack, so the copy is published only
	// when some other subscriber (another device of the author, on any node)
	// matches the topic; then every matching device, the sender included,
	// gets it. "" publishes unconditionally.
	SkipIfOnly string
	// Requester names the device whose request this answers (an ack). The
	// Deliverer may write a QoS 0 delivery straight to that device when it
	// is the only subscriber of the topic (no trip through the broker's
	// publish path); otherwise it publishes as usual.
	Requester string
}

// Deliverer publishes a Delivery as the broker (the hook publishes via mochi).
// It is called synchronously from Handle, Connected and Disconnected, from many
// goroutines at once, and must not call back into the Service except through
// the CanX checks. An error is logged; the service does not retry (devices
// catch up with sync).
type Deliverer interface {
	Deliver(d Delivery) error
}

// TextFilter checks a message body. It returns the body to store (masked or
// unchanged) or reject = true to refuse the message (0x83 content rejected).
// Called concurrently. A nil TextFilter accepts everything.
type TextFilter interface {
	Filter(text string) (out string, reject bool)
}

// RateLimiter decides whether user may make one more request now (every
// upstream im/ publish counts once). Called concurrently. A nil RateLimiter
// allows everything.
type RateLimiter interface {
	Allow(user string) bool
}

// PushEvent describes a message for a recipient who has no online device on this
// node.
type PushEvent struct {
	User, Conv, From, Preview string
	ID, Seq                   uint64
	TS                        int64 // unix ms
	// Mention: the message mentions User (pushed even when User muted Conv).
	Mention bool
	// Kind is "" for a new message, TypeEdit or TypeRecall for an edit or
	// recall of the message whose seq is Target (Preview: the new body of
	// an edit, empty for a recall).
	Kind   string
	Target uint64
}

// Pusher sends push notifications (APNs, FCM, webhooks...). Push must not block
// for long: it is called from Handle, after the message is committed, once per
// offline recipient. A nil Pusher sends nothing.
type Pusher interface {
	Push(ev PushEvent)
}

// Client is the authenticated publisher of a request. User comes from the
// connection's authentication (never from a payload); ClientID names the device.
type Client struct {
	User, ClientID string
	V5             bool // MQTT 5: replies may use Response Topic + Correlation Data
}

// Request is one upstream PUBLISH under im/.
type Request struct {
	Topic           string
	Payload         []byte
	QoS             byte
	ResponseTopic   string // MQTT 5 Response Topic, "" if none
	CorrelationData []byte // MQTT 5 Correlation Data, echoed on the reply
	// Replying, if set, is called in Handle's goroutine right before the
	// service publishes the ack of this request: the transport may hold the
	// requesting connection's writes from then until the request is done, so
	// the ack leaves together with the protocol's own (PUBACK).
	Replying func()
}

// Outcome is Handle's verdict: Code is an MQTT 5 reason code for the PUBACK
// (CodeSuccess or one of the refusal codes in codes.go) and Reason its text.
// The client is told the same on im/u/{user}/ack or the rpc reply topic.
type Outcome struct {
	Code   byte
	Reason string
}

// OK reports whether the request was accepted.
func (o Outcome) OK() bool { return o.Code < 0x80 }
