package im

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strconv"
)

// Message types.
const (
	// TypeText is the default message type.
	TypeText = "text"
	// TypeNotice is a system message the server appends to a group conversation
	// (created, joined, left, kicked, role, renamed); clients cannot send it.
	TypeNotice = "notice"
	// TypeNotify is a notification envelope (not stored); clients cannot send it.
	TypeNotify = "notify"
	// TypeEdit, TypeRecall and TypeReaction are the events of rpc msg.edit,
	// msg.recall and msg.react (edit.go, recall.go, reaction.go): stored in
	// the log with their own seq, naming the changed message in Target;
	// clients cannot send them as messages.
	TypeEdit     = "edit"
	TypeRecall   = "recall"
	TypeReaction = "reaction"
)

// Notice events.
const (
	EventCreated = "created"
	EventJoined  = "joined"
	EventLeft    = "left"
	EventKicked  = "kicked"
	EventRole    = "role"
	EventRenamed = "renamed"
)

// Notice is the structured part of a TypeNotice message.
type Notice struct {
	Event string   `json:"event"`
	User  string   `json:"user,omitempty"`  // the member concerned
	By    string   `json:"by,omitempty"`    // who did it
	Name  string   `json:"name,omitempty"`  // created, renamed: the group name
	Role  string   `json:"role,omitempty"`  // role: the new role
	Users []string `json:"users,omitempty"` // created: the initial members; joined: several invited at once
}

// Envelope is a message as stored and delivered on im/u/{user}/msg
// (docs/protocol.md "Message envelope"). Conv and Seq identify it in its
// conversation; ID is its cluster-unique server id; TS is the server time (unix
// ms) it was accepted.
type Envelope struct {
	ID     uint64
	Conv   string
	Seq    uint64
	From   string
	To     string // direct messages: the recipient
	TS     int64
	CID    string // the sender's client message id
	Type   string
	Body   string
	Notice *Notice
	// Mentions names the members a group message mentions (mention.go);
	// MentionAll mentions every member.
	Mentions   []string
	MentionAll bool

	// Edit, recall and reactions (edit.go, recall.go, reaction.go).
	Target   uint64 // edit, recall, reaction events: the seq of the changed message
	EditedTS int64  // an edited message: when it was last edited (unix ms)
	Recalled bool   // a recalled message (its body erased) or an erased edit event
	Emoji    string // reaction events: the reaction
	Remove   bool   // reaction events: the reaction was taken back
}

// AppendJSON appends the envelope's JSON (seq first) to b.
func (e *Envelope) AppendJSON(b []byte) []byte {
	b = appendUintField(append(b, '{'), "seq", e.Seq, true)
	return e.appendFields(b, false)
}

// appendStored appends the stored form: the envelope without seq (the seq is
// the key's; withSeq adds it back).
func (e *Envelope) appendStored(b []byte) []byte {
	return e.appendFields(append(b, '{'), true)
}

func (e *Envelope) appendFields(b []byte, first bool) []byte {
	b = appendIDField(b, "id", e.ID, first)
	b = appendStrField(b, "conv", e.Conv, false)
	b = appendStrField(b, "from", e.From, false)
	if e.To != "" {
		b = appendStrField(b, "to", e.To, false)
	}
	b = appendIntField(b, "ts", e.TS, false)
	if e.CID != "" {
		b = appendStrField(b, "cid", e.CID, false)
	}
	b = appendStrField(b, "type", e.Type, false)
	if e.Body != "" {
		b = appendStrField(b, "body", e.Body, false)
	}
	b = e.appendChangeFields(b)
	if n := e.Notice; n != nil {
		b = appendKey(b, "notice", false)
		b = appendStrField(append(b, '{'), "event", n.Event, true)
		for _, f := range [...]struct{ k, v string }{{"user", n.User}, {"by", n.By}, {"name", n.Name}, {"role", n.Role}} {
			if f.v != "" {
				b = appendStrField(b, f.k, f.v, false)
			}
		}
		if len(n.Users) > 0 {
			b = append(appendKey(b, "users", false), '[')
			for i, u := range n.Users {
				if i > 0 {
					b = append(b, ',')
				}
				b = appendJSONString(b, u)
			}
			b = append(b, ']')
		}
		b = append(b, '}')
	}
	b = e.appendMentions(b)
	return append(b, '}')
}

// appendChangeFields appends the fields of edits, recalls and reactions.
func (e *Envelope) appendChangeFields(b []byte) []byte {
	if e.Target != 0 {
		b = appendUintField(b, "target", e.Target, false)
	}
	if e.Emoji != "" {
		b = appendStrField(b, "emoji", e.Emoji, false)
	}
	if e.Remove {
		b = appendBoolField(b, "remove", true, false)
	}
	if e.EditedTS != 0 {
		b = appendIntField(b, "edited_ts", e.EditedTS, false)
	}
	if e.Recalled {
		b = appendBoolField(b, "recalled", true, false)
	}
	return b
}

// storedPrefix is how every stored message starts.
var storedPrefix = []byte(`{"id":`)

// withSeq turns a stored message into the delivered envelope by inserting the
// seq as the first field: {"seq":N,"id":...}.
func withSeq(b, stored []byte, seq uint64) ([]byte, error) {
	if !bytes.HasPrefix(stored, storedPrefix) {
		return b, fmt.Errorf("%w: stored message %d does not start with %s", ErrStorage, seq, storedPrefix)
	}
	b = append(b, `{"seq":`...)
	b = strconv.AppendUint(b, seq, 10)
	b = append(b, ',')
	return append(b, stored[1:]...), nil
}

// envelopeWire is the JSON shape of an Envelope, for decoding.
type envelopeWire struct {
	Seq    uint64  `json:"seq"`
	ID     string  `json:"id"`
	Conv   string  `json:"conv"`
	From   string  `json:"from"`
	To     string  `json:"to"`
	TS     int64   `json:"ts"`
	CID    string  `json:"cid"`
	Type   string  `json:"type"`
	Body   string  `json:"body"`
	Notice *Notice `json:"notice"`

	Mentions json.RawMessage `json:"mentions"`
	Target   uint64          `json:"target"`
	EditedTS int64           `json:"edited_ts"`
	Recalled bool            `json:"recalled"`
	Emoji    string          `json:"emoji"`
	Remove   bool            `json:"remove"`
}

// DecodeEnvelope decodes a delivered envelope (or a stored one, whose Seq is
// then 0). It fails with ErrBadPayload on anything else; it never panics.
func DecodeEnvelope(data []byte) (Envelope, error) {
	var w envelopeWire
	if err := json.Unmarshal(data, &w); err != nil {
		return Envelope{}, fmt.Errorf("%w: envelope: %v", ErrBadPayload, err)
	}
	id, err := strconv.ParseUint(w.ID, 10, 64)
	if err != nil {
		return Envelope{}, fmt.Errorf("%w: envelope id %q", ErrBadPayload, clip(w.ID))
	}
	if w.Type == "" {
		return Envelope{}, fmt.Errorf("%w: envelope without type", ErrBadPayload)
	}
	if w.Notice != nil && w.Notice.Event == "" {
		return Envelope{}, fmt.Errorf("%w: notice without event", ErrBadPayload)
	}
	mentions, all, err := decodeMentions(w.Mentions)
	if err != nil {
		return Envelope{}, fmt.Errorf("envelope: %w", err)
	}
	return Envelope{ID: id, Conv: w.Conv, Seq: w.Seq, From: w.From, To: w.To, TS: w.TS,
		CID: w.CID, Type: w.Type, Body: w.Body, Notice: w.Notice, Mentions: mentions, MentionAll: all,
		Target: w.Target, EditedTS: w.EditedTS, Recalled: w.Recalled, Emoji: w.Emoji, Remove: w.Remove}, nil
}
