package accounts

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"

	"golang.org/x/crypto/bcrypt"

	"github.com/imqtt/imqtt/persist"
)

// maxPasswordLen is the longest password bcrypt hashes without truncation.
const maxPasswordLen = 72

// NewUser is what Create stores. Password "" makes a token-only user (no
// password login). State "" means active; Roles may be empty.
type NewUser struct {
	Name     string
	Password string
	State    State
	Roles    []string
}

// Update is a change to a user; nil fields stay as they are.
// ClearPassword removes the password (the user becomes token-only) and
// excludes Password.
type Update struct {
	Password      *string
	ClearPassword bool
	State         *State
	Roles         *[]string
}

// checkPassword checks a password to be stored.
func checkPassword(p string) error {
	switch {
	case p == "":
		return fmt.Errorf("%w: empty", ErrInvalidPassword)
	case len(p) > maxPasswordLen:
		return fmt.Errorf("%w: longer than %d bytes (bcrypt limit)", ErrInvalidPassword, maxPasswordLen)
	}
	return nil
}

// hash returns the bcrypt hash of p at the configured cost.
func (s *Service) hash(p string) (string, error) {
	h, err := bcrypt.GenerateFromPassword([]byte(p), s.cfg.BcryptCost)
	if err != nil {
		return "", fmt.Errorf("hash password: %w", err)
	}
	return string(h), nil
}

// Create adds a user; ErrExists if the name is taken (checked when the
// command applies: of two concurrent creates of one name exactly one wins).
// Errors wrap ErrInvalidName, ErrInvalidPassword, ErrInvalidState,
// ErrInvalidRole, ErrExists, ErrConflict, ErrStorage or ErrClosed.
func (s *Service) Create(ctx context.Context, nu NewUser) (User, error) {
	if err := ValidateName(nu.Name); err != nil {
		return User{}, err
	}
	if nu.State == "" {
		nu.State = StateActive
	}
	if !nu.State.Valid() {
		return User{}, fmt.Errorf("%w: %q", ErrInvalidState, nu.State)
	}
	if err := validateRoles(nu.Roles); err != nil {
		return User{}, err
	}
	var hash string
	if nu.Password != "" {
		if err := checkPassword(nu.Password); err != nil {
			return User{}, err
		}
		var err error
		if hash, err = s.hash(nu.Password); err != nil {
			return User{}, err
		}
	}
	return s.create(ctx, nu.Name, hash, nu.State, nu.Roles)
}

// Import adds a user with an existing bcrypt hash (a password file line);
// ErrExists if the store has the name already. The hash must be bcrypt
// ($2a$, $2b$, $2y$).
func (s *Service) Import(ctx context.Context, name string, hash []byte) (User, error) {
	if err := ValidateName(name); err != nil {
		return User{}, err
	}
	if _, err := bcrypt.Cost(hash); err != nil {
		return User{}, fmt.Errorf("%w: not a bcrypt hash: %w", ErrInvalidPassword, err)
	}
	return s.create(ctx, name, string(hash), StateActive, nil)
}

func (s *Service) create(ctx context.Context, name, hash string, st State, roles []string) (User, error) {
	var out record
	err := s.change(ctx, name, func(old []byte) ([]persist.Op, error) {
		if old != nil {
			return nil, fmt.Errorf("create %q: %w", name, ErrExists)
		}
		now := s.opts.Now().UnixMilli()
		out = record{Name: name, Hash: hash, State: st, Roles: slices.Clone(roles), Created: now, Updated: now}
		v, err := out.encode()
		if err != nil {
			return nil, err
		}
		return []persist.Op{persist.PutRawOp(userKey(name), v, 0)}, nil
	})
	if err != nil {
		return User{}, err
	}
	return out.user(), nil
}

// UpdateUser applies u to name's record; ErrNotFound if there is none.
// Changing the state to disabled makes every node close the user's
// connections (Options.OnChange). Errors as Create's, and ErrNotFound.
func (s *Service) UpdateUser(ctx context.Context, name string, u Update) (User, error) {
	if err := ValidateName(name); err != nil {
		return User{}, err
	}
	if u.State != nil && !u.State.Valid() {
		return User{}, fmt.Errorf("%w: %q", ErrInvalidState, *u.State)
	}
	if u.Roles != nil {
		if err := validateRoles(*u.Roles); err != nil {
			return User{}, err
		}
	}
	var hash string
	if u.Password != nil {
		if u.ClearPassword {
			return User{}, fmt.Errorf("%w: both a new password and clear_password", ErrInvalidPassword)
		}
		if err := checkPassword(*u.Password); err != nil {
			return User{}, err
		}
		var err error
		if hash, err = s.hash(*u.Password); err != nil {
			return User{}, err
		}
	}
	var out record
	err := s.change(ctx, name, func(old []byte) ([]persist.Op, error) {
		if old == nil {
			return nil, fmt.Errorf("update %q: %w", name, ErrNotFound)
		}
		r, err := decodeRecord(old)
		if err != nil {
			return nil, fmt.Errorf("%w: %w", ErrStorage, err)
		}
		switch {
		case u.Password != nil:
			r.Hash = hash
		case u.ClearPassword:
			r.Hash = ""
		}
		if u.State != nil {
			r.State = *u.State
		}
		if u.Roles != nil {
			r.Roles = slices.Clone(*u.Roles)
		}
		r.Updated = max(s.opts.Now().UnixMilli(), r.Created)
		v, err := r.encode()
		if err != nil {
			return nil, err
		}
		out = r
		return []persist.Op{persist.PutRawOp(userKey(name), v, 0)}, nil
	})
	if err != nil {
		return User{}, err
	}
	return out.user(), nil
}

// Delete removes name's record; ErrNotFound if there is none. Every node
// closes the user's connections (Options.OnChange). What the user owned
// elsewhere (sessions, conversations, messages) is not touched: see doc.go
// "Deleting a user".
func (s *Service) Delete(ctx context.Context, name string) error {
	if err := ValidateName(name); err != nil {
		return err
	}
	return s.change(ctx, name, func(old []byte) ([]persist.Op, error) {
		if old == nil {
			return nil, fmt.Errorf("delete %q: %w", name, ErrNotFound)
		}
		return []persist.Op{persist.DeleteRawOp(userKey(name))}, nil
	})
}

// get reads name's record from this node's store.
func (s *Service) get(name string) (record, error) {
	if ValidateName(name) != nil {
		return record{}, fmt.Errorf("get user: %w", ErrNotFound) // no such key can exist
	}
	v, err := s.opts.Store.GetRaw(userKey(name))
	if errors.Is(err, persist.ErrNotFound) {
		return record{}, fmt.Errorf("get %q: %w", name, ErrNotFound)
	}
	if err != nil {
		return record{}, fmt.Errorf("%w: read user: %w", ErrStorage, err)
	}
	return decodeRecord(v)
}

// Get returns name as this node's store holds it (ErrNotFound).
func (s *Service) Get(name string) (User, error) {
	r, err := s.get(name)
	if err != nil {
		return User{}, err
	}
	return r.user(), nil
}

// Lookup is the authenticator's read: the bcrypt hash (nil for a token-only
// user), whether the user is active, and found false (no error) when the
// store has no such user. It reads this node's store, which is as current
// as the node's applied index.
func (s *Service) Lookup(name string) (hash []byte, active, found bool, err error) {
	r, err := s.get(name)
	if errors.Is(err, ErrNotFound) {
		return nil, false, false, nil
	}
	if err != nil {
		return nil, false, false, err
	}
	if r.Hash != "" {
		hash = []byte(r.Hash)
	}
	return hash, r.State == StateActive, true, nil
}

// HasRole reports whether name is an active user of the store holding role
// (false on any error).
func (s *Service) HasRole(name, role string) bool {
	r, err := s.get(name)
	return err == nil && r.State == StateActive && slices.Contains(r.Roles, role)
}

// MaxListLimit is the largest page List returns.
const MaxListLimit = 1000

// ListOptions select a page of users, in name order.
type ListOptions struct {
	// After is the last name of the previous page ("" from the start).
	After string
	// Limit is the page size (1..MaxListLimit; 0 means 100).
	Limit int
	// Prefix keeps names starting with it.
	Prefix string
	// State keeps users in that state ("" any).
	State State
	// Role keeps users holding that role ("" any).
	Role string
}

// List returns one page of users and the name to pass as After for the next
// page ("" when this is the last).
func (s *Service) List(o ListOptions) (users []User, next string, err error) {
	if o.Limit == 0 {
		o.Limit = 100
	}
	if o.Limit < 0 || o.Limit > MaxListLimit {
		return nil, "", fmt.Errorf("%w: limit %d outside 1..%d", ErrInvalidQuery, o.Limit, MaxListLimit)
	}
	if o.State != "" && !o.State.Valid() {
		return nil, "", fmt.Errorf("%w: %q", ErrInvalidState, o.State)
	}
	prefix := userKey(o.Prefix)
	var start []byte
	if o.After != "" {
		start = append(userKey(o.After), 0) // the first key after After
	}
	users = []User{}
	more := false
	err = s.opts.Store.ScanRaw(prefix, persist.ScanOptions{Start: start}, func(key, value []byte) error {
		r, err := decodeRecord(value)
		if err != nil {
			return fmt.Errorf("user record %q: %w", strings.TrimPrefix(string(key), keyPrefix), err)
		}
		if (o.State != "" && r.State != o.State) || (o.Role != "" && !slices.Contains(r.Roles, o.Role)) {
			return nil
		}
		if len(users) == o.Limit {
			more = true
			return persist.ErrStopScan
		}
		users = append(users, r.user())
		return nil
	})
	if err != nil {
		return nil, "", fmt.Errorf("%w: list users: %w", ErrStorage, err)
	}
	if more {
		next = users[len(users)-1].Name
	}
	return users, next, nil
}
