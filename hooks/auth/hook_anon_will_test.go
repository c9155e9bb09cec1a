package auth

import (
	"slices"
	"testing"

	"github.com/golang-jwt/jwt/v5"
)

func anonConfig(t *testing.T) Config {
	t.Helper()
	cfg, _ := passwordConfig(t, map[string]string{"alice": "alice-pw"})
	cfg.AllowAnonymous = true
	return cfg
}

func TestAnonymousOnLoopback(t *testing.T) {
	tb := newTestBroker(t, anonConfig(t))
	expect5(t, tb, conn5{clientID: "anon5"}, 0, "", "")
	expect3(t, tb, conn3{clientID: "anon3"}, nil, "", "")
	// Credentials are still checked when given.
	expect5(t, tb, conn5{clientID: "bad", username: str("alice"), password: str("nope")}, 0x86, ReasonBadPassword, "")
	expect5(t, tb, conn5{clientID: "user-only", username: str("alice")}, 0x86, ReasonMissingPassword, "")
	tb.mu.Lock()
	asked := slices.Clone(tb.loopback)
	tb.mu.Unlock()
	if len(asked) != 2 || asked[0] != testListenerID || asked[1] != testListenerID {
		t.Fatalf("LoopbackListener asked about %v, want [%s %s]", asked, testListenerID, testListenerID)
	}
}

func TestAnonymousDeniedOffLoopback(t *testing.T) {
	tb := newTestBroker(t, anonConfig(t), func(o *brokerOpts) { o.loopback = false })
	expect5(t, tb, conn5{clientID: "anon5"}, 0x87, ReasonAnonymousDenied, "")
	expect3(t, tb, conn3{clientID: "anon3"}, v3NotAuthorized, ReasonAnonymousDenied, "")
	expect5(t, tb, conn5{clientID: "alice", username: str("alice"), password: str("alice-pw")}, 0, "", "alice")
}

func TestWillCheck(t *testing.T) {
	cfg := anonConfig(t)
	secret := newHMACSecret(t)
	cfg.JWT.Enabled = true
	cfg.JWT.Algorithms = []string{AlgHS256}
	cfg.JWT.HMACSecretFile = writeFile(t, t.TempDir(), "hmac", secret)
	tb := newTestBroker(t, cfg, func(o *brokerOpts) {
		o.willCheck = func(user, _, topic string) bool { return topic == "will/"+user }
	})
	token := sign(t, jwt.SigningMethodHS256, secret[:len(secret)-1], claims("grace", func(c jwt.MapClaims) {
		delete(c, "iss")
		delete(c, "aud")
	}))

	expect5(t, tb, conn5{clientID: "w-ok", username: str("alice"), password: str("alice-pw"), willTopic: "will/alice"}, 0, "", "alice")
	expect5(t, tb, conn5{clientID: "w-deny", username: str("alice"), password: str("alice-pw"), willTopic: "will/bob"}, 0x87, ReasonWillDenied, "")
	expect3(t, tb, conn3{clientID: "w3-ok", username: "alice", password: "alice-pw", willTopic: "will/alice"}, nil, "", "alice")
	expect3(t, tb, conn3{clientID: "w3-deny", username: "alice", password: "alice-pw", willTopic: "im/presence/bob"}, v3NotAuthorized, ReasonWillDenied, "")
	// The will is checked with the token's identity, not the (empty) username.
	expect5(t, tb, conn5{clientID: "w-jwt", password: str(token), willTopic: "will/grace"}, 0, "", "grace")
	expect5(t, tb, conn5{clientID: "w-jwt-deny", password: str(token), willTopic: "will/"}, 0x87, ReasonWillDenied, "")
	// Anonymous: the identity is "".
	expect5(t, tb, conn5{clientID: "w-anon", willTopic: "will/"}, 0, "", "")
	// No will, no call; a refused login never reaches the will check.
	expect5(t, tb, conn5{clientID: "w-none", username: str("alice"), password: str("alice-pw")}, 0, "", "alice")
	expect5(t, tb, conn5{clientID: "w-badpw", username: str("alice"), password: str("x"), willTopic: "will/alice"}, 0x86, ReasonBadPassword, "")

	want := []willCall{
		{"alice", "w-ok", "will/alice"},
		{"alice", "w-deny", "will/bob"},
		{"alice", "w3-ok", "will/alice"},
		{"alice", "w3-deny", "im/presence/bob"},
		{"grace", "w-jwt", "will/grace"},
		{"grace", "w-jwt-deny", "will/"},
		{"", "w-anon", "will/"},
	}
	if got := tb.willCalls(); !slices.Equal(got, want) {
		t.Fatalf("WillCheck calls:\n got %v\nwant %v", got, want)
	}
}
