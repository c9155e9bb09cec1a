package imqtt

import (
	"fmt"
	"net/url"
	"time"
)

// Config configures a Client. URL and User are required, and Password or
// Token; the rest has defaults (DefaultConfig).
type Config struct {
	URL      string // mqtt://host:port, mqtts://, tcp://, tls://, ws://, wss://
	User     string
	Password string
	// Token is a JWT minted by the admin API (docs/admin-api.md "Tokens"):
	// it is sent as the MQTT password, with User as the user name.
	Token string
	// ClientID is the device's MQTT client id. Empty: the one kept in the
	// Store (meta "client_id"), generated and stored on first use, so a
	// device keeps one persistent session.
	ClientID string
	// Protocol is 5 (MQTT 5, the default) or 4 (MQTT 3.1.1).
	Protocol int
	// Store keeps the outbox, cursors and client id. Default: NewMemoryStore().
	Store Store
	// ReconnectMin and ReconnectMax bound the reconnect backoff: attempt n
	// waits a random time in [0, min(ReconnectMax, ReconnectMin·2^(n-1))]
	// (exponential backoff, full jitter). Defaults 500 ms and 30 s.
	ReconnectMin, ReconnectMax time.Duration
	// Timeout bounds Connect and every rpc (not sends). Default 10 s.
	Timeout time.Duration
	// AutoSync runs sync on every (re)connect. Default true; set
	// NoAutoSync to turn it off.
	NoAutoSync bool
	// KeepAlive in seconds (default 30; 0 in Config means the default, use
	// a negative value to turn keep-alive off).
	KeepAlive int
	// SessionExpiry is how long the broker keeps the device's session when
	// it is offline (MQTT 5). Default 24 h.
	SessionExpiry time.Duration

	// Handlers, called one at a time, in order, from one goroutine the
	// Client owns. A handler may call Client methods (Send, RPCs), but a
	// slow handler delays every later event.
	OnMessage    func(Message)      // messages, notices, edit/recall/reaction events: once, in seq order per conversation
	OnAck        func(Ack)          // every ack of this device's sends (ok or refused)
	OnReceipt    func(Receipt)      // cursor moves
	OnPresence   func(Presence)     // users watched with WatchPresence
	OnTyping     func(Typing)       // typing events
	OnNotify     func(Notification) // admin notifications (own and im/notify/all)
	OnPrefs      func(Prefs)        // settings and block events
	OnProfile    func(Profile)      // profile events
	OnConnection func(Connection)   // connected, disconnected, reconnecting
	OnError      func(error)        // errors with no caller to return them to (a bad payload, a failed store write, a failed auto sync)
}

// Defaults of Config.
const (
	DefaultReconnectMin  = 500 * time.Millisecond
	DefaultReconnectMax  = 30 * time.Second
	DefaultTimeout       = 10 * time.Second
	DefaultKeepAlive     = 30
	DefaultSessionExpiry = 24 * time.Hour
)

// DefaultConfig returns a Config with the defaults set and no URL or user.
func DefaultConfig() Config {
	return Config{Protocol: 5, ReconnectMin: DefaultReconnectMin, ReconnectMax: DefaultReconnectMax,
		Timeout: DefaultTimeout, KeepAlive: DefaultKeepAlive, SessionExpiry: DefaultSessionExpiry}
}

// withDefaults returns c with the zero fields set to their defaults.
func (c Config) withDefaults() Config {
	d := DefaultConfig()
	if c.Protocol == 0 {
		c.Protocol = d.Protocol
	}
	if c.ReconnectMin == 0 {
		c.ReconnectMin = d.ReconnectMin
	}
	if c.ReconnectMax == 0 {
		c.ReconnectMax = d.ReconnectMax
	}
	if c.Timeout == 0 {
		c.Timeout = d.Timeout
	}
	if c.KeepAlive == 0 {
		c.KeepAlive = d.KeepAlive
	}
	if c.KeepAlive < 0 {
		c.KeepAlive = 0
	}
	if c.SessionExpiry == 0 {
		c.SessionExpiry = d.SessionExpiry
	}
	if c.Store == nil {
		c.Store = NewMemoryStore()
	}
	return c
}

// Validate checks c (after defaults); errors wrap ErrInvalidConfig and name
// the field.
func (c Config) Validate() error {
	bad := func(field string, v any, why string) error {
		return fmt.Errorf("%w: %s %v: %s", ErrInvalidConfig, field, v, why)
	}
	u, err := url.Parse(c.URL)
	if err != nil || u.Host == "" {
		return bad("URL", c.URL, "want scheme://host:port")
	}
	switch u.Scheme {
	case "mqtt", "tcp", "mqtts", "tls", "ssl", "ws", "wss":
	default:
		return bad("URL", c.URL, "scheme must be mqtt, mqtts, tcp, tls, ws or wss")
	}
	if !validName(c.User) {
		return bad("User", c.User, "1..64 of [A-Za-z0-9_.@-]")
	}
	if c.Password == "" && c.Token == "" {
		return bad("Password", "", "Password or Token is required")
	}
	if c.Protocol != 4 && c.Protocol != 5 {
		return bad("Protocol", c.Protocol, "4 (MQTT 3.1.1) or 5")
	}
	if c.ReconnectMin < 0 || c.ReconnectMax < c.ReconnectMin {
		return bad("ReconnectMax", c.ReconnectMax, "must be ≥ ReconnectMin ≥ 0")
	}
	if c.Timeout < 0 {
		return bad("Timeout", c.Timeout, "must be > 0")
	}
	return nil
}

// validName reports whether s is a valid imqtt user name.
func validName(s string) bool {
	if len(s) < 1 || len(s) > 64 {
		return false
	}
	for _, r := range s {
		ok := r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' ||
			r == '_' || r == '.' || r == '@' || r == '-'
		if !ok {
			return false
		}
	}
	return true
}

// password is what goes in the CONNECT password field.
func (c Config) password() string {
	if c.Token != "" {
		return c.Token
	}
	return c.Password
}
