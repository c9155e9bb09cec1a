package auth

import (
	"path/filepath"
	"testing"

	"github.com/golang-jwt/jwt/v5"
	"golang.org/x/crypto/bcrypt"
)

// BenchmarkVerify measures a password check. bcrypt dominates: the time is
// set by the cost (4 here; 10 in production is 64x slower), not by this code.
func BenchmarkVerify(b *testing.B) {
	path := filepath.Join(b.TempDir(), "passwd")
	h, _ := bcrypt.GenerateFromPassword([]byte("pw"), bcrypt.MinCost)
	pf, err := newPasswordFile(path, []byte("alice:"+string(h)+"\n"))
	if err != nil {
		b.Fatal(err)
	}
	for _, bc := range []struct{ name, user string }{{"known", "alice"}, {"unknown", "mallory"}} {
		b.Run(bc.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				pf.Verify(bc.user, "pw")
			}
		})
	}
}

// BenchmarkVerifyJWT measures token checks per algorithm, the per-CONNECT
// cost of JWT authentication.
func BenchmarkVerifyJWT(b *testing.B) {
	t := b
	dir := b.TempDir()
	secret := []byte("0123456789abcdef0123456789abcdef")
	cases := []struct {
		alg   string
		cfg   JWTConfig
		token string
	}{
		{AlgHS256, JWTConfig{Algorithms: []string{AlgHS256}, HMACSecretFile: writeFile(t, dir, "s", secret)},
			sign(t, jwt.SigningMethodHS256, secret, claims("bench"))},
		{AlgRS256, JWTConfig{Algorithms: []string{AlgRS256}, PublicKeyFile: writeFile(t, dir, "r.pem", pemPublic(t, &testRSAKey().PublicKey))},
			sign(t, jwt.SigningMethodRS256, testRSAKey(), claims("bench"))},
		{AlgES256, JWTConfig{Algorithms: []string{AlgES256}, PublicKeyFile: writeFile(t, dir, "e.pem", pemPublic(t, &testECKey().PublicKey))},
			sign(t, jwt.SigningMethodES256, testECKey(), claims("bench"))},
	}
	for _, c := range cases {
		c.cfg.Enabled = true
		c.cfg.Issuer = "https://id.test"
		v, err := loadJWT(c.cfg)
		if err != nil {
			b.Fatal(err)
		}
		b.Run(c.alg, func(b *testing.B) {
			b.ReportAllocs()
			b.SetBytes(int64(len(c.token)))
			for b.Loop() {
				if _, reason, err := v.verify(c.token); err != nil {
					b.Fatal(reason, err)
				}
			}
		})
	}
}

func BenchmarkLooksLikeJWT(b *testing.B) {
	tok := sign(b, jwt.SigningMethodHS256, []byte("0123456789abcdef0123456789abcdef"), claims("bench"))
	b.ReportAllocs()
	for b.Loop() {
		looksLikeJWT(tok)
	}
}
