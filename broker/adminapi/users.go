package adminapi

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"

	"github.com/imqtt/imqtt/accounts"
	"github.com/imqtt/imqtt/broker/admin"
	"github.com/imqtt/imqtt/internal/logfield"
)

// UsersAdmin is what the API needs of the replicated user store
// (*accounts.Service).
type UsersAdmin interface {
	Create(ctx context.Context, nu accounts.NewUser) (accounts.User, error)
	Import(ctx context.Context, name string, hash []byte) (accounts.User, error)
	UpdateUser(ctx context.Context, name string, u accounts.Update) (accounts.User, error)
	Delete(ctx context.Context, name string) error
	Get(name string) (accounts.User, error)
	List(o accounts.ListOptions) ([]accounts.User, string, error)
}

// maxUserBody bounds the JSON body of POST and PATCH /api/v1/users.
const maxUserBody = 64 << 10

// CreateUserRequest is the body of POST /api/v1/users. Password "" (or
// absent) makes a token-only user; State "" is active.
type CreateUserRequest struct {
	Name     string         `json:"name"`
	Password string         `json:"password,omitempty"`
	State    accounts.State `json:"state,omitempty"`
	Roles    []string       `json:"roles,omitempty"`
	// PasswordHash imports an existing bcrypt hash (a password file line)
	// instead of Password; State and Roles must then be absent.
	PasswordHash string `json:"password_hash,omitempty"`
}

// UpdateUserRequest is the body of PATCH /api/v1/users/{name}: absent fields
// stay as they are.
type UpdateUserRequest struct {
	Password      *string         `json:"password,omitempty"`
	ClearPassword bool            `json:"clear_password,omitempty"`
	State         *accounts.State `json:"state,omitempty"`
	Roles         *[]string       `json:"roles,omitempty"`
}

// usersRoutes are the user store routes (always present on a broker).
// Names with '/' are sent as %2F in the path.
func (a *API) usersRoutes() map[string]http.Handler {
	return map[string]http.Handler{
		"GET /api/v1/users":           http.HandlerFunc(a.listUsers),
		"POST /api/v1/users":          http.HandlerFunc(a.createUser),
		"GET /api/v1/users/{name}":    http.HandlerFunc(a.getUser),
		"PATCH /api/v1/users/{name}":  http.HandlerFunc(a.updateUser),
		"DELETE /api/v1/users/{name}": http.HandlerFunc(a.deleteUser),
	}
}

// failUsers maps the store's errors: bad input 400, unknown user 404, a name
// taken or a record that kept changing 409, anything else as fail does.
func (a *API) failUsers(w http.ResponseWriter, err error) {
	switch {
	case errors.Is(err, accounts.ErrInvalidName), errors.Is(err, accounts.ErrInvalidPassword),
		errors.Is(err, accounts.ErrInvalidState), errors.Is(err, accounts.ErrInvalidRole),
		errors.Is(err, accounts.ErrInvalidQuery), errors.Is(err, ErrInvalidBody):
		admin.WriteError(w, http.StatusBadRequest, codeBadRequest, err.Error())
	case errors.Is(err, accounts.ErrNotFound):
		admin.WriteError(w, http.StatusNotFound, codeNotFound, err.Error())
	case errors.Is(err, accounts.ErrExists), errors.Is(err, accounts.ErrConflict):
		admin.WriteError(w, http.StatusConflict, codeConflict, err.Error())
	case errors.Is(err, accounts.ErrStorage), errors.Is(err, accounts.ErrClosed):
		admin.WriteError(w, http.StatusServiceUnavailable, codeUnavailable, err.Error())
	default:
		a.fail(w, err)
	}
}

// decodeUserBody decodes a JSON object of at most maxUserBody bytes into v,
// refusing unknown fields and trailing data. Errors wrap ErrInvalidBody.
func decodeUserBody(body io.Reader, v any) error {
	b, err := io.ReadAll(io.LimitReader(body, maxUserBody+1))
	if err != nil {
		return fmt.Errorf("%w: %v", ErrInvalidBody, err)
	}
	if len(b) > maxUserBody {
		return fmt.Errorf("%w: larger than %d bytes", ErrInvalidBody, maxUserBody)
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return fmt.Errorf("%w: %v", ErrInvalidBody, err)
	}
	if dec.More() {
		return fmt.Errorf("%w: trailing data after the object", ErrInvalidBody)
	}
	return nil
}

// listUsers is GET /api/v1/users?limit=&cursor=&prefix=&state=&role=: users
// in name order.
func (a *API) listUsers(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	p, err := parsePage(q)
	if err != nil {
		a.fail(w, err)
		return
	}
	users, next, err := a.d.Users.List(accounts.ListOptions{
		After: p.After, Limit: p.Limit, Prefix: q.Get("prefix"),
		State: accounts.State(q.Get("state")), Role: q.Get("role"),
	})
	if err != nil {
		a.failUsers(w, err)
		return
	}
	out := Page[accounts.User]{Items: users}
	if next != "" {
		out.NextCursor = encodeCursor(next)
	}
	admin.WriteJSON(w, http.StatusOK, out)
}

// createUser is POST /api/v1/users: 201 with the user, 409 if the name is
// taken.
func (a *API) createUser(w http.ResponseWriter, r *http.Request) {
	var req CreateUserRequest
	if err := decodeUserBody(r.Body, &req); err != nil {
		a.failUsers(w, err)
		return
	}
	ctx, cancel := a.applyCtx(r)
	defer cancel()
	var u accounts.User
	var err error
	if req.PasswordHash != "" {
		if req.Password != "" || req.State != "" || req.Roles != nil {
			err = fmt.Errorf("%w: password_hash excludes password, state and roles", ErrInvalidBody)
		} else {
			u, err = a.d.Users.Import(ctx, req.Name, []byte(req.PasswordHash))
		}
	} else {
		u, err = a.d.Users.Create(ctx, accounts.NewUser{Name: req.Name, Password: req.Password, State: req.State, Roles: req.Roles})
	}
	a.audit(r, "create_user", err).Str(logfield.User, req.Name).Msg("admin action")
	if err != nil {
		a.failUsers(w, err)
		return
	}
	admin.WriteJSON(w, http.StatusCreated, u)
}

// getUser is GET /api/v1/users/{name}.
func (a *API) getUser(w http.ResponseWriter, r *http.Request) {
	u, err := a.d.Users.Get(r.PathValue("name"))
	if err != nil {
		a.failUsers(w, err)
		return
	}
	admin.WriteJSON(w, http.StatusOK, u)
}

// updateUser is PATCH /api/v1/users/{name}: password, state, roles.
// Disabling a user closes their connections on every node.
func (a *API) updateUser(w http.ResponseWriter, r *http.Request) {
	name := r.PathValue("name")
	var req UpdateUserRequest
	if err := decodeUserBody(r.Body, &req); err != nil {
		a.failUsers(w, err)
		return
	}
	ctx, cancel := a.applyCtx(r)
	defer cancel()
	u, err := a.d.Users.UpdateUser(ctx, name, accounts.Update{
		Password: req.Password, ClearPassword: req.ClearPassword, State: req.State, Roles: req.Roles,
	})
	ev := a.audit(r, "update_user", err).Str(logfield.User, name).
		Bool(logfield.PasswordChanged, req.Password != nil || req.ClearPassword)
	if req.State != nil {
		ev = ev.Str(logfield.State, string(*req.State))
	}
	ev.Msg("admin action")
	if err != nil {
		a.failUsers(w, err)
		return
	}
	admin.WriteJSON(w, http.StatusOK, u)
}

// deleteUser is DELETE /api/v1/users/{name}: the record goes, the user's
// connections on every node close (accounts doc.go "Deleting a user").
func (a *API) deleteUser(w http.ResponseWriter, r *http.Request) {
	name := r.PathValue("name")
	ctx, cancel := a.applyCtx(r)
	defer cancel()
	err := a.d.Users.Delete(ctx, name)
	a.audit(r, "delete_user", err).Str(logfield.User, name).Msg("admin action")
	if err != nil {
		a.failUsers(w, err)
		return
	}
	admin.WriteJSON(w, http.StatusOK, Deleted{Deleted: name})
}
