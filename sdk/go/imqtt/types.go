package imqtt

import "encoding/json"

// Message is a message envelope (docs/protocol.md "Message envelope"): a
// message, a notice, or an edit / recall / reaction event (Type).
type Message struct {
	Seq       int64           `json:"seq"`
	ID        string          `json:"id"`
	Conv      string          `json:"conv"`
	From      string          `json:"from"`
	To        string          `json:"to,omitempty"`
	TS        int64           `json:"ts"`
	CID       string          `json:"cid,omitempty"`
	Type      string          `json:"type"`
	Body      string          `json:"body,omitempty"`
	Mentions  json.RawMessage `json:"mentions,omitempty"` // ["bob"] or "all"
	Mention   bool            `json:"mention,omitempty"`
	Target    int64           `json:"target,omitempty"`
	EditedTS  int64           `json:"edited_ts,omitempty"`
	Recalled  bool            `json:"recalled,omitempty"`
	Emoji     string          `json:"emoji,omitempty"`
	Remove    bool            `json:"remove,omitempty"`
	Reactions []Reaction      `json:"reactions,omitempty"`
	Notice    *Notice         `json:"notice,omitempty"`
}

// Reaction is one reaction count of a message in a history response.
type Reaction struct {
	Emoji string `json:"emoji"`
	Count int    `json:"count"`
	Me    bool   `json:"me"`
}

// Notice is the body of a group notice (type "notice").
type Notice struct {
	Event string   `json:"event"`
	User  string   `json:"user,omitempty"`
	By    string   `json:"by,omitempty"`
	Name  string   `json:"name,omitempty"`
	Role  string   `json:"role,omitempty"`
	Users []string `json:"users,omitempty"`
}

// Ack is the server's answer to an accepted send (docs/protocol.md "Acks").
// Dup is true when the send was a re-send of a cid already stored.
type Ack struct {
	CID  string `json:"cid"`
	Conv string `json:"conv"`
	ID   string `json:"id"`
	Seq  int64  `json:"seq"`
	TS   int64  `json:"ts"`
	Dup  bool   `json:"dup,omitempty"`
	// Err is set (and the other fields but CID empty) when the server
	// refused the send. Only OnAck sees refused acks: Send returns Err.
	Err *Error `json:"-"`
}

// Receipt is a cursor move of a user (docs/protocol.md "Receipts").
type Receipt struct {
	Conv string `json:"conv"`
	User string `json:"user"`
	Type string `json:"type"` // delivered | read
	Seq  int64  `json:"seq"`
	TS   int64  `json:"ts"`
}

// Presence is a user's presence (docs/protocol.md "Presence").
type Presence struct {
	User     string `json:"user"`
	Status   string `json:"status"` // online | offline
	LastSeen int64  `json:"last_seen,omitempty"`
	TS       int64  `json:"ts"`
}

// Typing is a typing event (docs/protocol.md "Typing").
type Typing struct {
	Conv  string `json:"conv"`
	From  string `json:"from"`
	State string `json:"state"` // start | stop
	TS    int64  `json:"ts"`
}

// Notification is an admin notification (docs/protocol.md "Notifications").
type Notification struct {
	ID    string          `json:"id"`
	Type  string          `json:"type"`
	From  string          `json:"from"`
	TS    int64           `json:"ts"`
	To    json.RawMessage `json:"to"`
	Title string          `json:"title"`
	Body  string          `json:"body"`
}

// Prefs is a settings or block event on im/u/{user}/prefs.
type Prefs struct {
	Event    string          `json:"event"` // conversation | block
	Conv     string          `json:"conv,omitempty"`
	Settings json.RawMessage `json:"settings,omitempty"`
	User     string          `json:"user,omitempty"`
	Blocked  bool            `json:"blocked,omitempty"`
	TS       int64           `json:"ts"`
}

// Profile is a user's profile (docs/protocol.md "Profiles"), as an event on
// im/u/{user}/profile and in profile.get / profile.set results.
type Profile struct {
	User        string `json:"user"`
	DisplayName string `json:"display_name,omitempty"`
	Avatar      string `json:"avatar,omitempty"`
	Status      string `json:"status,omitempty"`
	Updated     int64  `json:"updated,omitempty"`
}

// ConnState is the state reported by OnConnection.
type ConnState string

// Connection states.
const (
	StateConnected    ConnState = "connected"
	StateDisconnected ConnState = "disconnected"
	StateReconnecting ConnState = "reconnecting"
	// StateFailed: a reconnect was refused for good (a permanent CONNACK
	// refusal, e.g. 0x86 for a revoked token): the Client stopped
	// retrying and closed itself; Err is the *Error.
	StateFailed ConnState = "failed"
)

// Connection is a connection state change. Err is why the connection went
// down or failed (nil on a clean Close or a connect).
type Connection struct {
	State ConnState
	Err   error
}

// Target is whom a message goes to: User(name) or Group(id).
type Target struct {
	kind, id string
}

// User addresses a direct message to user name.
func User(name string) Target { return Target{kind: "user", id: name} }

// Group addresses a message to the group id.
func Group(id string) Target { return Target{kind: "group", id: id} }

// topic is the send topic of t.
func (t Target) topic() string { return "im/send/" + t.kind + "/" + t.id }

// String returns "user:bob" or "group:123".
func (t Target) String() string { return t.kind + ":" + t.id }

// SendOptions are the optional fields of a send.
type SendOptions struct {
	Type     string   // default "text"
	Mentions []string // group messages; ["all"] mentions everyone (admins only)
	CID      string   // default: a fresh random cid
}
