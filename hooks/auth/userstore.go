package auth

import (
	"crypto/rand"
	"errors"
	"fmt"
	"sync"

	"github.com/mochi-mqtt/server/v2/packets"
	"golang.org/x/crypto/bcrypt"
)

// methodStore is the authentication method of a user of the replicated user
// store (Options.Users), logged on success.
const methodStore = "user_store"

// UserStore is the replicated user store (accounts.Service) as the hook
// reads it. Lookup returns name's bcrypt hash (nil for a token-only user),
// whether the user is active, and found false (no error) when the store has
// no such user. It reads the node's local state, must be safe for
// concurrent use and must not block on the network.
type UserStore interface {
	Lookup(name string) (hash []byte, active, found bool, err error)
}

// Which source wins (doc.go "User store"): a user the store names is checked
// against the store only (its hash, its state); the password file is asked
// only about names the store does not hold. Whatever authenticated the
// client (store, password file, token), a user the store holds as disabled
// is refused.

// decideStore checks c against the user store. handled is false when the
// store does not name the user (the password file decides then).
func (k *keys) decideStore(c credentials) (d decision, handled bool) {
	hash, active, found, err := k.users.Lookup(c.username)
	if err != nil {
		return refuse(ReasonUserStore, packets.ErrServerUnavailable, fmt.Errorf("user store: %w", err)), true
	}
	if !found {
		if k.passwords != nil {
			return decision{}, false
		}
		// No password file to ask: pay one bcrypt as for a known user, so
		// the time taken does not tell which users exist.
		_ = k.dummy.compare(c.password)
		return refuse(ReasonUnknownUser, packets.ErrBadUsernameOrPassword, errors.New("user not in the user store")), true
	}
	ok := false
	if hash == nil { // a token-only user has no password to log in with
		_ = k.dummy.compare(c.password)
	} else {
		ok = compareBounded(hash, c.password)
	}
	switch {
	case !ok:
		return refuse(ReasonBadPassword, packets.ErrBadUsernameOrPassword, errors.New("password does not match the user store")), true
	case !active:
		// Only after the right password, so a guess learns nothing.
		return refuse(ReasonUserDisabled, packets.ErrBanned, errors.New("user is disabled")), true
	}
	return decision{identity: c.username, method: methodStore}, true
}

// refuseDisabled turns an accepted decision for a user the store holds as
// disabled into a refusal: the store wins over the password file and over
// tokens.
func (k *keys) refuseDisabled(d decision) decision {
	if k.users == nil || d.reason != "" || d.identity == "" || d.method == methodStore {
		return d
	}
	_, active, found, err := k.users.Lookup(d.identity)
	switch {
	case err != nil:
		return refuse(ReasonUserStore, packets.ErrServerUnavailable, fmt.Errorf("user store: %w", err))
	case found && !active:
		return refuse(ReasonUserDisabled, packets.ErrBanned, errors.New("user is disabled in the user store"))
	}
	return d
}

// compareBounded is bcrypt's comparison that pays the cost for a password
// over bcrypt's 72 bytes too, then refuses it.
func compareBounded(hash []byte, password string) bool {
	pw := []byte(password)
	tooLong := len(pw) > maxPasswordLen
	if tooLong {
		pw = pw[:maxPasswordLen]
	}
	return bcrypt.CompareHashAndPassword(hash, pw) == nil && !tooLong && password != ""
}

// dummyHash is a bcrypt hash of a random password, made on first use at the
// configured cost, compared against when there is no real hash to check.
type dummyHash struct {
	cost int
	once sync.Once
	hash []byte
}

func (d *dummyHash) compare(password string) bool {
	d.once.Do(func() {
		var pw [32]byte
		_, _ = rand.Read(pw[:]) // crypto/rand.Read never fails (Go >= 1.24)
		d.hash, _ = bcrypt.GenerateFromPassword(pw[:], d.cost)
	})
	if d.hash == nil {
		return false
	}
	_ = compareBounded(d.hash, password)
	return false
}
