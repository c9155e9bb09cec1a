package auth

import (
	"crypto/x509"
	"encoding/pem"
	"errors"
	"io/fs"
	"path/filepath"
	"strings"
	"testing"

	"github.com/mochi-mqtt/server/v2/packets"
	"github.com/rs/zerolog"
)

func TestNewErrors(t *testing.T) {
	log := zerolog.New(zerolog.NewTestWriter(t))
	allow := func(string, string, string) bool { return true }
	opts := Options{Log: log, WillCheck: allow, LoopbackListener: func(string) bool { return true }}
	dir := t.TempDir()

	jwtCfg := func(algs []string, secretFile, keyFile string) Config {
		c := DefaultConfig()
		c.JWT = JWTConfig{Enabled: true, Algorithms: algs, HMACSecretFile: secretFile, PublicKeyFile: keyFile, Leeway: DefaultLeeway}
		return c
	}
	rsaPEM := writeFile(t, dir, "rsa.pem", pemPublic(t, &testRSAKey().PublicKey))
	ecPEM := writeFile(t, dir, "ec.pem", pemPublic(t, &testECKey().PublicKey))
	p384 := writeFile(t, dir, "p384.pem", pemPublic(t, &testP384Key().PublicKey))
	rsa1024 := writeFile(t, dir, "rsa1024.pem", pemPublic(t, &testRSA1024K().PublicKey))
	priv := writeFile(t, dir, "priv.pem", pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: []byte("not really")}))
	pkcs1 := writeFile(t, dir, "pkcs1.pem", pem.EncodeToMemory(&pem.Block{Type: "RSA PUBLIC KEY", Bytes: x509.MarshalPKCS1PublicKey(&testRSAKey().PublicKey)}))
	notPEM := writeFile(t, dir, "junk.pem", []byte("hello"))
	short := writeFile(t, dir, "short", []byte(strings.Repeat("s", 31)+"\n"))
	okSecret := writeFile(t, dir, "ok", newHMACSecret(t))
	badPw := writeFile(t, dir, "badpw", []byte("alice:plain\n"))

	anon := DefaultConfig()
	anon.AllowAnonymous = true
	pwMissing := DefaultConfig()
	pwMissing.PasswordFile = filepath.Join(dir, "absent")
	pwBad := DefaultConfig()
	pwBad.PasswordFile = badPw

	tests := []struct {
		name     string
		cfg      Config
		opts     func(Options) Options
		want     error
		wantText string
	}{
		{"ok hs256", jwtCfg([]string{"HS256"}, okSecret, ""), nil, nil, ""},
		{"ok rs256 pkcs1", jwtCfg([]string{"RS256"}, "", pkcs1), nil, nil, ""},
		{"ok es256", jwtCfg([]string{"ES256"}, "", ecPEM), nil, nil, ""},
		{"invalid config", func() Config { c := DefaultConfig(); c.BcryptCost = 2; return c }(), nil, ErrInvalidConfig, "auth.bcrypt_cost"},
		{"no will check", DefaultConfig(), func(o Options) Options { o.WillCheck = nil; return o }, ErrMissingOption, "WillCheck"},
		{"anonymous without loopback func", anon, func(o Options) Options { o.LoopbackListener = nil; return o }, ErrMissingOption, "LoopbackListener"},
		{"missing password file", pwMissing, nil, fs.ErrNotExist, "absent"},
		{"broken password file", pwBad, nil, ErrUnsupportedHash, badPw + ":1:"},
		{"short hmac secret", jwtCfg([]string{"HS256"}, short, ""), nil, ErrInvalidKey, short},
		{"missing hmac secret", jwtCfg([]string{"HS256"}, filepath.Join(dir, "nope"), ""), nil, fs.ErrNotExist, "nope"},
		{"rsa key for es256", jwtCfg([]string{"ES256"}, "", rsaPEM), nil, ErrInvalidKey, rsaPEM},
		{"ec key for rs256", jwtCfg([]string{"RS256"}, "", ecPEM), nil, ErrInvalidKey, ecPEM},
		{"p384 key", jwtCfg([]string{"ES256"}, "", p384), nil, ErrInvalidKey, "P-384"},
		{"rsa 1024", jwtCfg([]string{"RS256"}, "", rsa1024), nil, ErrInvalidKey, "1024 bits"},
		{"private key", jwtCfg([]string{"RS256"}, "", priv), nil, ErrInvalidKey, "PRIVATE KEY"},
		{"not pem", jwtCfg([]string{"RS256"}, "", notPEM), nil, ErrInvalidKey, "no PEM block"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			o := opts
			if tt.opts != nil {
				o = tt.opts(o)
			}
			h, err := New(tt.cfg, o)
			if tt.want == nil {
				if err != nil {
					t.Fatalf("New: %v", err)
				}
				if err := h.Close(); err != nil {
					t.Fatalf("Close: %v", err)
				}
				return
			}
			if !errors.Is(err, tt.want) || !strings.Contains(err.Error(), tt.wantText) {
				t.Fatalf("New = %v, want %v mentioning %q", err, tt.want, tt.wantText)
			}
		})
	}
}

func TestDecideTable(t *testing.T) {
	path := filepath.Join(t.TempDir(), "passwd")
	writePasswordFile(t, path, map[string]string{"alice": "pw"})
	pf, err := LoadPasswordFile(path)
	if err != nil {
		t.Fatal(err)
	}
	k := &keys{passwords: pf}
	yes := func(string) bool { return true }
	tests := []struct {
		name   string
		c      credentials
		anon   bool
		reason string
		code   packets.Code
		id     string
	}{
		{"password ok", credentials{usernameFlag: true, username: "alice", passwordFlag: true, password: "pw"}, false, "", packets.CodeSuccess, "alice"},
		{"empty password", credentials{usernameFlag: true, username: "alice", passwordFlag: true}, false, ReasonEmptyPassword, packets.ErrBadUsernameOrPassword, ""},
		{"missing password", credentials{usernameFlag: true, username: "alice"}, false, ReasonMissingPassword, packets.ErrBadUsernameOrPassword, ""},
		{"missing username", credentials{passwordFlag: true, password: "pw"}, false, ReasonMissingUsername, packets.ErrBadUsernameOrPassword, ""},
		{"anonymous off", credentials{}, false, ReasonAnonymousDenied, packets.ErrNotAuthorized, ""},
		{"anonymous on", credentials{}, true, "", packets.CodeSuccess, ""},
		{"over-long password", credentials{usernameFlag: true, username: "alice", passwordFlag: true, password: "pw" + strings.Repeat("x", 100)}, false, ReasonBadPassword, packets.ErrBadUsernameOrPassword, ""},
		{"nul username", credentials{usernameFlag: true, username: "al\x00ice", passwordFlag: true, password: "pw"}, false, ReasonInvalidUsername, packets.ErrBadUsernameOrPassword, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := k.decide(tt.c, tt.anon, yes)
			if d.reason != tt.reason || (tt.reason != "" && d.code != tt.code) || d.identity != tt.id {
				t.Fatalf("decide = %+v, want reason %q code %v id %q", d, tt.reason, tt.code, tt.id)
			}
		})
	}
	if d := (&keys{}).decide(credentials{}, true, nil); d.reason != ReasonAnonymousDenied {
		t.Fatalf("nil loopback func allowed anonymous: %+v", d)
	}
}
