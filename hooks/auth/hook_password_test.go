package auth

import (
	"strings"
	"testing"
)

func TestPasswordAuth(t *testing.T) {
	cfg, _ := passwordConfig(t, map[string]string{"alice": "alice-pw", "org/bob": "bob-pw"})
	tb := newTestBroker(t, cfg)

	t.Run("v5", func(t *testing.T) {
		tests := []struct {
			name   string
			c      conn5
			code   byte
			reason string
			user   string
		}{
			{"right password", conn5{username: str("alice"), password: str("alice-pw")}, 0, "", "alice"},
			{"slash username", conn5{username: str("org/bob"), password: str("bob-pw")}, 0, "", "org/bob"},
			{"wrong password", conn5{username: str("alice"), password: str("bob-pw")}, 0x86, ReasonBadPassword, ""},
			{"unknown user", conn5{username: str("mallory"), password: str("alice-pw")}, 0x86, ReasonUnknownUser, ""},
			{"username without password", conn5{username: str("alice")}, 0x86, ReasonMissingPassword, ""},
			{"password without username", conn5{password: str("alice-pw")}, 0x86, ReasonMissingUsername, ""},
			{"empty username with password", conn5{username: str(""), password: str("alice-pw")}, 0x86, ReasonMissingUsername, ""},
			{"wildcard username", conn5{username: str("ali+ce"), password: str("alice-pw")}, 0x86, ReasonInvalidUsername, ""},
			{"jwt-shaped password with jwt off", conn5{username: str("alice"), password: str("eyJhbGciOiJIUzI1NiJ9.e30.c2ln")}, 0x86, ReasonBadPassword, ""},
			{"anonymous not allowed", conn5{}, 0x87, ReasonAnonymousDenied, ""},
			{"empty username only", conn5{username: str("")}, 0x87, ReasonAnonymousDenied, ""},
			{"password prefix", conn5{username: str("alice"), password: str("alice-p")}, 0x86, ReasonBadPassword, ""},
			{"case matters", conn5{username: str("Alice"), password: str("alice-pw")}, 0x86, ReasonUnknownUser, ""},
		}
		for i, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				tt.c.clientID = "v5-" + string(rune('a'+i))
				expect5(t, tb, tt.c, tt.code, tt.reason, tt.user)
			})
		}
	})

	t.Run("v5 empty password", func(t *testing.T) {
		// mochi refuses a password flag with a zero-length password as a
		// protocol error (0x82, [MQTT-3.1.2-19]) before any hook runs; the
		// hook's own table refuses it too (TestDecideTable).
		got := connect5(t, tb, conn5{clientID: "v5-empty", username: str("alice"), password: str("")})
		if got < 0x80 {
			t.Fatalf("empty password accepted: 0x%02x", got)
		}
	})

	t.Run("v3.1.1", func(t *testing.T) {
		tests := []struct {
			name   string
			c      conn3
			err    error
			reason string
			user   string
		}{
			{"right password", conn3{username: "alice", password: "alice-pw"}, nil, "", "alice"},
			{"wrong password", conn3{username: "alice", password: "nope"}, v3BadCredentials, ReasonBadPassword, ""},
			{"unknown user", conn3{username: "mallory", password: "nope"}, v3BadCredentials, ReasonUnknownUser, ""},
			{"username without password", conn3{username: "alice"}, v3BadCredentials, ReasonMissingPassword, ""},
			{"anonymous not allowed", conn3{}, v3NotAuthorized, ReasonAnonymousDenied, ""},
		}
		for i, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				tt.c.clientID = "v3-" + string(rune('a'+i))
				expect3(t, tb, tt.c, tt.err, tt.reason, tt.user)
			})
		}
	})

	t.Run("refusal log", func(t *testing.T) {
		const pw = "Sup3rSecretPassw0rd"
		before := strings.Count(tb.logs.String(), msgRefused)
		expect5(t, tb, conn5{clientID: "log-check", username: str("alice"), password: str(pw)}, 0x86, ReasonBadPassword, "")
		logs := tb.logs.String()
		if n := strings.Count(logs, msgRefused); n != before+1 {
			t.Fatalf("%d refusal lines for one refusal", n-before)
		}
		var line string
		for _, l := range strings.Split(logs, "\n") {
			if strings.Contains(l, `"client_id":"log-check"`) {
				line = l
			}
		}
		for _, want := range []string{`"level":"warn"`, `"component":"auth"`, `"client_id":"log-check"`, `"user":"alice"`,
			`"listener":"t1"`, `"remote":"127.0.0.1:`, `"reason":"bad_password"`, `"message":"connect refused"`} {
			if !strings.Contains(line, want) {
				t.Errorf("refusal line %s lacks %s", line, want)
			}
		}
		if strings.Contains(logs, pw) || strings.Contains(logs, "alice-pw") {
			t.Fatal("a password reached the log")
		}
	})
}

func TestNoAuthMethodRefusesAll(t *testing.T) {
	tb := newTestBroker(t, DefaultConfig())
	if !strings.Contains(tb.logs.String(), msgNoAuthMethod) {
		t.Fatal("no warning for a config without any auth method")
	}
	expect5(t, tb, conn5{clientID: "a", username: str("alice"), password: str("x")}, 0x86, ReasonNoPasswordFile, "")
	expect5(t, tb, conn5{clientID: "b"}, 0x87, ReasonAnonymousDenied, "")
	expect5(t, tb, conn5{clientID: "c", password: str("x")}, 0x86, ReasonMissingUsername, "")
}
