package tokens

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/binary"
	"fmt"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/imqtt/imqtt/internal/logfield"
	"github.com/imqtt/imqtt/persist"
)

// claims are the JWT claims of our tokens: sub, exp, iat, jti, iss and the
// device id.
type claims struct {
	Device string `json:"dev,omitempty"`
	jwt.RegisteredClaims
}

// Mint creates a token for user (and device, "" for none) living ttl (0:
// tokens.default_ttl; at most tokens.max_ttl, at least MinTTL), records it
// through raft and returns it. Errors wrap ErrInvalidRequest,
// ErrUserRefused, ErrStorage or ErrClosed.
func (s *Service) Mint(ctx context.Context, user, device string, ttl time.Duration) (Token, error) {
	if err := s.usable(); err != nil {
		return Token{}, err
	}
	validate := checkUser
	if s.opts.ValidateUser != nil {
		validate = s.opts.ValidateUser
	}
	if err := validate(user); err != nil {
		return Token{}, fmt.Errorf("%w: %w", ErrInvalidRequest, err)
	}
	if err := checkDevice(device); err != nil {
		return Token{}, err
	}
	if ttl == 0 {
		ttl = s.cfg.DefaultTTL
	}
	if ttl < MinTTL || ttl > s.cfg.MaxTTL {
		return Token{}, fmt.Errorf("%w: ttl %s: must be between %s and %s", ErrInvalidRequest, ttl, MinTTL, s.cfg.MaxTTL)
	}
	// The hook for the user store: unknown or disabled users get no token.
	if s.opts.CheckUser != nil {
		if err := s.opts.CheckUser(user); err != nil {
			return Token{}, fmt.Errorf("%w: %w", ErrUserRefused, err)
		}
	}
	var raw [idBytes]byte
	_, _ = rand.Read(raw[:])
	now := s.opts.Now()
	exp := now.Add(ttl).Truncate(time.Second) // NumericDate has seconds
	if !exp.After(now) {
		exp = exp.Add(time.Second)
	}
	rec := Record{
		ID: base64.RawURLEncoding.EncodeToString(raw[:]), User: user, Device: device,
		Expires: exp.UnixMilli(), Issued: now.UnixMilli(),
	}
	tok := jwt.NewWithClaims(jwt.SigningMethodHS256, claims{
		Device: device,
		RegisteredClaims: jwt.RegisteredClaims{
			Issuer: issuer, Subject: user, ID: rec.ID,
			ExpiresAt: jwt.NewNumericDate(exp), IssuedAt: jwt.NewNumericDate(now),
		},
	})
	tok.Header["kid"] = s.kid
	signed, err := tok.SignedString(s.key.b)
	if err != nil {
		return Token{}, fmt.Errorf("sign token: %w", err)
	}
	body, err := encodeRecord(rec)
	if err != nil {
		return Token{}, err
	}
	keep := exp.Add(Margin).UnixMilli()
	ops := []persist.Op{
		persist.PutRawOp(recordKey(rec.ID), body, keep),
		persist.PutRawOp(userKey(user, rec.ID), binary.BigEndian.AppendUint64(nil, uint64(rec.Expires)), keep),
	}
	if _, err := s.apply(ctx, ops); err != nil {
		return Token{}, fmt.Errorf("record token: %w", err)
	}
	s.log.Info().Str(logfield.User, user).Str(logfield.Device, device).Str(logfield.TokenID, rec.ID).
		Time(logfield.Expires, exp).Msg("token minted")
	return Token{Token: signed, Record: rec}, nil
}
