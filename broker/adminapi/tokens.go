package adminapi

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"time"

	"github.com/imqtt/imqtt/broker/admin"
	"github.com/imqtt/imqtt/internal/logfield"
	"github.com/imqtt/imqtt/tokens"
)

// Tokens is what the token routes need (*tokens.Service).
type Tokens interface {
	Mint(ctx context.Context, user, device string, ttl time.Duration) (tokens.Token, error)
	Revoke(ctx context.Context, id string) (tokens.Record, error)
	RevokeUser(ctx context.Context, user string) ([]tokens.Record, error)
	List(user string) ([]tokens.Info, error)
}

// maxMintBody bounds the JSON body of POST /api/v1/users/{user}/tokens.
const maxMintBody = 4 << 10

// codeUserRefused: the user may not get a token (unknown or disabled).
const codeUserRefused = "user_refused"

// MintRequest is the body of POST /api/v1/users/{user}/tokens (may be
// empty). TTL is a Go duration ("90s", "24h") or a number of seconds.
type MintRequest struct {
	Device string          `json:"device,omitempty"`
	TTL    json.RawMessage `json:"ttl,omitempty"`
}

// TokenView is a token record in responses; Token is set only by the mint.
type TokenView struct {
	Token   string    `json:"token,omitempty"`
	ID      string    `json:"id"`
	User    string    `json:"user"`
	Device  string    `json:"device,omitempty"`
	Expires time.Time `json:"expires"`
	Issued  time.Time `json:"issued"`
	Revoked bool      `json:"revoked"`
}

func viewOf(r tokens.Record, revoked bool) TokenView {
	return TokenView{
		ID: r.ID, User: r.User, Device: r.Device, Revoked: revoked,
		Expires: time.UnixMilli(r.Expires).UTC(), Issued: time.UnixMilli(r.Issued).UTC(),
	}
}

// DecodeMintRequest parses a mint body: empty, or a JSON object with only
// device and ttl. It returns the ttl (0: the default).
func DecodeMintRequest(body []byte) (device string, ttl time.Duration, err error) {
	if len(bytes.TrimSpace(body)) == 0 {
		return "", 0, nil
	}
	var req MintRequest
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&req); err != nil {
		return "", 0, fmt.Errorf("%w: %v", ErrInvalidBody, err)
	}
	if dec.More() {
		return "", 0, fmt.Errorf("%w: data after the json object", ErrInvalidBody)
	}
	if len(req.TTL) == 0 || string(req.TTL) == "null" {
		return req.Device, 0, nil
	}
	var s string
	if err := json.Unmarshal(req.TTL, &s); err == nil {
		if ttl, err = time.ParseDuration(s); err != nil {
			return "", 0, fmt.Errorf("%w: ttl %q: %v", ErrInvalidBody, s, err)
		}
	} else {
		n, err := strconv.ParseInt(string(req.TTL), 10, 64)
		if err != nil || n <= 0 || n > int64(time.Duration(1<<62)/time.Second) {
			return "", 0, fmt.Errorf("%w: ttl must be a duration string or a positive number of seconds", ErrInvalidBody)
		}
		ttl = time.Duration(n) * time.Second
	}
	if ttl <= 0 {
		return "", 0, fmt.Errorf("%w: ttl must be positive", ErrInvalidBody)
	}
	return req.Device, ttl, nil
}

// MountTokens adds the token routes (docs/admin-api.md "Tokens") to m.
func (a *API) MountTokens(m Mounter, t Tokens) error {
	h := tokenHandlers{a: a, t: t}
	for pattern, f := range map[string]http.HandlerFunc{
		"POST /api/v1/users/{user}/tokens":   h.mint,
		"GET /api/v1/users/{user}/tokens":    h.list,
		"DELETE /api/v1/users/{user}/tokens": h.revokeUser,
		"DELETE /api/v1/tokens/{id}":         h.revoke,
	} {
		if err := m.Handle(pattern, f); err != nil {
			return fmt.Errorf("mount %s: %w", pattern, err)
		}
	}
	return nil
}

type tokenHandlers struct {
	a *API
	t Tokens
}

// fail maps token errors: 400 bad request, 404 unknown token, 409 a user
// who may not get one, 503 storage; the rest as API.fail.
func (h tokenHandlers) fail(w http.ResponseWriter, err error) {
	switch {
	case errors.Is(err, tokens.ErrInvalidRequest), errors.Is(err, ErrInvalidBody):
		admin.WriteError(w, http.StatusBadRequest, codeBadRequest, err.Error())
	case errors.Is(err, tokens.ErrNotFound):
		admin.WriteError(w, http.StatusNotFound, codeNotFound, err.Error())
	case errors.Is(err, tokens.ErrUserRefused):
		admin.WriteError(w, http.StatusConflict, codeUserRefused, err.Error())
	case errors.Is(err, tokens.ErrStorage), errors.Is(err, tokens.ErrClosed):
		admin.WriteError(w, http.StatusServiceUnavailable, codeUnavailable, err.Error())
	default:
		h.a.fail(w, err)
	}
}

// mint is POST /api/v1/users/{user}/tokens {device?, ttl?}: 201 with the
// token (shown once: the cluster keeps only its record).
func (h tokenHandlers) mint(w http.ResponseWriter, r *http.Request) {
	user := r.PathValue("user")
	body, err := io.ReadAll(io.LimitReader(r.Body, maxMintBody+1))
	if err == nil && len(body) > maxMintBody {
		err = fmt.Errorf("%w: body above %d bytes", ErrInvalidBody, maxMintBody)
	}
	var device string
	var ttl time.Duration
	if err == nil {
		device, ttl, err = DecodeMintRequest(body)
	}
	var tok tokens.Token
	if err == nil {
		ctx, cancel := h.a.applyCtx(r)
		tok, err = h.t.Mint(ctx, user, device, ttl)
		cancel()
	}
	h.a.audit(r, "mint_token", err).Str(logfield.User, user).Str(logfield.Device, device).
		Str(logfield.TokenID, tok.ID).Msg("admin action")
	if err != nil {
		h.fail(w, err)
		return
	}
	v := viewOf(tok.Record, false)
	v.Token = tok.Token
	admin.WriteJSON(w, http.StatusCreated, v)
}

// list is GET /api/v1/users/{user}/tokens: the user's live tokens.
func (h tokenHandlers) list(w http.ResponseWriter, r *http.Request) {
	infos, err := h.t.List(r.PathValue("user"))
	if err != nil {
		h.fail(w, err)
		return
	}
	out := make([]TokenView, 0, len(infos))
	for _, in := range infos {
		out = append(out, viewOf(in.Record, in.Revoked))
	}
	admin.WriteJSON(w, http.StatusOK, map[string]any{"tokens": out})
}

// revoke is DELETE /api/v1/tokens/{id}.
func (h tokenHandlers) revoke(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	ctx, cancel := h.a.applyCtx(r)
	rec, err := h.t.Revoke(ctx, id)
	cancel()
	h.a.audit(r, "revoke_token", err).Str(logfield.TokenID, id).Str(logfield.User, rec.User).Msg("admin action")
	if err != nil {
		h.fail(w, err)
		return
	}
	admin.WriteJSON(w, http.StatusOK, viewOf(rec, true))
}

// revokeUser is DELETE /api/v1/users/{user}/tokens: every live token of
// the user.
func (h tokenHandlers) revokeUser(w http.ResponseWriter, r *http.Request) {
	user := r.PathValue("user")
	ctx, cancel := h.a.applyCtx(r)
	recs, err := h.t.RevokeUser(ctx, user)
	cancel()
	ids := make([]string, 0, len(recs))
	for _, rec := range recs {
		ids = append(ids, rec.ID)
	}
	h.a.audit(r, "revoke_user_tokens", err).Str(logfield.User, user).Strs(logfield.Revoked, ids).Msg("admin action")
	if err != nil {
		h.fail(w, err)
		return
	}
	admin.WriteJSON(w, http.StatusOK, map[string]any{"revoked": ids})
}
