package im

import (
	"encoding/json"
	"fmt"

	"github.com/imqtt/imqtt/internal/logfield"
)

// ack is the answer to an upstream publish on im/u/{user}/ack: every message send
// gets one (accepted with id/seq/ts, or refused), receipts and typing only when
// refused.
type ack struct {
	ok     bool
	code   byte
	reason string
	cid    string
	conv   string
	id     uint64
	seq    uint64
	ts     int64
	dup    bool
	topic  string // refusals: the topic of the refused publish
}

func (a *ack) appendJSON(b []byte) []byte {
	b = appendBoolField(append(b, '{'), "ok", a.ok, true)
	b = appendUintField(b, "code", uint64(a.code), false)
	if a.reason != "" {
		b = appendStrField(b, "reason", a.reason, false)
	}
	if a.cid != "" {
		b = appendStrField(b, "cid", a.cid, false)
	}
	if a.conv != "" {
		b = appendStrField(b, "conv", a.conv, false)
	}
	if a.ok {
		b = appendIDField(b, "id", a.id, false)
		b = appendUintField(b, "seq", a.seq, false)
		b = appendIntField(b, "ts", a.ts, false)
		if a.dup {
			b = appendBoolField(b, "dup", true, false)
		}
	}
	if a.topic != "" {
		b = appendStrField(b, "topic", a.topic, false)
	}
	return append(b, '}')
}

// refusalAck is the ack of a refused request.
func refusalAck(out Outcome, cid, topic string) ack {
	return ack{code: out.Code, reason: out.Reason, cid: cid, topic: clip(topic)}
}

// ackQoS is the QoS of acks. An ack answers the device that is waiting for it;
// a device that misses one (its connection dropped) re-sends the request with
// the same cid and gets the same answer (dedup), so QoS 1 would only add a
// PUBACK per message, and nothing to queue for offline devices is wanted.
const ackQoS = 0

// sendAck publishes a on im/u/{user}/ack and, if the request named a reply topic
// (MQTT 5 Response Topic or reply_to), there too, with the request's MQTT 5
// Correlation Data echoed on both. It calls r.Replying first.
func (s *Service) sendAck(c Client, replyTopic string, r *Request, a ack) {
	if r.Replying != nil {
		r.Replying()
	}
	corr := r.CorrelationData
	payload := a.appendJSON(make([]byte, 0, 160))
	at := userTopic(c.User, leafAck)
	s.deliver(Delivery{Topic: at, Payload: payload, QoS: ackQoS, CorrelationData: corr, Requester: c.ClientID})
	if replyTopic != "" && replyTopic != at {
		s.deliver(Delivery{Topic: replyTopic, Payload: payload, QoS: ackQoS, CorrelationData: corr, Requester: c.ClientID})
	}
}

// replyTopic picks the reply topic of a request: the MQTT 5 Response Topic, else
// the payload's reply_to, else "" (none). Either must lie under the user's own
// im/u/{user}/ tree: the server publishes there, so anything else would let a
// client make the server publish into someone else's tree.
func replyTopic(user string, r *Request, payloadReplyTo string) (string, error) {
	t := r.ResponseTopic
	if t == "" {
		t = payloadReplyTo
	}
	if t == "" {
		return "", nil
	}
	if !inOwnTree(user, t) {
		return "", fmt.Errorf("%w: %q", ErrBadReplyTopic, clip(t))
	}
	return t, nil
}

// rpcHead is the common part of every rpc response.
type rpcHead struct {
	Method string `json:"method"`
	RID    string `json:"rid,omitempty"`
	OK     bool   `json:"ok"`
	Code   byte   `json:"code"`
	Reason string `json:"reason,omitempty"`
}

// rpcRespond publishes an rpc response: rpcHead's fields, then (on success)
// result's, which must marshal to a JSON object. topic "" means the default
// im/u/{user}/rpc.
func (s *Service) rpcRespond(user, topic string, corr []byte, head rpcHead, result any) {
	if topic == "" {
		topic = userTopic(user, leafRPC)
	}
	payload, err := json.Marshal(head)
	if err == nil && head.OK && result != nil {
		var body []byte
		if body, err = json.Marshal(result); err == nil && len(body) > 2 && body[0] == '{' {
			payload = append(append(payload[:len(payload)-1], ','), body[1:]...)
		}
	}
	if err != nil {
		s.log.Error().Err(err).Str(logfield.Method, head.Method).Msg("im rpc response encoding failed")
		payload, _ = json.Marshal(rpcHead{Method: head.Method, RID: head.RID, Code: CodeUnspecified, Reason: ErrInternal.Error()})
	}
	s.deliver(Delivery{Topic: topic, Payload: payload, QoS: 1, CorrelationData: corr})
}
