package transport

import (
	"fmt"
	"runtime"
	"time"

	"github.com/imqtt/imqtt/broker/listen"
)

// Defaults of Config.
const (
	DefaultConnectTimeout  = 10 * time.Second
	DefaultMaxPendingBytes = 1 << 20
	DefaultWriteTimeout    = 10 * time.Second
	DefaultCloseLinger     = time.Second
	DefaultMaxLingering    = 1024
	// MaxPacketSizeLimit is the largest packet MQTT can frame: a remaining length
	// of 268,435,455 (a 4-byte variable byte integer).
	MaxPacketSizeLimit = 268435455
)

// Config is the transport's configuration. Listeners reuse broker/listen's
// listener config (kind, name, address, TLS files, ws path).
type Config struct {
	// Listeners to bind; names (Config.ID()) must be unique.
	Listeners []listen.Config
	// Workers run read batches; 0 = 4*GOMAXPROCS.
	Workers int
	// HandshakeWorkers read PROXY headers, run TLS handshakes and WebSocket
	// upgrades; 0 = GOMAXPROCS.
	HandshakeWorkers int
	// ConnectTimeout bounds accept -> first complete packet, TLS and WebSocket
	// upgrade included; 0 = DefaultConnectTimeout.
	ConnectTimeout time.Duration
	// MaxPacketSize bounds an inbound packet's total size (fixed header included,
	// as MQTT 5's Maximum Packet Size), checked at the fixed header; 0 =
	// MaxPacketSizeLimit (no limit beyond MQTT's own).
	MaxPacketSize int
	// MaxPendingBytes bounds each connection's unwritten output; 0 =
	// DefaultMaxPendingBytes.
	MaxPendingBytes int
	// WriteTimeout: a blocked writer that makes no progress for this long closes
	// the connection with ErrWriteTimeout; 0 = DefaultWriteTimeout.
	WriteTimeout time.Duration
	// CloseLinger bounds a graceful close's linger: after the output and FIN,
	// unread input is discarded until the client closes or this passes, so the
	// output is not destroyed by a reset (linger.go); 0 = DefaultCloseLinger.
	CloseLinger time.Duration
	// MaxLingering bounds the sockets lingering at once; beyond, a graceful
	// close closes at once; 0 = DefaultMaxLingering.
	MaxLingering int
	// Poller is how idle connections wait for input: PollerEpoll (a few epoll
	// goroutines for every connection, no goroutine per idle connection;
	// Linux only) or PollerGoroutine (a reader goroutine per connection
	// parked in the runtime's netpoller); "" = PollerEpoll on Linux,
	// PollerGoroutine elsewhere. See poller.go.
	Poller string
}

// Poller values of Config.Poller.
const (
	PollerEpoll     = "epoll"
	PollerGoroutine = "goroutine"
)

// DefaultConfig returns one plain TCP listener on 127.0.0.1:1883 and the defaults.
func DefaultConfig() Config {
	return Config{
		Listeners:       []listen.Config{listen.DefaultConfig()},
		ConnectTimeout:  DefaultConnectTimeout,
		MaxPacketSize:   MaxPacketSizeLimit,
		MaxPendingBytes: DefaultMaxPendingBytes,
		WriteTimeout:    DefaultWriteTimeout,
		CloseLinger:     DefaultCloseLinger,
		MaxLingering:    DefaultMaxLingering,
	}
}

// Validate checks every field; errors name the field and wrap ErrInvalidConfig.
func (c Config) Validate() error {
	if len(c.Listeners) == 0 {
		return invalid("listeners", "[]", "at least one listener is needed")
	}
	seen := make(map[string]bool, len(c.Listeners))
	for i, l := range c.Listeners {
		if err := l.Validate(); err != nil {
			return fmt.Errorf("listeners[%d] (%s): %w: %w", i, l.ID(), err, ErrInvalidConfig)
		}
		if seen[l.ID()] {
			return invalid(fmt.Sprintf("listeners[%d].name", i), l.ID(), "duplicate listener name")
		}
		seen[l.ID()] = true
	}
	switch {
	case c.Workers < 0:
		return invalid("workers", c.Workers, "must be >= 0")
	case c.HandshakeWorkers < 0:
		return invalid("handshake_workers", c.HandshakeWorkers, "must be >= 0")
	case c.ConnectTimeout < 0:
		return invalid("connect_timeout", c.ConnectTimeout, "must be >= 0")
	case c.MaxPacketSize < 0 || c.MaxPacketSize > MaxPacketSizeLimit:
		return invalid("max_packet_size", c.MaxPacketSize, fmt.Sprintf("must be 0..%d", MaxPacketSizeLimit))
	case c.MaxPacketSize > 0 && c.MaxPacketSize < 2:
		return invalid("max_packet_size", c.MaxPacketSize, "must be at least 2 (a fixed header)")
	case c.MaxPendingBytes < 0:
		return invalid("max_pending_bytes", c.MaxPendingBytes, "must be >= 0")
	case c.WriteTimeout < 0:
		return invalid("write_timeout", c.WriteTimeout, "must be >= 0")
	case c.CloseLinger < 0:
		return invalid("close_linger", c.CloseLinger, "must be >= 0")
	case c.MaxLingering < 0:
		return invalid("max_lingering", c.MaxLingering, "must be >= 0")
	case c.Poller != "" && c.Poller != PollerEpoll && c.Poller != PollerGoroutine:
		return invalid("poller", c.Poller, "must be "+PollerEpoll+" or "+PollerGoroutine)
	case c.Poller == PollerEpoll && !epollSupported:
		return invalid("poller", c.Poller, "epoll is Linux only")
	}
	return nil
}

// withDefaults fills the zero fields.
func (c Config) withDefaults() Config {
	if c.Workers == 0 {
		c.Workers = 4 * runtime.GOMAXPROCS(0)
	}
	if c.HandshakeWorkers == 0 {
		c.HandshakeWorkers = runtime.GOMAXPROCS(0)
	}
	if c.ConnectTimeout == 0 {
		c.ConnectTimeout = DefaultConnectTimeout
	}
	if c.MaxPacketSize == 0 {
		c.MaxPacketSize = MaxPacketSizeLimit
	}
	if c.MaxPendingBytes == 0 {
		c.MaxPendingBytes = DefaultMaxPendingBytes
	}
	if c.WriteTimeout == 0 {
		c.WriteTimeout = DefaultWriteTimeout
	}
	if c.CloseLinger == 0 {
		c.CloseLinger = DefaultCloseLinger
	}
	if c.MaxLingering == 0 {
		c.MaxLingering = DefaultMaxLingering
	}
	if c.Poller == "" {
		c.Poller = PollerGoroutine
		if epollSupported {
			c.Poller = PollerEpoll
		}
	}
	return c
}

func invalid(path string, value any, why string) error {
	return fmt.Errorf("%s: %v: %s: %w", path, value, why, ErrInvalidConfig)
}
