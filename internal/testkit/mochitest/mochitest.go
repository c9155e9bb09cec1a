// Package mochitest runs a real mochi MQTT server on 127.0.0.1:0 for hook
// tests, the setup hooks/acl, hooks/limits, hooks/flow and hooks/metrics
// tests each wrote. It is part of internal/testkit: imported by _test.go files
// only, and the one leaf tools/deptest allows to import mochi.
package mochitest

import (
	"log/slog"
	"testing"

	mqtt "github.com/mochi-mqtt/server/v2"
	"github.com/mochi-mqtt/server/v2/listeners"
	"github.com/mochi-mqtt/server/v2/packets"
)

// AllowAll authenticates every client: a test's whole authentication, the
// identity being the CONNECT username as mochi stored it (hooks/auth would set
// it). It decides nothing else.
type AllowAll struct{ mqtt.HookBase }

// ID implements mqtt.Hook.
func (*AllowAll) ID() string { return "test-allow-all" }

// Provides implements mqtt.Hook.
func (*AllowAll) Provides(b byte) bool { return b == mqtt.OnConnectAuthenticate }

// Init implements mqtt.Hook.
func (*AllowAll) Init(any) error { return nil }

// OnConnectAuthenticate lets every client in.
func (*AllowAll) OnConnectAuthenticate(*mqtt.Client, packets.Packet) bool { return true }

// Options shape the server Serve runs.
type Options struct {
	// Capabilities, if not nil, replace mochi's defaults.
	Capabilities *mqtt.Capabilities
	// ListenerID names the TCP listener; "" is "t1".
	ListenerID string
	// InlineClient enables mochi's inline client (publishes from the server).
	InlineClient bool
}

// Serve runs a mochi server with hooks added in the given order and one TCP
// listener on 127.0.0.1:0, and returns the listener's address and the server.
// mochi's own log is discarded. The server is closed by a t.Cleanup registered
// before Serve returns, so cleanups the caller registers after it run first,
// with the server still up.
func Serve(t testing.TB, opts Options, hooks ...mqtt.Hook) (string, *mqtt.Server) {
	t.Helper()
	srv := mqtt.New(&mqtt.Options{
		Capabilities: opts.Capabilities,
		InlineClient: opts.InlineClient,
		Logger:       slog.New(slog.DiscardHandler),
	})
	for _, h := range hooks {
		if err := srv.AddHook(h, nil); err != nil {
			t.Fatalf("AddHook(%s): %v", h.ID(), err)
		}
	}
	id := opts.ListenerID
	if id == "" {
		id = "t1"
	}
	l := listeners.NewTCP(listeners.Config{Type: listeners.TypeTCP, ID: id, Address: "127.0.0.1:0"})
	if err := srv.AddListener(l); err != nil {
		t.Fatalf("AddListener: %v", err)
	}
	if err := srv.Serve(); err != nil {
		t.Fatalf("Serve: %v", err)
	}
	t.Cleanup(func() { _ = srv.Close() })
	return l.Address(), srv
}
