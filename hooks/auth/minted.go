package auth

import (
	"errors"
	"fmt"

	"github.com/mochi-mqtt/server/v2/packets"
)

// Minted verifies the tokens this cluster mints for app backends (the
// broker adapts tokens.Service to it; this package imports no imqtt package
// but hooks/ext). Both methods must be safe for concurrent use and must not
// block on the network (Verify reads the local store's deny list).
type Minted interface {
	// Owns reports whether token claims to be one of the cluster's (its
	// header's kid): such a token is judged by Verify alone, never by the
	// keys of auth.jwt. Cheap; verifies nothing.
	Owns(token string) bool
	// Verify checks token. An expired token's error wraps ErrMintedExpired,
	// a revoked one's ErrMintedRevoked; any other error refuses it as
	// invalid.
	Verify(token string) (MintedClaims, error)
}

// MintedClaims is what Minted.Verify returns of a valid token.
type MintedClaims struct {
	User      string // the token's sub
	ID        string // its jti: revoking it closes the connection
	ExpiresAt int64  // its exp, unix milliseconds
}

// ReasonTokenRevoked: a minted token whose id is on the deny list.
const ReasonTokenRevoked = "token_revoked"

// decideMinted verifies a token Minted.Owns claims. username, if not
// empty, must equal its user.
func (k *keys) decideMinted(token, username string) decision {
	c, err := k.minted.Verify(token)
	switch {
	case errors.Is(err, ErrMintedExpired):
		return refuse(ReasonTokenExpired, packets.ErrBadUsernameOrPassword, err)
	case errors.Is(err, ErrMintedRevoked):
		return refuse(ReasonTokenRevoked, packets.ErrBadUsernameOrPassword, err)
	case err != nil:
		return refuse(ReasonTokenInvalid, packets.ErrBadUsernameOrPassword, err)
	}
	if err := ValidateUsername(c.User); err != nil {
		return refuse(ReasonTokenSubject, packets.ErrBadUsernameOrPassword, fmt.Errorf("sub: %w", err))
	}
	if username != "" && username != c.User {
		return refuse(ReasonTokenUserMismatch, packets.ErrBadUsernameOrPassword, errors.New("token user differs from mqtt username"))
	}
	return decision{identity: c.User, method: methodMinted, tokenID: c.ID, expiresAt: c.ExpiresAt}
}

// ownsMinted reports whether password is a minted token this hook judges.
func (k *keys) ownsMinted(password string) bool {
	return k.minted != nil && k.minted.Owns(password)
}
