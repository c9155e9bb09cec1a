package listen

import (
	"math"
	"time"
)

// Limits are the connection limits a Guard enforces for every listener of a broker.
// They bite before the engine sees a connection: at accept time (counts and rates), on
// the first bytes of the stream (timeout, first packet) and on every later
// packet header (size).
type Limits struct {
	// ConnectTimeout bounds the time from accept to a complete CONNECT packet,
	// including the TLS handshake and the WebSocket upgrade. A socket that has not
	// delivered its CONNECT by then is closed (reason connect_timeout).
	ConnectTimeout time.Duration `yaml:"connect_timeout"`
	// MaxFirstPacket is the largest remaining length the first packet (CONNECT)
	// may announce, in bytes; more closes the socket before anything is allocated.
	MaxFirstPacket int `yaml:"max_first_packet"`
	// MaxPacketSize is the largest total size (fixed header included) of any
	// packet after CONNECT, in bytes; 0 turns the check off. A larger packet is
	// refused before its body is read: an MQTT 5 client gets DISCONNECT 0x95
	// (packet too large), then the connection is closed. Not read from yaml: the
	// broker sets it from its own limits.max_packet_size (the engine announces
	// the same value in CONNACK).
	MaxPacketSize int `yaml:"-"`
	// MaxConnections caps open sockets across all listeners of the broker. Keep it
	// well below the process file descriptor limit (RLIMIT_NOFILE).
	MaxConnections int `yaml:"max_connections"`
	// PerIPConnections caps open sockets from one IP address; 0 turns it off.
	PerIPConnections int `yaml:"per_ip_connections"`
	// PerIPRate is the sustained rate of new connections per second from one IP
	// address (token bucket); 0 turns it off.
	PerIPRate float64 `yaml:"per_ip_rate"`
	// PerIPBurst is the token bucket size: connections one IP may open at once.
	PerIPBurst int `yaml:"per_ip_burst"`
}

// Bounds checked by Limits.Validate.
const (
	minConnectTimeout = 50 * time.Millisecond
	maxConnectTimeout = 10 * time.Minute
	minFirstPacket    = 64
	maxRemainingLen   = 268435455 // largest MQTT variable byte integer (256 MiB - 1)
	maxPacketTotal    = 1 + 4 + maxRemainingLen
	maxMaxConnections = 1 << 20
	maxPerIPRate      = 1e6
)

// DefaultLimits returns the limits that are on by default: 10 s to CONNECT, a
// 64 KiB first packet, 10000 sockets (below the 20000 descriptors a process gets
// here). The per-IP limits are off (0), as in mosquitto and EMQX: behind
// carrier-grade NAT thousands of phones share one IPv4 address (and behind an
// office NAT or a load balancer without PROXY protocol, every client does), and
// after a broker restart they all reconnect within seconds, so any per-address
// count or rate that stops one abusive host also refuses them. What one host can
// do is bounded elsewhere: MaxConnections, ConnectTimeout and MaxFirstPacket cap
// sockets and what they cost before CONNECT, login throttling (auth.throttle)
// slows password guessing, and per-user bounds cap what an account holds.
// PerIPBurst keeps a starting value (40) for operators who turn PerIPRate on.
func DefaultLimits() Limits {
	return Limits{
		ConnectTimeout:   10 * time.Second,
		MaxFirstPacket:   64 << 10,
		MaxConnections:   10000,
		PerIPConnections: 0,
		PerIPRate:        0,
		PerIPBurst:       40,
	}
}

// Validate checks every field. Error messages start with the yaml key
// (connect_timeout, max_first_packet, ...); the broker prefixes limits.
func (l Limits) Validate() error {
	if l.ConnectTimeout < minConnectTimeout || l.ConnectTimeout > maxConnectTimeout {
		return invalid("connect_timeout", l.ConnectTimeout, "must be between 50ms and 10m")
	}
	if l.MaxFirstPacket < minFirstPacket || l.MaxFirstPacket > maxRemainingLen {
		return invalid("max_first_packet", l.MaxFirstPacket, "must be between 64 and 268435455 bytes")
	}
	if l.MaxPacketSize != 0 && (l.MaxPacketSize < 2 || l.MaxPacketSize > maxPacketTotal) {
		return invalid("max_packet_size", l.MaxPacketSize, "must be 0 (off) or between 2 and 268435460 bytes")
	}
	if l.MaxConnections < 1 || l.MaxConnections > maxMaxConnections {
		return invalid("max_connections", l.MaxConnections, "must be between 1 and 1048576")
	}
	if l.PerIPConnections < 0 {
		return invalid("per_ip_connections", l.PerIPConnections, "must be 0 (off) or positive")
	}
	if math.IsNaN(l.PerIPRate) || l.PerIPRate < 0 || l.PerIPRate > maxPerIPRate {
		return invalid("per_ip_rate", l.PerIPRate, "must be 0 (off) or a positive rate up to 1e6 per second")
	}
	if l.PerIPBurst < 0 || (l.PerIPRate > 0 && l.PerIPBurst < 1) {
		return invalid("per_ip_burst", l.PerIPBurst, "must be at least 1 when per_ip_rate is on")
	}
	return nil
}
