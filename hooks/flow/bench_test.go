package flow_test

import (
	"log/slog"
	"testing"
	"time"

	"github.com/imqtt/imqtt/hooks/flow"
	mqtt "github.com/mochi-mqtt/server/v2"
	"github.com/rs/zerolog"
)

// BenchmarkOnACLCheck is the cost the hook adds to every delivery when the
// subscriber has room (the common case): one queue length and one in-flight
// count.
func BenchmarkOnACLCheck(b *testing.B) {
	srv := mqtt.New(&mqtt.Options{Logger: slog.New(slog.DiscardHandler)})
	h, err := flow.New(flow.Config{MaxWait: time.Second}, flow.Options{MaxInflight: 8192, Log: zerolog.Nop()})
	if err != nil {
		b.Fatal(err)
	}
	cl := srv.NewClient(nil, "t1", "sub", false)
	b.ReportAllocs()
	for b.Loop() {
		if h.OnACLCheck(cl, "a/b", false) {
			b.Fatal("granted")
		}
	}
}
