package session

import (
	"errors"
	"io"
	"net"
	"sync"
	"testing"

	mqtt "github.com/mochi-mqtt/server/v2"
	"github.com/mochi-mqtt/server/v2/packets"
	"github.com/rs/zerolog"
)

// The tests use a real mochi server (not serving) for the client table and
// CONNACKs; the durable store's view is a map (hooks/storage behind it is
// tested in cmd/imqttd: TestSessionOwner*, TestSessionsPerUser).

type storeView struct {
	mu       sync.Mutex
	owners   map[string]Owner
	perUser  map[string]int
	discards []string
}

func (s *storeView) SessionOwner(id string) (Owner, bool, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	o, ok := s.owners[id]
	return o, ok, nil
}

func (s *storeView) SessionsOf(user string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.perUser[user]
}

func (s *storeView) Discard(id string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	o, ok := s.owners[id]
	if !ok {
		return nil
	}
	delete(s.owners, id)
	s.perUser[o.User]--
	s.discards = append(s.discards, id)
	return nil
}

type counter struct {
	mu sync.Mutex
	n  map[string]int
}

func (c *counter) LimitRefused(limit string) {
	c.mu.Lock()
	c.n[limit]++
	c.mu.Unlock()
}

func newTestHook(t *testing.T, cfg Config, lim Limits, sv Sessions) (*Hook, *mqtt.Server, *counter) {
	t.Helper()
	srv := mqtt.New(&mqtt.Options{InlineClient: false})
	obs := &counter{n: map[string]int{}}
	h, err := New(cfg, lim, Options{Server: srv, Sessions: sv, Observer: obs, Log: zerolog.New(zerolog.NewTestWriter(t))})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = h.Stop() })
	return h, srv, obs
}

// client returns a connecting client of user ("" anonymous) with id.
func client(srv *mqtt.Server, id, user string, version byte, persistent bool) *mqtt.Client {
	cl := srv.NewClient(nil, "t1", id, false)
	cl.Properties.ProtocolVersion = version
	if user != "" {
		cl.Properties.Username = []byte(user)
	}
	cl.Properties.Clean = !persistent
	if persistent && version == 5 {
		cl.Properties.Props.SessionExpiryInterval = 3600
	}
	return cl
}

func code(err error) byte {
	var c packets.Code
	if errors.As(err, &c) {
		return c.Code
	}
	return 0
}

func TestOwnerOfOnlineAndStoredSessions(t *testing.T) {
	sv := &storeView{owners: map[string]Owner{"stored": {User: "bob"}}, perUser: map[string]int{"bob": 1}}
	h, srv, obs := newTestHook(t, DefaultConfig(), DefaultLimits(), sv)
	srv.Clients.Add(client(srv, "online", "bob", 5, false))
	srv.Clients.Add(client(srv, "anon", "", 4, false))

	cases := []struct {
		id, user string
		version  byte
		want     byte
	}{
		{"online", "eve", 5, packets.ErrNotAuthorized.Code},
		{"online", "eve", 4, packets.ErrNotAuthorized.Code}, // (the CONNACK says 5: TestRefusalConnack)
		{"stored", "eve", 5, packets.ErrNotAuthorized.Code},
		{"anon", "eve", 5, packets.ErrNotAuthorized.Code}, // a user cannot take an anonymous session
		{"stored", "", 5, packets.ErrNotAuthorized.Code},  // nor an anonymous client a user's
		{"online", "bob", 5, 0},                           // the owner takes over its own session
		{"stored", "bob", 5, 0},                           // and resumes it
		{"fresh", "eve", 5, 0},                            // an id nobody holds
		{"anon", "", 4, 0},                                // anonymous is one owner
	}
	for _, tc := range cases {
		cl := client(srv, tc.id, tc.user, tc.version, true)
		if got := code(h.OnConnect(cl, packets.Packet{})); got != tc.want {
			t.Errorf("%s as %q v%d: code %#x, want %#x", tc.id, tc.user, tc.version, got, tc.want)
		}
		h.OnDisconnect(cl, nil, true)
	}
	if obs.n[LimitOwnerMismatch] != 5 {
		t.Errorf("owner refusals counted %d, want 5", obs.n[LimitOwnerMismatch])
	}
}

func TestConcurrentClaimsOfOneID(t *testing.T) {
	h, srv, _ := newTestHook(t, DefaultConfig(), DefaultLimits(), nil)
	bob := client(srv, "x", "bob", 5, true)
	if err := h.OnConnect(bob, packets.Packet{}); err != nil {
		t.Fatal(err)
	}
	// bob is between OnConnect and OnSessionEstablished: eve may not pass.
	if got := code(h.OnConnect(client(srv, "x", "eve", 5, true), packets.Packet{})); got != packets.ErrNotAuthorized.Code {
		t.Fatalf("eve racing bob: %#x", got)
	}
	h.OnSessionEstablished(bob, packets.Packet{})
	if len(h.claims) != 0 {
		t.Fatalf("claims left: %v", h.claims)
	}
}

func TestCleanStartDiscardsOfflineOnly(t *testing.T) {
	sv := &storeView{
		owners:  map[string]Owner{"off": {User: "bob"}, "live": {User: "bob", Connected: true}},
		perUser: map[string]int{"bob": 2},
	}
	h, srv, _ := newTestHook(t, Config{OwnerMismatch: MismatchCleanStart, MaxPerUser: 100}, DefaultLimits(), sv)
	if err := h.OnConnect(client(srv, "off", "eve", 5, true), packets.Packet{}); err != nil {
		t.Fatalf("clean_start over an offline session: %v", err)
	}
	if len(sv.discards) != 1 || sv.discards[0] != "off" {
		t.Fatalf("discarded %v", sv.discards)
	}
	if got := code(h.OnConnect(client(srv, "live", "eve", 5, true), packets.Packet{})); got != packets.ErrNotAuthorized.Code {
		t.Fatalf("clean_start over a live session: %#x, want 0x87", got)
	}
}

func TestMaxPerUser(t *testing.T) {
	sv := &storeView{owners: map[string]Owner{"b1": {User: "bob"}, "b2": {User: "bob"}}, perUser: map[string]int{"bob": 2}}
	h, srv, obs := newTestHook(t, Config{OwnerMismatch: MismatchRefuse, MaxPerUser: 3}, DefaultLimits(), sv)
	b3 := client(srv, "b3", "bob", 5, true)
	if err := h.OnConnect(b3, packets.Packet{}); err != nil {
		t.Fatal(err)
	}
	// b3 is pending: it counts.
	if got := code(h.OnConnect(client(srv, "b4", "bob", 5, true), packets.Packet{})); got != packets.ErrQuotaExceeded.Code {
		t.Fatalf("bob's fourth: %#x, want 0x97", got)
	}
	if got := connackCode(t, h, srv, "b5", "bob", 4); got != packets.Err3ServerUnavailable.Code {
		t.Fatalf("bob's fourth, 3.1.1: CONNACK %#x, want 3", got)
	}
	for _, ok := range []*mqtt.Client{
		client(srv, "b1", "bob", 5, true),  // resume
		client(srv, "b6", "bob", 5, false), // clean session
		client(srv, "a1", "", 5, true),     // anonymous: not counted
		client(srv, "c1", "carol", 5, true),
	} {
		if err := h.OnConnect(ok, packets.Packet{}); err != nil {
			t.Errorf("%s: %v", ok.ID, err)
		}
	}
	if obs.n[LimitMaxPerUser] != 2 {
		t.Errorf("counted %d, want 2", obs.n[LimitMaxPerUser])
	}
}

func TestSubscriptionBound(t *testing.T) {
	h, srv, obs := newTestHook(t, DefaultConfig(), Limits{MaxSubscriptionsPerClient: 2}, nil)
	cl := client(srv, "s", "bob", 5, false)
	cl.State.Subscriptions.Add("held", packets.Subscription{Filter: "held"})
	pk := packets.Packet{PacketID: 7, Filters: packets.Subscriptions{
		{Filter: "held"}, {Filter: "a"}, {Filter: "a"}, {Filter: "b"}, {Filter: "bad/#/x"},
	}}
	out := h.OnSubscribe(cl, pk)
	var got []string
	for _, f := range out.Filters {
		got = append(got, f.Filter)
	}
	if want := []string{"held", "a", "a", "", "bad/#/x"}; len(got) != len(want) || got[3] != "" || got[1] != "a" || got[4] != "bad/#/x" {
		t.Fatalf("filters %q, want %q", got, want)
	}
	if pk.Filters[3].Filter != "b" {
		t.Fatal("the caller's packet was changed")
	}
	ack := h.OnPacketEncode(cl, packets.Packet{FixedHeader: packets.FixedHeader{Type: packets.Suback}, PacketID: 7,
		ReasonCodes: []byte{0, 0, 0, packets.ErrTopicFilterInvalid.Code, packets.ErrTopicFilterInvalid.Code}})
	if want := []byte{0, 0, 0, 0x97, 0x8F}; string(ack.ReasonCodes) != string(want) {
		t.Fatalf("SUBACK % x, want % x", ack.ReasonCodes, want)
	}
	if obs.n[LimitMaxSubsPerClient] != 1 {
		t.Fatalf("counted %d", obs.n[LimitMaxSubsPerClient])
	}
}

// connackCode connects user's persistent id over a pipe and returns the
// CONNACK's reason / return code the hook wrote (0 when it wrote none).
func connackCode(t *testing.T, h *Hook, srv *mqtt.Server, id, user string, version byte) byte {
	t.Helper()
	server, peer := net.Pipe()
	defer peer.Close()
	defer server.Close()
	cl := srv.NewClient(server, "t1", id, false)
	cl.Properties.ProtocolVersion = version
	cl.Properties.Username = []byte(user)
	cl.Properties.Clean = false
	cl.Properties.Props.SessionExpiryInterval = 3600
	got := make(chan []byte, 1)
	go func() {
		b := make([]byte, 4)
		_, _ = io.ReadFull(peer, b)
		got <- b
		_, _ = io.Copy(io.Discard, peer) // the rest of a v5 CONNACK
	}()
	if h.OnConnect(cl, packets.Packet{}) == nil {
		return 0
	}
	b := <-got
	if b[0] != 0x20 {
		t.Fatalf("not a CONNACK: % x", b)
	}
	return b[3]
}

func TestRefusalConnack(t *testing.T) {
	h, srv, _ := newTestHook(t, DefaultConfig(), DefaultLimits(), nil)
	srv.Clients.Add(client(srv, "bob-tablet", "bob", 5, true))
	if got := connackCode(t, h, srv, "bob-tablet", "eve", 4); got != packets.Err3NotAuthorized.Code {
		t.Errorf("3.1.1: return code %#x, want 5", got)
	}
	if got := connackCode(t, h, srv, "bob-tablet", "eve", 5); got != packets.ErrNotAuthorized.Code {
		t.Errorf("5: reason code %#x, want 0x87", got)
	}
}

func TestConfigValidate(t *testing.T) {
	for _, c := range []Config{{OwnerMismatch: "steal"}, {OwnerMismatch: MismatchRefuse, MaxPerUser: -1}} {
		if err := c.Validate(); !errors.Is(err, ErrInvalidConfig) {
			t.Errorf("%+v: %v", c, err)
		}
	}
	if err := (Limits{MaxSubscriptionsPerClient: -1}).Validate(); !errors.Is(err, ErrInvalidConfig) {
		t.Error(err)
	}
	if err := DefaultConfig().Validate(); err != nil {
		t.Error(err)
	}
}
