package im

import (
	"bytes"
	"encoding/json"
	"fmt"
	"unicode/utf8"
)

// Upstream payloads are JSON objects (docs/protocol.md). Unknown fields are
// ignored (forward compatibility); every field is checked here, before any
// state is read, so handlers see only valid requests.

const (
	maxCIDLen  = 128 // client message id, bytes
	maxRIDLen  = 128 // rpc request id, bytes
	maxTypeLen = 32
)

// sendPayload is the body of im/send/user/{to} and im/send/group/{group}.
type sendPayload struct {
	CID     string `json:"cid"`
	Type    string `json:"type"`
	Body    string `json:"body"`
	ReplyTo string `json:"reply_to"`
	// Mentions: group messages only, decoded by decodeMentions (mention.go).
	Mentions json.RawMessage `json:"mentions"`
}

// receiptPayload is the body of im/receipt/{conv}.
type receiptPayload struct {
	Type string `json:"type"`
	Seq  uint64 `json:"seq"`
}

// Receipt types.
const (
	ReceiptDelivered = "delivered"
	ReceiptRead      = "read"
)

// typingPayload is the body of im/typing/{conv}.
type typingPayload struct {
	State string `json:"state"`
}

// notifyTarget says who a notification is for: exactly one field is set.
type notifyTarget struct {
	User  string `json:"user"`
	Group string `json:"group"`
	All   bool   `json:"all"`
}

// rpcRequest holds the fields of every rpc method; each method uses its own.
type rpcRequest struct {
	RID     string `json:"rid"`
	ReplyTo string `json:"reply_to"`

	Group string   `json:"group"`
	Name  string   `json:"name"`
	Open  bool     `json:"open"`
	Users []string `json:"users"`
	User  string   `json:"user"`
	Role  string   `json:"role"`

	Conv   string            `json:"conv"`
	Before uint64            `json:"before"`
	After  uint64            `json:"after"`
	Limit  int               `json:"limit"`
	Since  map[string]uint64 `json:"since"`

	To    *notifyTarget `json:"to"`
	Title string        `json:"title"`
	Body  string        `json:"body"`

	// Set: conversation.set, decoded by decodeSettingsPatch (settings.go).
	Set          json.RawMessage `json:"set"`
	changeFields                 // msg.edit, msg.recall, msg.react (change.go)
	// upload (im/media.go); Name is the file name.
	Size   int64  `json:"size"`
	MIME   string `json:"mime"`
	SHA256 string `json:"sha256"`

	// profile.set (profile.go).
	profileFields
}

// decodeObject decodes a JSON object into v, refusing anything else (arrays,
// numbers, trailing data).
func decodeObject(data []byte, v any) error {
	data = bytes.TrimSpace(data)
	if len(data) == 0 || data[0] != '{' {
		return fmt.Errorf("%w: want a JSON object", ErrBadPayload)
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	if err := dec.Decode(v); err != nil {
		return fmt.Errorf("%w: %v", ErrBadPayload, err)
	}
	if dec.More() {
		return fmt.Errorf("%w: data after the JSON object", ErrBadPayload)
	}
	return nil
}

// printable reports whether s is valid UTF-8 without control characters.
func printable(s string) bool {
	if !utf8.ValidString(s) {
		return false
	}
	for _, r := range s {
		if r < 0x20 || r == 0x7f {
			return false
		}
	}
	return true
}

// validType reports whether t is a client message type: 1..32 of [a-z0-9_.-],
// not one of the server's own types.
func validType(t string) bool {
	if len(t) == 0 || len(t) > maxTypeLen || t == TypeNotice || t == TypeNotify || isChangeType(t) {
		return false
	}
	for i := 0; i < len(t); i++ {
		c := t[i]
		if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '_' || c == '.' || c == '-') {
			return false
		}
	}
	return true
}

// decodeSend decodes and checks a send payload.
func decodeSend(data []byte, maxBody int) (sendPayload, error) {
	var p sendPayload
	if err := decodeObject(data, &p); err != nil {
		return p, err
	}
	if p.CID == "" || len(p.CID) > maxCIDLen || !printable(p.CID) {
		return p, fmt.Errorf("%w: cid must be 1..%d bytes of printable UTF-8", ErrBadPayload, maxCIDLen)
	}
	if p.Type == "" {
		p.Type = TypeText
	}
	if !validType(p.Type) {
		return p, fmt.Errorf("%w: type %q: must be 1..%d of [a-z0-9_.-], not notice, notify, edit, recall or reaction", ErrBadPayload, clip(p.Type), maxTypeLen)
	}
	if p.Body == "" {
		return p, fmt.Errorf("%w: empty body", ErrBadPayload)
	}
	if len(p.Body) > maxBody {
		return p, fmt.Errorf("%w: body of %d bytes above %d", ErrTooLarge, len(p.Body), maxBody)
	}
	return p, nil
}

// decodeReceipt decodes and checks a receipt payload.
func decodeReceipt(data []byte) (receiptPayload, error) {
	var p receiptPayload
	if err := decodeObject(data, &p); err != nil {
		return p, err
	}
	if p.Type != ReceiptDelivered && p.Type != ReceiptRead {
		return p, fmt.Errorf("%w: type %q: must be delivered or read", ErrBadPayload, clip(p.Type))
	}
	if p.Seq == 0 {
		return p, fmt.Errorf("%w: seq must be at least 1", ErrBadPayload)
	}
	return p, nil
}

// Typing states.
const (
	TypingStart = "start"
	TypingStop  = "stop"
)

// decodeTyping decodes and checks a typing payload.
func decodeTyping(data []byte) (typingPayload, error) {
	var p typingPayload
	if err := decodeObject(data, &p); err != nil {
		return p, err
	}
	if p.State != TypingStart && p.State != TypingStop {
		return p, fmt.Errorf("%w: state %q: must be start or stop", ErrBadPayload, clip(p.State))
	}
	return p, nil
}

// decodeRPC decodes an rpc request; an empty payload is an empty request.
func decodeRPC(data []byte) (rpcRequest, error) {
	var p rpcRequest
	if len(bytes.TrimSpace(data)) == 0 {
		return p, nil
	}
	if err := decodeObject(data, &p); err != nil {
		return p, err
	}
	if len(p.RID) > maxRIDLen || !printable(p.RID) {
		return p, fmt.Errorf("%w: rid must be up to %d bytes of printable UTF-8", ErrBadPayload, maxRIDLen)
	}
	if p.Limit < 0 {
		return p, fmt.Errorf("%w: limit %d < 0", ErrBadPayload, p.Limit)
	}
	return p, nil
}
