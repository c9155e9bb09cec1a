package broker

import (
	"fmt"
	"sync/atomic"

	"github.com/mochi-mqtt/server/v2/packets"

	"github.com/imqtt/imqtt/accounts"
	"github.com/imqtt/imqtt/broker/engine"
	"github.com/imqtt/imqtt/internal/logfield"
)

// userKicker closes the local connections of users disabled or deleted in
// the replicated user store, on every node: the store's watcher calls kick
// for every user change this node applies, whoever proposed it. The engine
// is set once it exists (changes applied before have no local connection to
// close).
type userKicker struct {
	b      *Broker
	engine atomic.Pointer[engine.Engine]
}

// kick is accounts.Options.OnChange: a revoked user's devices here get v5
// DISCONNECT 0x98 (Administrative action), 3.1.1 ones are closed. New
// connects are refused by the auth hook, which reads the same store.
func (k *userKicker) kick(c accounts.Change) {
	if !c.Revoked() {
		return
	}
	e := k.engine.Load()
	if e == nil {
		return
	}
	n := e.DisconnectUser(c.Name, packets.ErrAdministrativeAction.Code)
	if n > 0 {
		k.b.log.Info().Str(logfield.User, c.Name).Bool(logfield.Deleted, c.Deleted).
			Int(logfield.Disconnected, n).Msg("user revoked: devices disconnected")
	}
}

// newAccounts opens the replicated user store (always on: a node with no
// user in it authenticates as before) with the kicker as its watcher. Call
// it in newAccess, before the IM service (the "admin" role) and the auth
// hook (the store's users) are built.
func (b *Broker) newAccounts() (err error) {
	cfg := accounts.DefaultConfig()
	cfg.BcryptCost = b.cfg.Auth.BcryptCost
	if b.cfg.Storage.ApplyTimeout > 0 {
		cfg.ApplyTimeout = b.cfg.Storage.ApplyTimeout
	}
	b.kicker = &userKicker{b: b}
	if b.accounts, err = accounts.New(cfg, accounts.Options{
		Node: b.writer, Store: b.store, Log: b.rootLog, OnChange: b.kicker.kick,
	}); err != nil {
		return fmt.Errorf("accounts: %w", err)
	}
	return nil
}

// isStoreAdmin is im.Options.IsAdmin: an active user holding the store's
// "admin" role sends IM notifications, beside im.admins.
func (b *Broker) isStoreAdmin(user string) bool {
	return b.accounts != nil && b.accounts.HasRole(user, accounts.RoleAdmin)
}
