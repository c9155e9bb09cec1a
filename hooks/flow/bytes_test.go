package flow_test

import (
	"testing"
	"time"

	"github.com/eclipse/paho.golang/paho"

	"github.com/imqtt/imqtt/hooks/flow"
)

// TestByteBoundHoldsAStalledReader: a subscriber that never reads, 60 x 64 KiB
// at QoS 0 with a 512 KiB bound and a queue of 1000 packets (which alone
// would hold them all): the queued bytes never pass the bound, the rest is
// dropped and counted, and a healthy subscriber gets every message.
func TestByteBoundHoldsAStalledReader(t *testing.T) {
	const (
		n     = 60
		size  = 64 << 10
		bound = 512 << 10
	)
	addr, h := startBrokerCfg(t, 1000, 64, flow.Config{MaxWait: 200 * time.Millisecond, MaxQueuedBytes: bound})
	dialRawSub(t, addr, "stalled", "big/x", 0)
	healthy := dialRawSub(t, addr, "healthy", "big/x", 0)
	pub := publisher(t, addr, "pub")
	got := make(chan int, 1)
	go func() {
		m, _ := healthy.collect(n, 5*time.Second)
		got <- len(m)
	}()
	for i := 0; i < n; i++ {
		if err := publish(pub, &paho.Publish{Topic: "big/x", Payload: payload(0, i, size)}); err != nil {
			t.Fatalf("publish %d: %v", i, err)
		}
	}
	if r := <-got; r != n {
		t.Fatalf("healthy subscriber got %d of %d", r, n)
	}
	s := h.Stats()
	if s.QueuedBytesMax <= 0 || s.QueuedBytesMax > bound {
		t.Fatalf("largest queued bytes %d, want in (0, %d]", s.QueuedBytesMax, bound)
	}
	if s.QueuedBytesDropped == 0 || s.QueuedBytesSlow != 1 {
		t.Fatalf("stats %+v: want drops and one slow mark", s)
	}
}
