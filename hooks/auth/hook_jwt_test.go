package auth

import (
	"bytes"
	"crypto/x509"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

// jwtEnv is a broker with JWT enabled for algs and the test keys on disk.
type jwtEnv struct {
	tb     *testBroker
	hmac   []byte // the HS256 key as the signer uses it
	pubPEM []byte // the configured public key file's content
}

func newJWTBroker(t *testing.T, algs ...string) *jwtEnv {
	t.Helper()
	dir := t.TempDir()
	cfg, _ := passwordConfig(t, map[string]string{"alice": "alice-pw"})
	cfg.JWT.Enabled = true
	cfg.JWT.Algorithms = algs
	cfg.JWT.Issuer = "https://id.test"
	cfg.JWT.Audience = "imqtt"
	env := &jwtEnv{}
	for _, a := range algs {
		switch a {
		case AlgHS256:
			s := newHMACSecret(t)
			cfg.JWT.HMACSecretFile = writeFile(t, dir, "hmac.key", s)
			env.hmac = bytes.TrimRight(s, "\n")
		case AlgRS256:
			env.pubPEM = pemPublic(t, &testRSAKey().PublicKey)
			cfg.JWT.PublicKeyFile = writeFile(t, dir, "rsa.pem", env.pubPEM)
		case AlgES256:
			env.pubPEM = pemPublic(t, &testECKey().PublicKey)
			cfg.JWT.PublicKeyFile = writeFile(t, dir, "ec.pem", env.pubPEM)
		}
	}
	env.tb = newTestBroker(t, cfg)
	return env
}

type jwtCase struct {
	name     string
	username *string
	token    string
	code     byte
	reason   string
	user     string // identity on success
}

func runJWTCases(t *testing.T, tb *testBroker, cases []jwtCase) {
	t.Helper()
	for i, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c := conn5{clientID: "jwt-" + string(rune('a'+i)), username: tc.username, password: str(tc.token)}
			expect5(t, tb, c, tc.code, tc.reason, tc.user)
			if logs := tb.logs.String(); strings.Contains(logs, tc.token) {
				t.Fatal("token reached the log")
			}
		})
	}
}

func TestJWTHS256(t *testing.T) {
	env := newJWTBroker(t, AlgHS256)
	hs := func(c jwt.MapClaims) string { return sign(t, jwt.SigningMethodHS256, env.hmac, c) }
	good := hs(claims("carol"))
	tampered := func() string {
		// Re-encode the payload with another sub, keep the signature.
		parts := strings.Split(good, ".")
		other := strings.Split(hs(claims("mallory")), ".")
		return parts[0] + "." + other[1] + "." + parts[2]
	}()
	none, err := jwt.NewWithClaims(jwt.SigningMethodNone, claims("carol")).SignedString(jwt.UnsafeAllowNoneSignatureType)
	if err != nil {
		t.Fatal(err)
	}
	ago := func(d time.Duration) int64 { return time.Now().Add(-d).Unix() }
	in := func(d time.Duration) int64 { return time.Now().Add(d).Unix() }

	runJWTCases(t, env.tb, []jwtCase{
		{name: "good, no username", token: good, user: "carol"},
		{name: "good, empty username", username: str(""), token: good, user: "carol"},
		{name: "good, username equals sub", username: str("carol"), token: good, user: "carol"},
		{name: "sub with slash", token: hs(claims("org/carol")), user: "org/carol"},
		{name: "username differs from sub", username: str("alice"), token: good, code: 0x86, reason: ReasonTokenUserMismatch},
		{name: "expired", token: hs(claims("carol", func(c jwt.MapClaims) { c["exp"] = ago(time.Hour) })), code: 0x86, reason: ReasonTokenExpired},
		{name: "expired within leeway", token: hs(claims("carol", func(c jwt.MapClaims) { c["exp"] = ago(5 * time.Second) })), user: "carol"},
		{name: "missing exp", token: hs(claims("carol", func(c jwt.MapClaims) { delete(c, "exp") })), code: 0x86, reason: ReasonTokenClaims},
		{name: "nbf in the future", token: hs(claims("carol", func(c jwt.MapClaims) { c["nbf"] = in(time.Hour) })), code: 0x86, reason: ReasonTokenNotYetValid},
		{name: "nbf within leeway", token: hs(claims("carol", func(c jwt.MapClaims) { c["nbf"] = in(5 * time.Second) })), user: "carol"},
		{name: "iat in the future", token: hs(claims("carol", func(c jwt.MapClaims) { c["iat"] = in(time.Hour) })), code: 0x86, reason: ReasonTokenNotYetValid},
		{name: "forged: other secret", token: sign(t, jwt.SigningMethodHS256, []byte(strings.Repeat("k", 64)), claims("carol")), code: 0x86, reason: ReasonTokenInvalid},
		{name: "tampered payload", token: tampered, code: 0x86, reason: ReasonTokenInvalid},
		{name: "alg none", token: none, code: 0x86, reason: ReasonTokenAlg},
		{name: "HS384 not configured", token: sign(t, jwt.SigningMethodHS384, env.hmac, claims("carol")), code: 0x86, reason: ReasonTokenAlg},
		{name: "RS256 not configured", token: sign(t, jwt.SigningMethodRS256, testRSAKey(), claims("carol")), code: 0x86, reason: ReasonTokenAlg},
		{name: "wrong issuer", token: hs(claims("carol", func(c jwt.MapClaims) { c["iss"] = "https://evil.test" })), code: 0x86, reason: ReasonTokenClaims},
		{name: "missing issuer", token: hs(claims("carol", func(c jwt.MapClaims) { delete(c, "iss") })), code: 0x86, reason: ReasonTokenClaims},
		{name: "wrong audience", token: hs(claims("carol", func(c jwt.MapClaims) { c["aud"] = "other" })), code: 0x86, reason: ReasonTokenClaims},
		{name: "audience list", token: hs(claims("carol", func(c jwt.MapClaims) { c["aud"] = []string{"other", "imqtt"} })), user: "carol"},
		{name: "sub with plus", token: hs(claims("car+ol")), code: 0x86, reason: ReasonTokenSubject},
		{name: "sub with hash", token: hs(claims("carol/#")), code: 0x86, reason: ReasonTokenSubject},
		{name: "sub missing", token: hs(claims("carol", func(c jwt.MapClaims) { delete(c, "sub") })), code: 0x86, reason: ReasonTokenSubject},
		{name: "sub not a string", token: hs(claims("carol", func(c jwt.MapClaims) { c["sub"] = 42 })), code: 0x86, reason: ReasonTokenSubject},
		{name: "sub an array", token: hs(claims("carol", func(c jwt.MapClaims) { c["sub"] = []string{"carol"} })), code: 0x86, reason: ReasonTokenSubject},
		{name: "sub empty", token: hs(claims("")), code: 0x86, reason: ReasonTokenSubject},
		{name: "exp a string", token: hs(claims("carol", func(c jwt.MapClaims) { c["exp"] = strconv.FormatInt(in(time.Hour), 10) })), code: 0x86, reason: ReasonTokenClaims},
		{name: "nbf a string", token: hs(claims("carol", func(c jwt.MapClaims) { c["nbf"] = strconv.FormatInt(ago(time.Hour), 10) })), code: 0x86, reason: ReasonTokenClaims},
		{name: "iat a string", token: hs(claims("carol", func(c jwt.MapClaims) { c["iat"] = strconv.FormatInt(ago(time.Hour), 10) })), code: 0x86, reason: ReasonTokenClaims},
		{name: "exp null", token: hs(claims("carol", func(c jwt.MapClaims) { c["exp"] = nil })), code: 0x86, reason: ReasonTokenClaims},
		{name: "exp a fraction", token: hs(claims("carol", func(c jwt.MapClaims) { c["exp"] = float64(in(time.Hour)) + 0.5 })), user: "carol"},
		{name: "not a token, no username", token: "just-a-password", code: 0x86, reason: ReasonTokenInvalid},
		{name: "three parts but not json", token: "YWJj.ZGVm.Z2hp", code: 0x86, reason: ReasonTokenInvalid},
	})

	t.Run("password file still works", func(t *testing.T) {
		expect5(t, env.tb, conn5{clientID: "pw-alice", username: str("alice"), password: str("alice-pw")}, 0, "", "alice")
		// A token for alice presented with username alice is a token, not a password.
		tok := hs(claims("alice", func(c jwt.MapClaims) { c["exp"] = ago(time.Hour) }))
		expect5(t, env.tb, conn5{clientID: "pw-alice-tok", username: str("alice"), password: str(tok)}, 0x86, ReasonTokenExpired, "")
	})

	t.Run("v3.1.1", func(t *testing.T) {
		// 3.1.1 has no password without username [MQTT-3.1.2-22]: the
		// username is the token's sub.
		expect3(t, env.tb, conn3{clientID: "v3-good", username: "carol", password: good}, nil, "", "carol")
		expect3(t, env.tb, conn3{clientID: "v3-expired", username: "carol",
			password: hs(claims("carol", func(c jwt.MapClaims) { c["exp"] = ago(time.Hour) }))}, v3BadCredentials, ReasonTokenExpired, "")
		expect3(t, env.tb, conn3{clientID: "v3-mismatch", username: "alice", password: good}, v3BadCredentials, ReasonTokenUserMismatch, "")
	})
}

func TestJWTRS256(t *testing.T) {
	env := newJWTBroker(t, AlgRS256)
	pubDER, err := x509.MarshalPKIXPublicKey(&testRSAKey().PublicKey)
	if err != nil {
		t.Fatal(err)
	}
	runJWTCases(t, env.tb, []jwtCase{
		{name: "good", token: sign(t, jwt.SigningMethodRS256, testRSAKey(), claims("dave")), user: "dave"},
		{name: "forged: other key", token: sign(t, jwt.SigningMethodRS256, otherRSAKey(), claims("dave")), code: 0x86, reason: ReasonTokenInvalid},
		// The classic key confusion: HS256 "signed" with the RSA public key
		// as the HMAC secret. HS256 is not configured, so it is refused
		// before any key is looked at.
		{name: "key confusion: HS256 with public key PEM", token: sign(t, jwt.SigningMethodHS256, env.pubPEM, claims("dave")), code: 0x86, reason: ReasonTokenAlg},
		{name: "key confusion: HS256 with public key DER", token: sign(t, jwt.SigningMethodHS256, pubDER, claims("dave")), code: 0x86, reason: ReasonTokenAlg},
		{name: "PS256 not configured", token: sign(t, jwt.SigningMethodPS256, testRSAKey(), claims("dave")), code: 0x86, reason: ReasonTokenAlg},
		{name: "RS512 not configured", token: sign(t, jwt.SigningMethodRS512, testRSAKey(), claims("dave")), code: 0x86, reason: ReasonTokenAlg},
		{name: "ES256 not configured", token: sign(t, jwt.SigningMethodES256, testECKey(), claims("dave")), code: 0x86, reason: ReasonTokenAlg},
		{name: "expired", token: sign(t, jwt.SigningMethodRS256, testRSAKey(), claims("dave", func(c jwt.MapClaims) { c["exp"] = time.Now().Add(-time.Hour).Unix() })), code: 0x86, reason: ReasonTokenExpired},
	})
}

func TestJWTES256(t *testing.T) {
	env := newJWTBroker(t, AlgES256)
	runJWTCases(t, env.tb, []jwtCase{
		{name: "good", token: sign(t, jwt.SigningMethodES256, testECKey(), claims("erin")), user: "erin"},
		{name: "good with username", username: str("erin"), token: sign(t, jwt.SigningMethodES256, testECKey(), claims("erin")), user: "erin"},
		{name: "forged: other key", token: sign(t, jwt.SigningMethodES256, otherECKey(), claims("erin")), code: 0x86, reason: ReasonTokenInvalid},
		{name: "key confusion: HS256 with public key PEM", token: sign(t, jwt.SigningMethodHS256, env.pubPEM, claims("erin")), code: 0x86, reason: ReasonTokenAlg},
		{name: "RS256 not configured", token: sign(t, jwt.SigningMethodRS256, testRSAKey(), claims("erin")), code: 0x86, reason: ReasonTokenAlg},
	})
}

// TestJWTKeyConfusionWithBoth configures HS256 and RS256 together: an HS256
// token made with the RSA public key as secret reaches signature checking,
// which uses the HMAC secret file only, and fails.
func TestJWTKeyConfusionWithBoth(t *testing.T) {
	env := newJWTBroker(t, AlgHS256, AlgRS256)
	runJWTCases(t, env.tb, []jwtCase{
		{name: "good HS256", token: sign(t, jwt.SigningMethodHS256, env.hmac, claims("frank")), user: "frank"},
		{name: "good RS256", token: sign(t, jwt.SigningMethodRS256, testRSAKey(), claims("frank")), user: "frank"},
		{name: "HS256 with public key PEM", token: sign(t, jwt.SigningMethodHS256, env.pubPEM, claims("frank")), code: 0x86, reason: ReasonTokenInvalid},
		{name: "alg none", token: func() string {
			s, _ := jwt.NewWithClaims(jwt.SigningMethodNone, claims("frank")).SignedString(jwt.UnsafeAllowNoneSignatureType)
			return s
		}(), code: 0x86, reason: ReasonTokenAlg},
	})
}
