package imqtt

import (
	"encoding/json"
	"fmt"
)

// This file decodes what the server publishes down (docs/protocol.md). Each
// decoder takes untrusted bytes and either returns a checked value or an
// error wrapping ErrBadReply; none panics (FuzzDecoders).

// wireAck is an ack as it is on the wire.
type wireAck struct {
	OK     bool   `json:"ok"`
	Code   byte   `json:"code"`
	Reason string `json:"reason"`
	CID    string `json:"cid"`
	Conv   string `json:"conv"`
	ID     string `json:"id"`
	Seq    int64  `json:"seq"`
	TS     int64  `json:"ts"`
	Dup    bool   `json:"dup"`
	Topic  string `json:"topic"`
}

// decodeAck decodes an ack of im/u/{user}/ack. A refusal comes back as an
// Ack whose Err is set.
func decodeAck(b []byte) (Ack, error) {
	var w wireAck
	if err := json.Unmarshal(b, &w); err != nil {
		return Ack{}, fmt.Errorf("%w: ack: %w", ErrBadReply, err)
	}
	if !w.OK {
		code := w.Code
		if code == 0 {
			code = CodeUnspecified
		}
		return Ack{CID: w.CID, Err: &Error{Code: code, Reason: w.Reason, Topic: w.Topic, CID: w.CID}}, nil
	}
	if w.Conv == "" || w.Seq < 1 {
		return Ack{}, fmt.Errorf("%w: ack without conv or seq", ErrBadReply)
	}
	return Ack{CID: w.CID, Conv: w.Conv, ID: w.ID, Seq: w.Seq, TS: w.TS, Dup: w.Dup}, nil
}

// decodeEnvelope decodes a message envelope; conv and a seq ≥ 1 are
// required (the ordering depends on them).
func decodeEnvelope(b []byte) (Message, error) {
	var m Message
	if err := json.Unmarshal(b, &m); err != nil {
		return Message{}, fmt.Errorf("%w: envelope: %w", ErrBadReply, err)
	}
	if m.Conv == "" || m.Seq < 1 {
		return Message{}, fmt.Errorf("%w: envelope without conv or seq", ErrBadReply)
	}
	return m, nil
}

// reply is an rpc response: the common fields, and the whole object in Raw
// for the method's result fields.
type reply struct {
	Method string `json:"method"`
	RID    string `json:"rid"`
	OK     bool   `json:"ok"`
	Code   byte   `json:"code"`
	Reason string `json:"reason"`
	Raw    json.RawMessage
}

// decodeReply decodes an rpc response (a JSON object).
func decodeReply(b []byte) (reply, error) {
	var r reply
	if err := json.Unmarshal(b, &r); err != nil {
		return reply{}, fmt.Errorf("%w: rpc response: %w", ErrBadReply, err)
	}
	r.Raw = json.RawMessage(b)
	return r, nil
}

// err returns the refusal of r as an *Error, or nil when r is ok.
func (r reply) err(method string) error {
	if r.OK {
		return nil
	}
	code := r.Code
	if code == 0 {
		code = CodeUnspecified
	}
	if r.Method != "" {
		method = r.Method
	}
	return &Error{Code: code, Reason: r.Reason, Method: method}
}

// decodeEvent decodes a JSON object event into v.
func decodeEvent(kind string, b []byte, v any) error {
	if err := json.Unmarshal(b, v); err != nil {
		return fmt.Errorf("%w: %s: %w", ErrBadReply, kind, err)
	}
	return nil
}
