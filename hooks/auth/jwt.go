package auth

import (
	"bytes"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"os"
	"slices"
	"strings"

	"github.com/golang-jwt/jwt/v5"
	"github.com/rs/zerolog"

	"github.com/imqtt/imqtt/internal/logfield"
)

const (
	// minHMACSecretLen is the shortest HS256 secret accepted (RFC 7518 3.2:
	// a key of the same size as the hash output or larger).
	minHMACSecretLen = 32
	// minRSABits is the smallest RSA modulus accepted for RS256.
	minRSABits = 2048
	// maxTokenLen bounds the work spent on one token.
	maxTokenLen = 8 << 10
)

// jwtVerifier checks access tokens against one immutable key set. A new one
// is built on every Reload; it is never changed after construction.
type jwtVerifier struct {
	algs   []string
	hmac   secret           // HS256 key; empty unless HS256 is configured
	pub    crypto.PublicKey // *rsa.PublicKey (RS256) or *ecdsa.PublicKey (ES256)
	parser *jwt.Parser
}

// MarshalZerologObject logs the verifier's shape, never key material.
func (v *jwtVerifier) MarshalZerologObject(e *zerolog.Event) {
	e.Strs(logfield.Algorithms, v.algs).Object(logfield.HMACSecret, v.hmac).Bool(logfield.PublicKey, v.pub != nil)
}

// loadJWT reads the key files named in c (already validated) and builds a
// verifier. Errors name the file and wrap ErrInvalidKey or the I/O error.
func loadJWT(c JWTConfig) (*jwtVerifier, error) {
	v := &jwtVerifier{algs: slices.Clone(c.Algorithms)}
	if slices.Contains(c.Algorithms, AlgHS256) {
		b, err := os.ReadFile(c.HMACSecretFile)
		if err != nil {
			return nil, fmt.Errorf("read hmac secret file %q: %w", c.HMACSecretFile, err)
		}
		// An editor's final newline is not part of the secret.
		b = bytes.TrimRight(b, "\r\n")
		if len(b) < minHMACSecretLen {
			return nil, fmt.Errorf("hmac secret file %q: %w: %d bytes, need at least %d", c.HMACSecretFile, ErrInvalidKey, len(b), minHMACSecretLen)
		}
		v.hmac = secret{b: b}
	}
	rs, es := slices.Contains(c.Algorithms, AlgRS256), slices.Contains(c.Algorithms, AlgES256)
	if rs || es {
		pub, err := loadPublicKey(c.PublicKeyFile)
		if err != nil {
			return nil, err
		}
		switch k := pub.(type) {
		case *rsa.PublicKey:
			if !rs {
				return nil, fmt.Errorf("public key file %q: %w: RSA key but %s is not configured", c.PublicKeyFile, ErrInvalidKey, AlgRS256)
			}
			if k.N.BitLen() < minRSABits {
				return nil, fmt.Errorf("public key file %q: %w: RSA key of %d bits, need at least %d", c.PublicKeyFile, ErrInvalidKey, k.N.BitLen(), minRSABits)
			}
		case *ecdsa.PublicKey:
			if !es {
				return nil, fmt.Errorf("public key file %q: %w: ECDSA key but %s is not configured", c.PublicKeyFile, ErrInvalidKey, AlgES256)
			}
			if k.Curve != elliptic.P256() {
				return nil, fmt.Errorf("public key file %q: %w: ECDSA key on %s, %s needs P-256", c.PublicKeyFile, ErrInvalidKey, k.Curve.Params().Name, AlgES256)
			}
		default:
			return nil, fmt.Errorf("public key file %q: %w: unsupported key type %T", c.PublicKeyFile, ErrInvalidKey, pub)
		}
		v.pub = pub
	}
	opts := []jwt.ParserOption{
		jwt.WithValidMethods(v.algs),
		jwt.WithExpirationRequired(),
		jwt.WithIssuedAt(),
		jwt.WithLeeway(c.Leeway),
	}
	if c.Issuer != "" {
		opts = append(opts, jwt.WithIssuer(c.Issuer))
	}
	if c.Audience != "" {
		opts = append(opts, jwt.WithAudience(c.Audience))
	}
	v.parser = jwt.NewParser(opts...)
	return v, nil
}

// loadPublicKey reads the first PEM block of path: a PKIX public key, a
// PKCS#1 RSA public key or an X.509 certificate.
func loadPublicKey(path string) (crypto.PublicKey, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read public key file %q: %w", path, err)
	}
	block, _ := pem.Decode(data)
	if block == nil {
		return nil, fmt.Errorf("public key file %q: %w: no PEM block", path, ErrInvalidKey)
	}
	switch block.Type {
	case "PUBLIC KEY":
		k, err := x509.ParsePKIXPublicKey(block.Bytes)
		if err != nil {
			return nil, fmt.Errorf("public key file %q: %w: %w", path, ErrInvalidKey, err)
		}
		return k, nil
	case "RSA PUBLIC KEY":
		k, err := x509.ParsePKCS1PublicKey(block.Bytes)
		if err != nil {
			return nil, fmt.Errorf("public key file %q: %w: %w", path, ErrInvalidKey, err)
		}
		return k, nil
	case "CERTIFICATE":
		cert, err := x509.ParseCertificate(block.Bytes)
		if err != nil {
			return nil, fmt.Errorf("public key file %q: %w: %w", path, ErrInvalidKey, err)
		}
		return cert.PublicKey, nil
	default:
		// Notably "PRIVATE KEY": a private key does not belong on the broker.
		return nil, fmt.Errorf("public key file %q: %w: PEM block %q, want PUBLIC KEY, RSA PUBLIC KEY or CERTIFICATE", path, ErrInvalidKey, block.Type)
	}
}

// key is the jwt.Keyfunc. It picks the key by the token's alg, and only from
// the key configured for that alg: an HS256 token is never checked against the
// RSA/EC public key (the key-confusion attack).
func (v *jwtVerifier) key(t *jwt.Token) (any, error) {
	alg := t.Method.Alg()
	if !slices.Contains(v.algs, alg) {
		return nil, fmt.Errorf("alg %q not configured", alg)
	}
	switch t.Method.(type) {
	case *jwt.SigningMethodHMAC:
		if alg == AlgHS256 && len(v.hmac.reveal()) > 0 {
			return v.hmac.reveal(), nil
		}
	case *jwt.SigningMethodRSA:
		if k, ok := v.pub.(*rsa.PublicKey); ok && alg == AlgRS256 {
			return k, nil
		}
	case *jwt.SigningMethodECDSA:
		if k, ok := v.pub.(*ecdsa.PublicKey); ok && alg == AlgES256 {
			return k, nil
		}
	}
	return nil, fmt.Errorf("no key for alg %q", alg)
}

// verify checks token and returns its subject. On failure it returns the
// refusal reason (a Reason* constant) and the error, for the log.
func (v *jwtVerifier) verify(token string) (sub, reason string, err error) {
	sub, _, reason, err = v.verifyExp(token)
	return sub, reason, err
}

// verifyExp is verify that also returns the token's exp (unix
// milliseconds): the engine closes the connection then.
func (v *jwtVerifier) verifyExp(token string) (sub string, expMs int64, reason string, err error) {
	if len(token) > maxTokenLen {
		return "", 0, ReasonTokenInvalid, fmt.Errorf("token longer than %d bytes", maxTokenLen)
	}
	alg, ok := tokenAlg(token)
	if !ok {
		return "", 0, ReasonTokenInvalid, errors.New("malformed token header")
	}
	if !slices.Contains(v.algs, alg) {
		// Checked before the library does, to give the precise reason; the
		// parser's WithValidMethods checks it again.
		return "", 0, ReasonTokenAlg, fmt.Errorf("alg %q not in configured algorithms", alg)
	}
	// The claim types are checked before the signature: jwt/v5 would accept
	// a quoted exp, and refuse an array sub only as a malformed token.
	if reason, err := checkClaimTypes(token); err != nil {
		return "", 0, reason, err
	}
	var claims jwt.RegisteredClaims
	if _, err := v.parser.ParseWithClaims(token, &claims, v.key); err != nil {
		return "", 0, jwtReason(err), err
	}
	if err := ValidateUsername(claims.Subject); err != nil {
		return "", 0, ReasonTokenSubject, fmt.Errorf("sub: %w", err)
	}
	return claims.Subject, claims.ExpiresAt.UnixMilli(), "", nil
}

// jwtReason maps a jwt/v5 error to a refusal reason.
func jwtReason(err error) string {
	switch {
	case errors.Is(err, jwt.ErrTokenExpired):
		return ReasonTokenExpired
	case errors.Is(err, jwt.ErrTokenNotValidYet), errors.Is(err, jwt.ErrTokenUsedBeforeIssued):
		return ReasonTokenNotYetValid
	case errors.Is(err, jwt.ErrTokenRequiredClaimMissing),
		errors.Is(err, jwt.ErrTokenInvalidIssuer),
		errors.Is(err, jwt.ErrTokenInvalidAudience),
		errors.Is(err, jwt.ErrTokenInvalidClaims):
		return ReasonTokenClaims
	default:
		return ReasonTokenInvalid
	}
}

// tokenAlg decodes the header of a compact JWS and returns its "alg". ok is
// false if token is not three dot-separated base64url parts whose first
// decodes to a JSON object with a string "alg".
func tokenAlg(token string) (alg string, ok bool) {
	header, ok := jwtHeader(token)
	if !ok {
		return "", false
	}
	var h map[string]any
	if err := json.Unmarshal(header, &h); err != nil {
		return "", false
	}
	alg, ok = h["alg"].(string)
	return alg, ok
}

// looksLikeJWT reports whether password has the shape of a compact JWS: three
// base64url parts (the signature may be empty), the first decoding to
// something that starts like a JSON object. It decides whether a
// username+password CONNECT is checked as a token or against the password
// file, so it is cheap and does not verify anything.
func looksLikeJWT(password string) bool {
	_, ok := jwtHeader(password)
	return ok
}

// jwtHeader splits token and returns its decoded header if the token has the
// compact JWS shape.
func jwtHeader(token string) ([]byte, bool) {
	h, rest, ok := strings.Cut(token, ".")
	if !ok {
		return nil, false
	}
	payload, sig, ok := strings.Cut(rest, ".")
	if !ok || h == "" || payload == "" || strings.Contains(sig, ".") {
		return nil, false
	}
	if !isBase64URL(h) || !isBase64URL(payload) || !isBase64URL(sig) {
		return nil, false
	}
	header, err := base64.RawURLEncoding.DecodeString(h)
	if err != nil {
		return nil, false
	}
	header = bytes.TrimLeft(header, " \t\r\n")
	if len(header) == 0 || header[0] != '{' {
		return nil, false
	}
	return header, true
}

func isBase64URL(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c == '-' || c == '_' || (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9')) {
			return false
		}
	}
	return true
}
