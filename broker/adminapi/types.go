package adminapi

import "time"

// The JSON bodies of the API. `imqttd ctl` decodes the same types. Times are
// RFC 3339 in UTC; absent optional values are omitted.

// Health is GET /api/v1/health.
type Health struct {
	// Status is "ok" when the node serves clients, "not_ready" otherwise.
	Status string `json:"status"`
	// Reason says why the node is not ready.
	Reason string `json:"reason,omitempty"`
	NodeID string `json:"node_id"`
	// Clients is the number of connected clients on this node.
	Clients int `json:"clients"`
}

// Client is one connected client (GET /api/v1/clients).
type Client struct {
	ClientID string `json:"client_id"`
	// User is the authenticated identity ("" for anonymous).
	User     string `json:"user"`
	Listener string `json:"listener"`
	Remote   string `json:"remote"`
	// ProtocolVersion is 3 (MQTT 3.1), 4 (3.1.1) or 5.
	ProtocolVersion byte `json:"protocol_version"`
	// Keepalive is the keepalive in force, in seconds.
	Keepalive uint16 `json:"keepalive"`
	// Clean is Clean Session (3.1.1) or Clean Start (5) of the CONNECT.
	Clean bool `json:"clean"`
	// SessionExpiry is the MQTT 5 Session Expiry Interval in seconds.
	SessionExpiry *uint32 `json:"session_expiry,omitempty"`
	// Persistent is true when the session outlives the connection and is kept
	// in the durable store.
	Persistent bool `json:"persistent"`
	// ConnectedAt is when the CONNACK was written.
	ConnectedAt       *time.Time `json:"connected_at,omitempty"`
	SubscriptionCount int        `json:"subscription_count"`
	// Inflight counts QoS 1/2 messages in the engine's in-flight window.
	Inflight int `json:"inflight"`
	// Queued and QueuedBytes are the durable queue of a persistent session.
	Queued      int   `json:"queued"`
	QueuedBytes int64 `json:"queued_bytes"`
}

// ClientDetail is GET /api/v1/clients/{id}.
type ClientDetail struct {
	Client
	Subscriptions []Subscription `json:"subscriptions"`
	// WillTopic is the topic of the client's will (the payload is not shown).
	WillTopic string `json:"will_topic,omitempty"`
}

// Subscription is one subscription. ClientID is set in GET
// /api/v1/subscriptions, empty inside a client or session.
type Subscription struct {
	ClientID          string `json:"client_id,omitempty"`
	Filter            string `json:"filter"`
	QoS               byte   `json:"qos"`
	NoLocal           bool   `json:"no_local,omitempty"`
	RetainAsPublished bool   `json:"retain_as_published,omitempty"`
	RetainHandling    byte   `json:"retain_handling,omitempty"`
	Identifier        int    `json:"identifier,omitempty"`
	// Online tells, in GET /api/v1/subscriptions only, whether the client is
	// connected (false: an offline persistent session).
	Online *bool `json:"online,omitempty"`
}

// Session is one durable session (GET /api/v1/sessions).
type Session struct {
	ClientID        string `json:"client_id"`
	User            string `json:"user"`
	ProtocolVersion byte   `json:"protocol_version"`
	// Online is true when the client is connected to this node now.
	Online bool `json:"online"`
	// SessionExpiry is the expiry in seconds after disconnect; absent = never.
	SessionExpiry *uint32 `json:"session_expiry,omitempty"`
	// DisconnectedAt is when the client last disconnected; absent while connected.
	DisconnectedAt *time.Time `json:"disconnected_at,omitempty"`
	// ExpiresAt is when the session will be deleted unless the client returns.
	ExpiresAt *time.Time `json:"expires_at,omitempty"`
	// NodeID is the node the client is (or was last) connected to, if recorded.
	NodeID            string `json:"node_id,omitempty"`
	SubscriptionCount int    `json:"subscription_count"`
	Queued            int    `json:"queued"`
	QueuedBytes       int64  `json:"queued_bytes"`
}

// SessionDetail is GET /api/v1/sessions/{id}.
type SessionDetail struct {
	Session
	Subscriptions []Subscription `json:"subscriptions"`
	// Inflight counts stored in-flight records (QoS 2 in its PUBREL phase).
	Inflight  int    `json:"inflight"`
	WillTopic string `json:"will_topic,omitempty"`
}

// Retained is one retained message (GET /api/v1/retained).
type Retained struct {
	Topic string `json:"topic"`
	QoS   byte   `json:"qos"`
	// Payload is base64 in JSON; PayloadSize is its length in bytes.
	Payload     []byte     `json:"payload"`
	PayloadSize int        `json:"payload_size"`
	Created     *time.Time `json:"created,omitempty"`
	// Expires is when the message expires (MQTT 5 Message Expiry).
	Expires *time.Time `json:"expires,omitempty"`
}

// Deleted is the answer of the DELETE endpoints.
type Deleted struct {
	// Deleted names what was removed: the client id or the topic.
	Deleted string `json:"deleted"`
}

// Kicked is the answer of DELETE /api/v1/clients/{id}.
type Kicked struct {
	ClientID string `json:"client_id"`
	// Reason is the DISCONNECT reason code sent to an MQTT 5 client (0x98,
	// administrative action); a 3.1.1 client, which has no server DISCONNECT,
	// is closed without one ("" then).
	Reason string `json:"reason,omitempty"`
}

// Reload statuses of a ReloadPart.
const (
	ReloadOK     = "reloaded"
	ReloadFailed = "failed"
)

// ReloadPart is the outcome of reloading one part.
type ReloadPart struct {
	// Part is auth, acl, im or tls.
	Part string `json:"part"`
	// Listener names the listener of a tls part.
	Listener string `json:"listener,omitempty"`
	// Status is ReloadOK or ReloadFailed (the part keeps its previous state).
	Status string `json:"status"`
	// Changed is true when a file of the part differs from the one loaded
	// before (by content): the reload changed something.
	Changed bool `json:"changed"`
	// Files are the files the part reads.
	Files []string `json:"files,omitempty"`
	// Error is why the part failed.
	Error string `json:"error,omitempty"`
}

// ReloadReport is POST /api/v1/reload: one entry per reloadable part.
type ReloadReport struct {
	Parts []ReloadPart `json:"parts"`
}

// Failed returns the parts that failed.
func (r ReloadReport) Failed() []ReloadPart {
	var out []ReloadPart
	for _, p := range r.Parts {
		if p.Status != ReloadOK {
			out = append(out, p)
		}
	}
	return out
}

// ReloadError is the body of a failed reload (422): the usual error object
// plus every part's outcome.
type ReloadError struct {
	Error ErrorDetail  `json:"error"`
	Parts []ReloadPart `json:"parts"`
}

// ErrorDetail is the inner object of every error body.
type ErrorDetail struct {
	Code    string `json:"code"`
	Message string `json:"message"`
}

// ErrorBody is every error answer: {"error":{"code":"...","message":"..."}}.
type ErrorBody struct {
	Error ErrorDetail `json:"error"`
}
