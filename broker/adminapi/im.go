package adminapi

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"

	"github.com/imqtt/imqtt/broker/admin"
	"github.com/imqtt/imqtt/im"
	"github.com/imqtt/imqtt/internal/logfield"
)

// IMAdmin is what the API needs of the IM service (*im.Service).
type IMAdmin interface {
	AdminGroups(after string, limit int) ([]im.GroupSummary, bool, error)
	AdminGroup(group string) (any, error)
	AdminNotify(from string, to im.NotifyTarget, title, body string) (any, error)
}

// maxNotifyBody bounds the JSON body of POST /api/v1/im/notify.
const maxNotifyBody = 1 << 20

// NotifyRequest is the body of POST /api/v1/im/notify.
type NotifyRequest struct {
	From  string          `json:"from"` // shown as the sender; default "admin"
	To    im.NotifyTarget `json:"to"`
	Title string          `json:"title"`
	Body  string          `json:"body"`
}

// imRoutes are the IM routes, present when the IM server runs.
func (a *API) imRoutes() map[string]http.Handler {
	return map[string]http.Handler{
		"GET /api/v1/im/groups":      http.HandlerFunc(a.listGroups),
		"GET /api/v1/im/groups/{id}": http.HandlerFunc(a.getGroup),
		"POST /api/v1/im/notify":     http.HandlerFunc(a.notify),
	}
}

// failIM maps IM errors: a bad argument is 400, an unknown group 404.
func (a *API) failIM(w http.ResponseWriter, err error) {
	switch {
	case errors.Is(err, im.ErrNoGroup):
		admin.WriteError(w, http.StatusNotFound, codeNotFound, err.Error())
	case errors.Is(err, im.ErrBadPayload), errors.Is(err, im.ErrTooLarge):
		admin.WriteError(w, http.StatusBadRequest, codeBadRequest, err.Error())
	default:
		a.fail(w, err)
	}
}

// listGroups is GET /api/v1/im/groups?limit=&cursor=: every group, in id order.
func (a *API) listGroups(w http.ResponseWriter, r *http.Request) {
	p, err := parsePage(r.URL.Query())
	if err != nil {
		a.fail(w, err)
		return
	}
	gs, more, err := a.d.IM.AdminGroups(p.After, p.Limit)
	if err != nil {
		a.failIM(w, err)
		return
	}
	out := Page[im.GroupSummary]{Items: gs}
	if out.Items == nil {
		out.Items = []im.GroupSummary{}
	}
	if more && len(gs) > 0 {
		out.NextCursor = encodeCursor(gs[len(gs)-1].Group)
	}
	admin.WriteJSON(w, http.StatusOK, out)
}

// getGroup is GET /api/v1/im/groups/{id}: the group with its members.
func (a *API) getGroup(w http.ResponseWriter, r *http.Request) {
	g, err := a.d.IM.AdminGroup(r.PathValue("id"))
	if err != nil {
		a.failIM(w, err)
		return
	}
	admin.WriteJSON(w, http.StatusOK, g)
}

// notify is POST /api/v1/im/notify: a notification to a user, a group or
// everyone (docs/protocol.md "Notifications"), sent as From.
func (a *API) notify(w http.ResponseWriter, r *http.Request) {
	var req NotifyRequest
	dec := json.NewDecoder(io.LimitReader(r.Body, maxNotifyBody))
	if err := dec.Decode(&req); err != nil {
		a.failIM(w, fmt.Errorf("%w: body: %v", im.ErrBadPayload, err))
		return
	}
	if req.From == "" {
		req.From = "admin"
	}
	res, err := a.d.IM.AdminNotify(req.From, req.To, req.Title, req.Body)
	ev := a.audit(r, "im_notify", err).Str(logfield.From, req.From)
	switch {
	case req.To.User != "":
		ev = ev.Str(logfield.ToUser, req.To.User)
	case req.To.Group != "":
		ev = ev.Str(logfield.ToGroup, req.To.Group)
	case req.To.All:
		ev = ev.Bool(logfield.ToAll, true)
	}
	ev.Msg("admin action")
	if err != nil {
		a.failIM(w, err)
		return
	}
	admin.WriteJSON(w, http.StatusOK, res)
}
