package broker

import (
	"fmt"
	"math"
	"net"
	"strconv"
	"strings"
	"time"

	"path/filepath"

	"github.com/imqtt/imqtt/broker/admin"
	"github.com/imqtt/imqtt/broker/engine/transport"
	"github.com/imqtt/imqtt/broker/listen"
	"github.com/imqtt/imqtt/cluster"
	"github.com/imqtt/imqtt/hooks/acl"
	"github.com/imqtt/imqtt/hooks/auth"
	"github.com/imqtt/imqtt/hooks/limits"
	"github.com/imqtt/imqtt/hooks/session"
	"github.com/imqtt/imqtt/hooks/storage"
	"github.com/imqtt/imqtt/persist"
	"github.com/imqtt/imqtt/tokens"
)

// Config is the whole configuration of one node. cmd/imqttd decodes it from YAML,
// flags and IMQTT_* environment variables; every field has a yaml key and the
// documented example is configs/imqttd.yaml.
type Config struct {
	// Version is the build version (set by cmd, not from YAML), reported by the admin API.
	Version   string          `yaml:"-"`
	Node      NodeConfig      `yaml:"node"`
	Log       LogConfig       `yaml:"log"`
	Listeners ListenersConfig `yaml:"listeners"`
	Limits    LimitsConfig    `yaml:"limits"`
	MQTT      MQTTConfig      `yaml:"mqtt"`
	Auth      auth.Config     `yaml:"auth"`
	ACL       acl.Config      `yaml:"acl"`
	Admin     AdminConfig     `yaml:"admin"`
	// Cluster is the raft node. Its node_id and data_dir default to node.id and
	// node.data_dir (raft files under <data_dir>/raft) and may only repeat them.
	Cluster cluster.Config `yaml:"cluster"`
	// Storage is the durable session layer (hooks/storage); Enabled switches it on.
	Storage StorageConfig `yaml:"storage"`
	// Retained bounds each user's retained messages (hooks/storage retained.go).
	Retained storage.RetainedConfig `yaml:"retained"`
	// Store is the Badger state store. Its dir defaults to <node.data_dir>/fsm.
	Store persist.Config `yaml:"persist"`
	// IM is the IM server on the im/ topic tree (docs/protocol.md).
	IM IMConfig `yaml:"im"`
	// Tokens are the access tokens the admin API mints for app backends
	// (tokens/, docs/operations.md "Tokens for app backends").
	Tokens tokens.Config `yaml:"tokens"`
	// Session decides who may use a session and how many one user holds
	// (hooks/session).
	Session session.Config `yaml:"session"`
}

// NodeConfig identifies the node and its data directory.
type NodeConfig struct {
	ID      string `yaml:"id"`
	DataDir string `yaml:"data_dir"`
	// Number is the node's 10-bit number in IM message ids (0..1023); -1
	// derives it from ID. Nodes of one cluster must have distinct numbers.
	Number int `yaml:"number"`
}

// LogConfig selects the log level and format.
type LogConfig struct {
	Level  string `yaml:"level"`  // trace|debug|info|warn|error
	Format string `yaml:"format"` // auto (console on a terminal, else json)|json|console
}

// StorageConfig switches the durable session layer and holds its settings.
type StorageConfig struct {
	Enabled        bool `yaml:"enabled"`
	storage.Config `yaml:",inline"`
}

// ListenersConfig holds the four MQTT listeners; each is off unless enabled.
type ListenersConfig struct {
	TCP ListenerConfig `yaml:"tcp"`
	TLS ListenerConfig `yaml:"tls"`
	WS  ListenerConfig `yaml:"ws"`
	WSS ListenerConfig `yaml:"wss"`
}

// All returns the listeners by name (tcp, tls, ws, wss), names filled in.
func (l *ListenersConfig) All() map[string]ListenerConfig {
	m := map[string]ListenerConfig{"tcp": l.TCP, "tls": l.TLS, "ws": l.WS, "wss": l.WSS}
	for name, c := range m {
		c.Name = name
		m[name] = c
	}
	return m
}

// ListenerConfig is one MQTT listener.
type ListenerConfig struct {
	Enabled       bool `yaml:"enabled"`
	listen.Config `yaml:",inline"`
}

// AdminConfig is the admin HTTP listener (metrics, health, admin API).
type AdminConfig struct {
	Enabled bool `yaml:"enabled"`
	// Pprof mounts Go's profiler under /debug/pprof/ (behind the admin token).
	Pprof        bool `yaml:"pprof"`
	admin.Config `yaml:",inline"`
}

// LimitsConfig groups the limits that are on by default.
type LimitsConfig struct {
	listen.Limits `yaml:",inline"`
	limits.Config `yaml:",inline"`
	// FlowConfig is the engine's back-pressure: slow_subscriber_wait, max_queued_bytes.
	FlowConfig limits.FlowConfig `yaml:",inline"`
	// SessionLimits: max_subscriptions_per_client (hooks/session).
	SessionLimits session.Limits `yaml:",inline"`
	// Levels bounds topic depth: max_topic_levels (engine bounds.go).
	Levels limits.LevelsConfig `yaml:",inline"`
	// MaxPacketSize is the largest MQTT packet accepted, in bytes [MQTT-3.2.2-15].
	MaxPacketSize uint32 `yaml:"max_packet_size"`
	// ReceiveMaximum is the number of unacknowledged QoS 1/2 PUBLISHes a client may
	// have in flight towards the server; more gets DISCONNECT 0x93.
	ReceiveMaximum uint16 `yaml:"receive_maximum"`
	// MaxInflight caps QoS 1/2 messages in flight towards one client.
	MaxInflight uint16 `yaml:"max_inflight"`
	// MaxQueuedWrites was the packet cap of mochi's outbound queue; the engine
	// bounds a client's pending bytes (max_queued_bytes) instead. The key is
	// still accepted and validated, and otherwise ignored.
	MaxQueuedWrites int32 `yaml:"max_queued_writes"`
}

// MQTTConfig holds protocol features and expiry policy.
type MQTTConfig struct {
	// Engine names the MQTT engine: "native" (imqtt's own, the default and
	// the only one; "" means the same). "mochi" is refused: mochi's Server
	// path was removed in issue 17.
	Engine                  string        `yaml:"engine"`
	MaxQoS                  byte          `yaml:"max_qos"`
	RetainAvailable         bool          `yaml:"retain_available"`
	WildcardSubscriptions   bool          `yaml:"wildcard_subscriptions"`
	SharedSubscriptions     bool          `yaml:"shared_subscriptions"`
	SubscriptionIdentifiers bool          `yaml:"subscription_identifiers"`
	TopicAliasMaximum       uint16        `yaml:"topic_alias_maximum"`
	MaxSessionExpiry        time.Duration `yaml:"max_session_expiry"`
	// MaxMessageExpiry caps the Message Expiry Interval; 0 means messages without
	// one never expire (mochi's default stamps 24 h on every message: we do not).
	MaxMessageExpiry time.Duration `yaml:"max_message_expiry"`
	// SysInterval is the $SYS topic publish interval.
	SysInterval time.Duration `yaml:"sys_interval"`
	// ObscureNotAuthorized answers a forbidden SUBSCRIBE with 0x80 (unspecified)
	// instead of 0x87 (not authorized), hiding which topics exist. The Paho suite's
	// v5 test_subscribe_failure expects 0x80.
	ObscureNotAuthorized bool `yaml:"obscure_not_authorized"`
	// OutboundTopicAliasMaximum caps the topic aliases the native engine
	// assigns per connection to a v5 client that allows them; 0 = none.
	OutboundTopicAliasMaximum uint16 `yaml:"outbound_topic_alias_maximum"`
	// Poller is how the engine waits for idle connections' input: "epoll"
	// (a few epoll goroutines, none per connection; Linux only, the default
	// there) or "goroutine" (one reader goroutine per connection); "" = the
	// platform default (transport.Config.Poller).
	Poller string `yaml:"poller"`
}

// DefaultConfig returns the secure base that a config file is applied on top of:
// loopback listeners, anonymous access off, deny-all ACL, limits on.
func DefaultConfig() Config {
	tcp := listen.Config{Kind: "tcp", Address: "127.0.0.1:1883"}
	tlsL := listen.Config{Kind: "tls", Address: "127.0.0.1:8883"}
	ws := listen.Config{Kind: "ws", Address: "127.0.0.1:8083", Path: "/mqtt"}
	wss := listen.Config{Kind: "wss", Address: "127.0.0.1:8084", Path: "/mqtt"}
	return Config{
		Node: NodeConfig{ID: "n1", DataDir: "./data", Number: -1},
		Log:  LogConfig{Level: "info", Format: "auto"},
		Listeners: ListenersConfig{
			TCP: ListenerConfig{Enabled: true, Config: tcp},
			TLS: ListenerConfig{Enabled: false, Config: tlsL},
			WS:  ListenerConfig{Enabled: true, Config: ws},
			WSS: ListenerConfig{Enabled: false, Config: wss},
		},
		Limits: LimitsConfig{
			Limits:          listen.DefaultLimits(),
			Config:          limits.DefaultConfig(),
			FlowConfig:      limits.DefaultFlowConfig(),
			SessionLimits:   session.DefaultLimits(),
			Levels:          limits.DefaultLevelsConfig(),
			MaxPacketSize:   1 << 20,
			ReceiveMaximum:  1024,
			MaxInflight:     8192,
			MaxQueuedWrites: 8192,
		},
		MQTT: MQTTConfig{
			Engine:                  EngineNative,
			MaxQoS:                  2,
			RetainAvailable:         true,
			WildcardSubscriptions:   true,
			SharedSubscriptions:     true,
			SubscriptionIdentifiers: true,
			TopicAliasMaximum:       65535,
			MaxSessionExpiry:        7 * 24 * time.Hour,
			MaxMessageExpiry:        0,
			SysInterval:             10 * time.Second,

			OutboundTopicAliasMaximum: 64,
		},
		Auth:     auth.DefaultConfig(),
		ACL:      acl.DefaultConfig(),
		Admin:    AdminConfig{Enabled: true, Config: admin.DefaultConfig()},
		Cluster:  defaultCluster(),
		Storage:  StorageConfig{Enabled: true, Config: storage.DefaultConfig()},
		Retained: storage.DefaultRetainedConfig(),
		Store:    defaultStore(),
		IM:       DefaultIMConfig(),
		Session:  session.DefaultConfig(),
		Tokens:   tokens.DefaultConfig(),
	}
}

func defaultCluster() cluster.Config {
	c := cluster.DefaultConfig()
	c.NodeID, c.DataDir = "", "" // derived from node.id and node.data_dir
	return c
}

func defaultStore() persist.Config {
	c := persist.DefaultConfig()
	c.Dir = "" // derived from node.data_dir
	return c
}

// clusterConfig returns the raft config with the node's id and directory filled in.
func (c *Config) clusterConfig() cluster.Config {
	r := c.Cluster
	if r.NodeID == "" {
		r.NodeID = c.Node.ID
	}
	if r.DataDir == "" {
		r.DataDir = c.Node.DataDir
	}
	return r
}

// storeConfig returns the store config with its directory filled in.
func (c *Config) storeConfig() persist.Config {
	s := c.Store
	if s.Dir == "" && !s.InMemory {
		s.Dir = filepath.Join(c.Node.DataDir, "fsm")
	}
	return s
}

// AdminTokenFile is the name, in node.data_dir, of the admin token the node
// generates when admin.require_token is on and no token is configured.
const AdminTokenFile = "admin.token"

// adminConfig returns the admin listener config with the generated token's
// path (absolute, for the start-up log and imqttd ctl) filled in.
func (c *Config) adminConfig() admin.Config {
	a := c.Admin.Config
	a.GeneratedTokenFile = filepath.Join(c.Node.DataDir, AdminTokenFile)
	if abs, err := filepath.Abs(a.GeneratedTokenFile); err == nil {
		a.GeneratedTokenFile = abs
	}
	return a
}

// EmbeddedRules is the ACL of the embedded default: anonymous clients (which it only
// admits on loopback listeners) may publish and subscribe anywhere outside $SYS and
// read $SYS, as mosquitto 2 does on its local-only default listener.
var embeddedRules = []string{
	"topic readwrite #",
	"topic read $SYS/#",
}

// EmbeddedConfig is what `imqttd serve` runs without a config file (`make run`):
// DefaultConfig plus anonymous access, which is only honoured on loopback listeners.
func EmbeddedConfig() Config {
	c := DefaultConfig()
	c.Auth.AllowAnonymous = true
	c.ACL.Rules = append([]string(nil), embeddedRules...)
	return c
}

// Validate checks every field and cross-field rule; errors name the key path.
func (c *Config) Validate() error {
	if c.Node.ID == "" || strings.ContainsAny(c.Node.ID, " /\\\x00") {
		return invalid("node.id", c.Node.ID, "must be non-empty without spaces or slashes")
	}
	if c.Node.DataDir == "" {
		return invalid("node.data_dir", c.Node.DataDir, "must be set")
	}
	if c.Node.Number < -1 || c.Node.Number > 1023 {
		return invalid("node.number", strconv.Itoa(c.Node.Number), "must be -1 (derived from node.id) or 0..1023")
	}
	if err := c.IM.Validate(); err != nil {
		return err
	}
	if err := c.Tokens.Validate(); err != nil {
		return err
	}
	switch strings.ToLower(c.Log.Level) {
	case "trace", "debug", "info", "warn", "error":
	default:
		return invalid("log.level", c.Log.Level, "must be one of trace, debug, info, warn, error")
	}
	switch c.Log.Format {
	case "auto", "json", "console":
	default:
		return invalid("log.format", c.Log.Format, "must be auto, json or console")
	}
	enabled := 0
	addrs := map[string]string{}
	all := c.Listeners.All()
	for _, name := range c.ListenerNames() {
		l := all[name]
		if !l.Enabled {
			continue
		}
		enabled++
		if err := l.Config.Validate(); err != nil {
			return fmt.Errorf("listeners.%s: %w", name, err)
		}
		if other, dup := addrs[l.Address]; dup && !strings.HasSuffix(l.Address, ":0") {
			return invalid("listeners."+name+".address", l.Address, "already used by listeners."+other)
		}
		addrs[l.Address] = name
	}
	if enabled == 0 {
		return invalid("listeners", "", "at least one listener must be enabled")
	}
	if err := c.Limits.Limits.Validate(); err != nil {
		return fmt.Errorf("limits: %w", err)
	}
	if err := c.Limits.Config.Validate(); err != nil {
		return fmt.Errorf("limits: %w", err)
	}
	if err := c.Limits.FlowConfig.Validate(); err != nil {
		return fmt.Errorf("limits: %w", err)
	}
	if err := c.Limits.SessionLimits.Validate(); err != nil {
		return err
	}
	if err := c.Session.Validate(); err != nil {
		return err
	}
	if err := c.Limits.Levels.Validate(); err != nil {
		return fmt.Errorf("limits: %w", err)
	}
	if c.Limits.MaxPacketSize < 64 || c.Limits.MaxPacketSize > 256<<20 {
		return invalid("limits.max_packet_size", c.Limits.MaxPacketSize, "must be between 64 and 268435456 bytes")
	}
	if int(c.Limits.MaxFirstPacket) > int(c.Limits.MaxPacketSize) {
		return invalid("limits.max_first_packet", c.Limits.MaxFirstPacket, "must not exceed limits.max_packet_size")
	}
	if c.Limits.ReceiveMaximum == 0 {
		return invalid("limits.receive_maximum", c.Limits.ReceiveMaximum, "must be 1..65535")
	}
	if c.Limits.MaxInflight == 0 {
		return invalid("limits.max_inflight", c.Limits.MaxInflight, "must be 1..65535")
	}
	if c.Limits.MaxQueuedWrites <= 0 {
		return invalid("limits.max_queued_writes", c.Limits.MaxQueuedWrites, "must be positive")
	}
	switch c.MQTT.Engine {
	case EngineNative, "":
	case engineMochi:
		return invalid("mqtt.engine", c.MQTT.Engine, "the mochi path was removed in issue 17; remove mqtt.engine or set it to "+EngineNative)
	default:
		return invalid("mqtt.engine", c.MQTT.Engine, "must be "+EngineNative)
	}
	if p := c.MQTT.Poller; p != "" && p != transport.PollerEpoll && p != transport.PollerGoroutine {
		return invalid("mqtt.poller", p, "must be "+transport.PollerEpoll+" or "+transport.PollerGoroutine)
	}
	if c.MQTT.MaxQoS > 2 {
		return invalid("mqtt.max_qos", c.MQTT.MaxQoS, "must be 0, 1 or 2")
	}
	if c.MQTT.MaxSessionExpiry < 0 || c.MQTT.MaxSessionExpiry > math.MaxUint32*time.Second || c.MQTT.MaxSessionExpiry%time.Second != 0 {
		return invalid("mqtt.max_session_expiry", c.MQTT.MaxSessionExpiry, "must be whole seconds, 0..4294967295s")
	}
	if c.MQTT.MaxMessageExpiry < 0 || c.MQTT.MaxMessageExpiry%time.Second != 0 {
		return invalid("mqtt.max_message_expiry", c.MQTT.MaxMessageExpiry, "must be whole seconds, 0 = no cap")
	}
	if c.MQTT.SysInterval < time.Second || c.MQTT.SysInterval%time.Second != 0 {
		return invalid("mqtt.sys_interval", c.MQTT.SysInterval, "must be whole seconds, at least 1s")
	}
	if err := c.Auth.Validate(); err != nil {
		return fmt.Errorf("auth: %w", err)
	}
	if err := c.ACL.Validate(); err != nil {
		return fmt.Errorf("acl: %w", err)
	}
	if c.Admin.Enabled {
		if err := c.Admin.Config.Validate(); err != nil {
			return fmt.Errorf("admin: %w", err)
		}
	}
	if c.Cluster.NodeID != "" && c.Cluster.NodeID != c.Node.ID {
		return invalid("cluster.node_id", c.Cluster.NodeID, "must be empty or equal node.id")
	}
	if err := c.clusterConfig().Validate(); err != nil {
		return err // names cluster.<key> itself
	}
	if c.Storage.Enabled {
		if err := c.Storage.Config.Validate(); err != nil {
			return err // names storage.<key>
		}
	}
	if err := c.Retained.Validate(); err != nil {
		return err // names retained.<key>
	}
	if err := c.storeConfig().Validate(); err != nil {
		return err // names persist.<key>
	}
	return nil
}

// ListenerNames returns the listener names in a fixed order.
func (c *Config) ListenerNames() []string {
	return []string{"tcp", "tls", "ws", "wss"}
}

// IsLoopbackAddress reports whether a listen address binds only loopback
// interfaces (127.0.0.0/8, ::1 or "localhost"). An empty host (all interfaces) is not.
func IsLoopbackAddress(addr string) bool {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return false
	}
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

func invalid(path string, value any, why string) error {
	return fmt.Errorf("%s: %v: %s: %w", path, value, why, ErrInvalidConfig)
}
