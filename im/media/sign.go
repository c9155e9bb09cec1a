package media

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// PathPrefix is where the HTTP listener serves the embedded store.
const PathPrefix = "/media/"

// Signed is a parsed embedded-store URL: what its signature covers.
//
//	PUT {base}/media/{key}?m={mime}&n={size}&h={sha256}&e={unix s}&s={sig}
//	GET {base}/media/{key}?m={mime}&e={unix s}&s={sig}
//
// sig is the unpadded base64url HMAC-SHA256 of the method, key, mime, size,
// sha256 and expiry (size and sha256 empty for GET).
type Signed struct {
	Method string // http.MethodPut or http.MethodGet
	Key    string
	MIME   string
	Size   int64  // PUT only
	SHA256 string // PUT only
	Exp    int64  // unix seconds
	Sig    string
}

// canonical is what the signature covers.
func (s *Signed) canonical() string {
	size := ""
	if s.Method == http.MethodPut {
		size = strconv.FormatInt(s.Size, 10)
	}
	return "imqtt-media-url\x00" + s.Method + "\x00" + s.Key + "\x00" + s.MIME + "\x00" + size + "\x00" + s.SHA256 + "\x00" + strconv.FormatInt(s.Exp, 10)
}

func (s *Signed) mac(secret []byte) string {
	m := hmac.New(sha256.New, secret)
	m.Write([]byte(s.canonical()))
	return base64.RawURLEncoding.EncodeToString(m.Sum(nil))
}

// pathAndQuery signs s and returns the URL path and query.
func (s *Signed) pathAndQuery(secret []byte) string {
	s.Sig = s.mac(secret)
	q := "m=" + url.QueryEscape(s.MIME)
	if s.Method == http.MethodPut {
		q += "&n=" + strconv.FormatInt(s.Size, 10) + "&h=" + s.SHA256
	}
	return PathPrefix + s.Key + "?" + q + "&e=" + strconv.FormatInt(s.Exp, 10) + "&s=" + s.Sig
}

// ParseSigned parses the path and raw query of an embedded-store request for
// method (PUT or GET; HEAD is checked as GET). It checks syntax only: Verify
// checks the signature and expiry. Errors wrap ErrBadSignature or
// ErrNotIssued (a key that is not the server's layout: traversal attempts
// end here).
func ParseSigned(method, path, rawQuery string) (Signed, error) {
	var s Signed
	switch method {
	case http.MethodPut, http.MethodGet:
	case http.MethodHead:
		method = http.MethodGet
	default:
		return s, fmt.Errorf("%w: method %q", ErrBadSignature, clip(method))
	}
	s.Method = method
	key, ok := strings.CutPrefix(path, PathPrefix)
	if !ok {
		return s, fmt.Errorf("%w: path outside %s", ErrNotIssued, PathPrefix)
	}
	if _, _, err := parseKey(key); err != nil {
		return s, err
	}
	s.Key = key
	q, err := url.ParseQuery(rawQuery)
	if err != nil {
		return s, fmt.Errorf("%w: query: %v", ErrBadSignature, err)
	}
	want := map[string]bool{"m": true, "e": true, "s": true}
	if method == http.MethodPut {
		want["n"], want["h"] = true, true
	}
	for k, v := range q {
		if !want[k] || len(v) != 1 {
			return s, fmt.Errorf("%w: unexpected or repeated parameter %q", ErrBadSignature, clip(k))
		}
	}
	for k := range want {
		if _, ok := q[k]; !ok {
			return s, fmt.Errorf("%w: missing parameter %q", ErrBadSignature, k)
		}
	}
	s.MIME, s.Sig = q.Get("m"), q.Get("s")
	if !validMIME(s.MIME) {
		return s, fmt.Errorf("%w: bad mime", ErrBadSignature)
	}
	if s.Exp, err = strconv.ParseInt(q.Get("e"), 10, 64); err != nil || s.Exp <= 0 {
		return s, fmt.Errorf("%w: bad expiry", ErrBadSignature)
	}
	if len(s.Sig) != 43 { // base64url of 32 bytes, unpadded
		return s, fmt.Errorf("%w: bad signature length", ErrBadSignature)
	}
	if method == http.MethodPut {
		if s.Size, err = strconv.ParseInt(q.Get("n"), 10, 64); err != nil || s.Size < 1 {
			return s, fmt.Errorf("%w: bad size", ErrBadSignature)
		}
		if s.SHA256 = q.Get("h"); !sha256Hex.MatchString(s.SHA256) {
			return s, fmt.Errorf("%w: bad sha256", ErrBadSignature)
		}
	}
	return s, nil
}

// Verify checks s's signature with secret and its expiry at now.
func (s *Signed) Verify(secret []byte, now time.Time) error {
	if !hmac.Equal([]byte(s.mac(secret)), []byte(s.Sig)) {
		return ErrBadSignature
	}
	if now.Unix() > s.Exp {
		return ErrExpired
	}
	return nil
}
