package auth

import (
	"context"
	"net/netip"
	"slices"
	"testing"

	"github.com/rs/zerolog"

	"github.com/imqtt/imqtt/hooks/ext"
)

// TestAuthenticateEngine drives the engine's entry point with the decision
// table's main rows: the same answers as OnConnect, without a mochi server.
func TestAuthenticateEngine(t *testing.T) {
	cfg, _ := passwordConfig(t, map[string]string{"alice": "alice-pw"})
	cfg.AllowAnonymous = true
	obs := &recObserver{}
	var wills []string
	h, err := New(cfg, Options{
		Log: zerolog.New(zerolog.NewTestWriter(t)),
		WillCheck: func(user, clientID, topic string) bool {
			wills = append(wills, user+" "+clientID+" "+topic)
			return topic != "forbidden"
		},
		LoopbackListener: func(id string) bool { return id == "local" },
		Observer:         obs,
	})
	if err != nil {
		t.Fatal(err)
	}
	remote := netip.MustParseAddrPort("127.0.0.1:5555")
	req := func(listener, user string, password *string) *ext.ConnectRequest {
		r := &ext.ConnectRequest{Client: &ext.Client{ID: "c1", Username: user, Listener: listener, Remote: remote, ProtocolVersion: 5}}
		r.UsernameFlag = user != ""
		if password != nil {
			r.PasswordFlag = true
			r.Password = []byte(*password)
		}
		return r
	}
	cases := []struct {
		name     string
		req      *ext.ConnectRequest
		code     byte
		reason   string
		identity string
	}{
		{"right password", req("tcp", "alice", str("alice-pw")), 0, "", "alice"},
		{"wrong password", req("tcp", "alice", str("nope")), 0x86, ReasonBadPassword, ""},
		{"unknown user", req("tcp", "eve", str("alice-pw")), 0x86, ReasonUnknownUser, ""},
		{"anonymous on loopback", req("local", "", nil), 0, "", ""},
		{"anonymous elsewhere", req("tcp", "", nil), 0x87, ReasonAnonymousDenied, ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got := h.Authenticate(context.Background(), tc.req)
			if got.Code != tc.code || got.Reason != tc.reason || got.Identity != tc.identity {
				t.Fatalf("got %+v, want code 0x%02x reason %q identity %q", got, tc.code, tc.reason, tc.identity)
			}
		})
	}
	if want := []string{ReasonBadPassword, ReasonUnknownUser, ReasonAnonymousDenied}; !slices.Equal(obs.all(), want) {
		t.Errorf("observer saw %v, want %v", obs.all(), want)
	}

	// The will topic is judged for the authenticated identity.
	r := req("tcp", "alice", str("alice-pw"))
	r.WillFlag, r.WillTopic = true, "forbidden"
	if got := h.Authenticate(context.Background(), r); got.Code != 0x87 || got.Reason != ReasonWillDenied {
		t.Errorf("forbidden will: %+v, want 0x87 %s", got, ReasonWillDenied)
	}
	r.WillTopic = "fine"
	if got := h.Authenticate(context.Background(), r); got.Code != 0 || got.Identity != "alice" {
		t.Errorf("allowed will: %+v", got)
	}
	if want := []string{"alice c1 forbidden", "alice c1 fine"}; !slices.Equal(wills, want) {
		t.Errorf("will checks %v, want %v", wills, want)
	}
}
