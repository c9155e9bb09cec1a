package broker

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync/atomic"

	"github.com/mochi-mqtt/server/v2/packets"
	"github.com/rs/zerolog"

	"github.com/imqtt/imqtt/broker/adminapi"
	"github.com/imqtt/imqtt/broker/engine"
	"github.com/imqtt/imqtt/hooks/auth"
	"github.com/imqtt/imqtt/hooks/ext"
	"github.com/imqtt/imqtt/internal/logfield"
	"github.com/imqtt/imqtt/tokens"
)

// tokenParts are the app-backend tokens of a node (tokens.enabled): the
// service and the removal of its store observer.
type tokenParts struct {
	svc     *tokens.Service
	unwatch func()
	engine  atomic.Pointer[engine.Engine] // set by bindTokens once the engine exists
	log     zerolog.Logger
}

// newTokens opens the token service (its key read from the file, or from
// the replicated store, created through raft on the cluster's first start)
// and watches applied entries for revocations, on every node. It runs
// after openRaft (a ready node) and before newAccess (auth verifies with
// it).
func (b *Broker) newTokens(ctx context.Context) error {
	if !b.cfg.Tokens.Enabled {
		return nil
	}
	p := &tokenParts{log: b.log}
	svc, err := tokens.New(b.cfg.Tokens, tokens.Options{
		Node: b.writer, Store: b.store, Log: b.rootLog,
		ValidateUser: auth.ValidateUsername,
		CheckUser:    b.tokenUserCheck(),
		OnRevoke:     p.revoked,
		ApplyTimeout: b.cfg.Storage.ApplyTimeout,
	})
	if err != nil {
		return fmt.Errorf("tokens: %w", err)
	}
	if err := svc.Open(ctx); err != nil {
		_ = svc.Close()
		return fmt.Errorf("tokens: %w", err)
	}
	p.svc = svc
	p.unwatch = b.store.AddObserver(svc.Observe)
	b.tokens = p
	return nil
}

// tokenUserCheck is what a mint asks the user store (accounts/): a token is
// minted only for a user the store holds and holds as active (an app backend
// creates its users first, token-only ones need no password). A user known
// only to the password file gets no token: the store is the API's view of
// users. Read at mint time, so the store may be opened after tokens.
func (b *Broker) tokenUserCheck() func(user string) error {
	return func(user string) error {
		if b.accounts == nil {
			return errNoUserStore
		}
		_, active, found, err := b.accounts.Lookup(user)
		switch {
		case err != nil:
			return err
		case !found:
			return errUnknownUser
		case !active:
			return errDisabledUser
		}
		return nil
	}
}

// revoked closes, on this node, the connections that used the revoked
// token ids (the tokens' observer saw the deny entries applied): MQTT 5
// DISCONNECT 0x98 Administrative action, 3.1.1 closed.
func (p *tokenParts) revoked(ids []string) {
	e := p.engine.Load()
	if e == nil {
		return // no connection yet
	}
	n := e.DisconnectWhere(func(c *ext.Client) bool {
		return c.TokenID != "" && slices.Contains(ids, c.TokenID)
	}, packets.ErrAdministrativeAction)
	if n > 0 {
		p.log.Info().Strs(logfield.Revoked, ids).Int(logfield.Count, n).Msg("connections of revoked tokens closed")
	}
}

// bindTokens lets revocations reach the engine (newEngine calls it).
func (b *Broker) bindTokens() {
	if b.tokens != nil {
		b.tokens.engine.Store(b.engine)
	}
}

// mintedAuth adapts the service to hooks/auth's Minted; nil when off.
func (b *Broker) mintedAuth() auth.Minted {
	if b.tokens == nil {
		return nil
	}
	return mintedVerifier{b.tokens.svc}
}

// mintedVerifier is auth.Minted over a tokens.Service.
type mintedVerifier struct{ s *tokens.Service }

func (v mintedVerifier) Owns(token string) bool { return tokens.Owns(token) }

func (v mintedVerifier) Verify(token string) (auth.MintedClaims, error) {
	c, err := v.s.Verify(token)
	switch {
	case errors.Is(err, tokens.ErrExpired):
		return auth.MintedClaims{}, fmt.Errorf("%w: %w", auth.ErrMintedExpired, err)
	case errors.Is(err, tokens.ErrRevoked):
		return auth.MintedClaims{}, fmt.Errorf("%w: %w", auth.ErrMintedRevoked, err)
	case err != nil:
		return auth.MintedClaims{}, err
	}
	return auth.MintedClaims{User: c.User, ID: c.ID, ExpiresAt: c.Expires.UnixMilli()}, nil
}

// close stops watching and closes the service; idempotent through Close.
func (p *tokenParts) close() error {
	p.unwatch()
	return p.svc.Close()
}

// mountTokensAPI adds the token routes to the admin API (newAdmin calls it
// when the admin listener and tokens are on).
func mountTokensAPI(b *Broker, api *adminapi.API) error {
	if b.tokens == nil {
		return nil
	}
	return api.MountTokens(b.admin, b.tokens.svc)
}
