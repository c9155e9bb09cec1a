// Command mochiref runs stock mochi-mqtt (the version imqttd embeds, default
// capabilities, one TCP listener, every client and topic allowed, no imqtt hooks)
// as the "stock mochi" column of tools/compare.sh: what imqttd costs or saves
// compared to the library it is built on.
//
// usage: mochiref [-addr 127.0.0.1:1883]
package main

import (
	"flag"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"syscall"

	mqtt "github.com/mochi-mqtt/server/v2"
	"github.com/mochi-mqtt/server/v2/listeners"
	"github.com/mochi-mqtt/server/v2/packets"
)

// allowAll lets every client connect and every topic be read and written, as
// mochi's own examples do.
type allowAll struct{ mqtt.HookBase }

func (h *allowAll) ID() string { return "allow-all" }
func (h *allowAll) Provides(b byte) bool {
	return b == mqtt.OnConnectAuthenticate || b == mqtt.OnACLCheck
}
func (h *allowAll) OnConnectAuthenticate(*mqtt.Client, packets.Packet) bool { return true }
func (h *allowAll) OnACLCheck(*mqtt.Client, string, bool) bool              { return true }

func main() {
	addr := flag.String("addr", "127.0.0.1:1883", "TCP listen address")
	flag.Parse()
	if err := run(*addr); err != nil {
		fmt.Fprintln(os.Stderr, "mochiref:", err)
		os.Exit(1)
	}
}

func run(addr string) error {
	srv := mqtt.New(&mqtt.Options{Logger: slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelError}))})
	if err := srv.AddHook(new(allowAll), nil); err != nil {
		return fmt.Errorf("allow hook: %w", err)
	}
	if err := srv.AddListener(listeners.NewTCP(listeners.Config{Type: listeners.TypeTCP, ID: "tcp", Address: addr})); err != nil {
		return fmt.Errorf("listen %s: %w", addr, err)
	}
	if err := srv.Serve(); err != nil {
		return fmt.Errorf("serve: %w", err)
	}
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, syscall.SIGINT, syscall.SIGTERM)
	<-sig
	return srv.Close()
}
