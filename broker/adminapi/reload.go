package adminapi

import (
	"errors"
	"net/http"
	"strings"

	"github.com/imqtt/imqtt/broker/admin"
	"github.com/imqtt/imqtt/internal/logfield"
)

// reload is POST /api/v1/reload: the same as SIGHUP (users and JWT keys, ACL
// rules, IM files, TLS certificates). 200 with every part's outcome when all
// reloaded; 422 with the error object and the parts when one failed: that part
// keeps its previous state (a broken ACL file leaves the old rules in force).
func (a *API) reload(w http.ResponseWriter, r *http.Request) {
	rep := a.d.Reload()
	if rep.Parts == nil {
		rep.Parts = []ReloadPart{}
	}
	failed := rep.Failed()
	for _, p := range rep.Parts {
		var err error
		if p.Status != ReloadOK {
			err = errors.New(p.Error)
		}
		ev := a.audit(r, "reload", err).Str(logfield.Part, p.Part).Bool(logfield.Changed, p.Changed)
		if p.Listener != "" {
			ev = ev.Str(logfield.Listener, p.Listener)
		}
		ev.Msg("admin action")
	}
	if len(failed) == 0 {
		admin.WriteJSON(w, http.StatusOK, rep)
		return
	}
	msgs := make([]string, 0, len(failed))
	for _, p := range failed {
		name := p.Part
		if p.Listener != "" {
			name += " (" + p.Listener + ")"
		}
		msgs = append(msgs, name+": "+p.Error)
	}
	admin.WriteJSON(w, http.StatusUnprocessableEntity, ReloadError{
		Error: ErrorDetail{Code: codeReloadFailed, Message: "reload failed, previous config kept for: " + strings.Join(msgs, "; ")},
		Parts: rep.Parts,
	})
}
