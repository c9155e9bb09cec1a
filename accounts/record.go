package accounts

import (
	"bytes"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"time"
)

// State is a user's state: active users authenticate, disabled ones are
// refused and their connections closed.
type State string

// The states.
const (
	StateActive   State = "active"
	StateDisabled State = "disabled"
)

// Valid reports whether s is one of the states.
func (s State) Valid() bool { return s == StateActive || s == StateDisabled }

// RoleAdmin lets a user send IM notifications (rpc notify), alongside the
// names listed in im.admins.
const RoleAdmin = "admin"

// Role limits.
const (
	MaxRoles   = 16
	MaxRoleLen = 64
)

// keyPrefix is the raw key prefix of user records: k/u/{name} (persist's raw
// letter k is the accounts package's).
const keyPrefix = "k/u/"

// userKey returns the raw key of name's record.
func userKey(name string) []byte { return []byte(keyPrefix + name) }

// recordVersion is the version of the stored record layout.
const recordVersion = 1

// record is the stored form of a user, JSON under k/u/{name}. Hash is the
// bcrypt hash ("" for a token-only user). Times are unix milliseconds.
type record struct {
	V       int      `json:"v"`
	Name    string   `json:"name"`
	Hash    string   `json:"hash,omitempty"`
	State   State    `json:"state"`
	Roles   []string `json:"roles,omitempty"`
	Created int64    `json:"created"`
	Updated int64    `json:"updated"`
}

// User is a user as callers see it: never the hash.
type User struct {
	Name        string    `json:"name"`
	State       State     `json:"state"`
	Roles       []string  `json:"roles"`
	HasPassword bool      `json:"has_password"`
	CreatedAt   time.Time `json:"created_at"`
	UpdatedAt   time.Time `json:"updated_at"`
}

// HasRole reports whether u holds role.
func (u User) HasRole(role string) bool { return slices.Contains(u.Roles, role) }

// Active reports whether u may authenticate.
func (u User) Active() bool { return u.State == StateActive }

func (r *record) user() User {
	roles := r.Roles
	if roles == nil {
		roles = []string{}
	}
	return User{
		Name: r.Name, State: r.State, Roles: slices.Clone(roles), HasPassword: r.Hash != "",
		CreatedAt: time.UnixMilli(r.Created).UTC(), UpdatedAt: time.UnixMilli(r.Updated).UTC(),
	}
}

// encode returns the stored bytes of r.
func (r *record) encode() ([]byte, error) {
	r.V = recordVersion
	return json.Marshal(r)
}

// decodeRecord decodes and checks a stored record: known fields only, the
// version, the name, the state and the roles. A record that breaks a rule is
// ErrCorruptRecord (the store holds only what encode wrote, so this is a bug
// or a damaged store, never user input).
func decodeRecord(b []byte) (record, error) {
	var r record
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&r); err != nil {
		return record{}, fmt.Errorf("%w: %w", ErrCorruptRecord, err)
	}
	if dec.More() {
		return record{}, fmt.Errorf("%w: trailing data", ErrCorruptRecord)
	}
	switch {
	case r.V != recordVersion:
		return record{}, fmt.Errorf("%w: version %d", ErrCorruptRecord, r.V)
	case ValidateName(r.Name) != nil:
		return record{}, fmt.Errorf("%w: %w", ErrCorruptRecord, ValidateName(r.Name))
	case !r.State.Valid():
		return record{}, fmt.Errorf("%w: state %q", ErrCorruptRecord, r.State)
	}
	if err := validateRoles(r.Roles); err != nil {
		return record{}, fmt.Errorf("%w: %w", ErrCorruptRecord, err)
	}
	if r.Hash != "" && !strings.HasPrefix(r.Hash, "$2") {
		return record{}, fmt.Errorf("%w: hash is not bcrypt", ErrCorruptRecord)
	}
	return r, nil
}

// validateRoles checks a role list: at most MaxRoles, each 1..MaxRoleLen of
// [a-z0-9_.-], no duplicates. The error wraps ErrInvalidRole.
func validateRoles(roles []string) error {
	if len(roles) > MaxRoles {
		return fmt.Errorf("%w: more than %d roles", ErrInvalidRole, MaxRoles)
	}
	for i, role := range roles {
		if role == "" || len(role) > MaxRoleLen {
			return fmt.Errorf("%w: roles[%d]: must be 1..%d bytes", ErrInvalidRole, i, MaxRoleLen)
		}
		for _, c := range []byte(role) {
			if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '_' || c == '.' || c == '-') {
				return fmt.Errorf("%w: roles[%d]: %q: only [a-z0-9_.-]", ErrInvalidRole, i, role)
			}
		}
		if slices.Index(roles, role) < i {
			return fmt.Errorf("%w: roles[%d]: duplicate %q", ErrInvalidRole, i, role)
		}
	}
	return nil
}
