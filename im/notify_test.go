package im

import (
	"context"
	"encoding/json"
	"errors"
	"sync/atomic"
	"testing"
)

func TestNotify(t *testing.T) {
	h := newHarness(t, func(c *Config, _ *Options) { c.Admins = []string{"root"} })
	g := h.rpc("alice", MethodGroupCreate, map[string]any{"name": "G", "users": []string{"bob"}}, CodeSuccess)["group"].(string)
	h.rpc("alice", MethodNotify, map[string]any{"to": map[string]any{"all": true}, "body": "x"}, CodeNotAuthorized)
	h.rec.take()
	res := h.rpc("root", MethodNotify, map[string]any{"to": map[string]any{"user": "bob"}, "title": "Hi", "body": "maintenance"}, CodeSuccess)
	ds := h.rec.on("im/u/bob/notify")
	if len(ds) != 1 || res["recipients"].(float64) != 1 {
		t.Fatalf("user notify %v %+v", res, ds)
	}
	var n map[string]any
	check(t, json.Unmarshal(ds[0].Payload, &n))
	if n["id"] != res["id"] || n["type"] != TypeNotify || n["from"] != "root" || n["title"] != "Hi" || n["body"] != "maintenance" ||
		n["to"].(map[string]any)["user"] != "bob" || n["ts"].(float64) != float64(h.clock.ms.Load()) {
		t.Fatalf("notify envelope %v", n)
	}
	h.rpc("root", MethodNotify, map[string]any{"to": map[string]any{"group": g}, "body": "g"}, CodeSuccess)
	if len(h.rec.on("im/u/alice/notify")) != 1 || len(h.rec.on("im/u/bob/notify")) != 2 {
		t.Fatalf("group notify %+v", h.rec.take())
	}
	h.rpc("root", MethodNotify, map[string]any{"to": map[string]any{"all": true}, "body": "all"}, CodeSuccess)
	if len(h.rec.on(TopicNotifyAll)) != 1 {
		t.Fatal("notify all")
	}
	for _, bad := range []map[string]any{
		{"body": "x"},
		{"to": map[string]any{}, "body": "x"},
		{"to": map[string]any{"user": "a", "all": true}, "body": "x"},
		{"to": map[string]any{"user": "a"}},
		{"to": map[string]any{"user": "a/b"}, "body": "x"},
	} {
		h.rpc("root", MethodNotify, bad, CodePayloadFormat)
	}
	h.rpc("root", MethodNotify, map[string]any{"to": map[string]any{"group": "404"}, "body": "x"}, CodeImplementation)
}

// flakyNode is the real node with failures on demand (the Replicator boundary).
type flakyNode struct {
	Replicator
	fail atomic.Pointer[error]
}

func (f *flakyNode) wrap(n Replicator) { f.Replicator = n }

func (f *flakyNode) Apply(ctx context.Context, cmd []byte) (any, error) {
	if e := f.fail.Load(); e != nil {
		return nil, *e
	}
	return f.Replicator.Apply(ctx, cmd)
}

// TestStorageFailure: a write that does not commit is refused with 0x80 and a
// fixed reason, nothing is delivered, and the re-send after recovery works.
func TestStorageFailure(t *testing.T) {
	fn := &flakyNode{}
	h := newHarness(t, func(_ *Config, o *Options) { o.Node = fn })

	boom := errors.New("raft: no quorum for 10s at 10.0.0.7")
	fn.fail.Store(&boom)
	h.handle(dev("alice", "a1"), req(sendTopic("bob"), sendBody("1", "x")), CodeUnspecified)
	a := h.lastAck("alice")
	if a.OK || a.Reason != ErrStorage.Error() || a.CID != "1" {
		t.Fatalf("ack %+v", a)
	}
	if len(h.rec.on(userTopic("bob", leafMsg))) != 0 {
		t.Fatal("delivered an uncommitted message")
	}
	h.rpc("alice", MethodGroupCreate, map[string]any{"name": "G"}, CodeUnspecified)
	fn.fail.Store(nil)
	if a := h.send("alice", "bob", "1", "x"); a.Seq != 1 || a.Dup {
		t.Fatalf("after recovery %+v", a)
	}
}
