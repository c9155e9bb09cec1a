package tokens

import (
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/imqtt/imqtt/persist"
)

// Claims is what Verify returns of a valid token.
type Claims struct {
	User    string
	Device  string // "" when minted without one
	ID      string
	Expires time.Time
}

// Owns reports whether token claims to be one of ours: a compact JWS whose
// header's kid starts with "imqtt:". It is cheap and verifies nothing; a
// token it owns is judged by Verify only, never by another issuer's key.
func Owns(token string) bool {
	h, _, ok := strings.Cut(token, ".")
	if !ok || len(h) > 1024 {
		return false
	}
	var hdr struct {
		Kid string `json:"kid"`
	}
	if err := decodeSegment(h, &hdr); err != nil {
		return false
	}
	return strings.HasPrefix(hdr.Kid, kidPrefix)
}

// Verify checks token: HS256 with this cluster's key (the kid must match),
// iss imqtt, exp required and in the future, sub and jti present, and the
// jti not on the deny list. Errors wrap ErrMalformed, ErrExpired,
// ErrRevoked, ErrStorage or ErrClosed.
func (s *Service) Verify(token string) (Claims, error) {
	if err := s.usable(); err != nil {
		return Claims{}, err
	}
	if len(token) > maxToken {
		return Claims{}, fmt.Errorf("%w: longer than %d bytes", ErrMalformed, maxToken)
	}
	var c claims
	p := jwt.NewParser(
		jwt.WithValidMethods([]string{jwt.SigningMethodHS256.Alg()}),
		jwt.WithExpirationRequired(),
		jwt.WithIssuer(issuer),
		jwt.WithTimeFunc(s.opts.Now),
	)
	_, err := p.ParseWithClaims(token, &c, func(t *jwt.Token) (any, error) {
		if kid, _ := t.Header["kid"].(string); kid != s.kid {
			return nil, fmt.Errorf("kid %q is not this cluster's key", kid)
		}
		return s.key.b, nil
	})
	switch {
	case errors.Is(err, jwt.ErrTokenExpired):
		return Claims{}, fmt.Errorf("%w: %w", ErrExpired, err)
	case err != nil:
		return Claims{}, fmt.Errorf("%w: %w", ErrMalformed, err)
	case c.Subject == "" || !validID(c.ID):
		return Claims{}, fmt.Errorf("%w: sub or jti missing", ErrMalformed)
	}
	switch _, err := s.opts.Store.GetRaw(denyKey(c.ID)); {
	case err == nil:
		return Claims{}, fmt.Errorf("%w: %s", ErrRevoked, c.ID)
	case !errors.Is(err, persist.ErrNotFound):
		return Claims{}, fmt.Errorf("%w: deny list: %w", ErrStorage, err)
	}
	return Claims{User: c.Subject, Device: c.Device, ID: c.ID, Expires: c.ExpiresAt.Time}, nil
}
