package auth

import (
	"context"

	"github.com/imqtt/imqtt/hooks/ext"
	"github.com/imqtt/imqtt/internal/logfield"
)

// Authenticate implements ext.Authenticator for the engine: login
// throttling, the decision table of doc.go, the will topic's ACL check; a
// refusal is logged and counted. It runs off the engine's transport workers
// and may wait for the login throttle, at most auth.throttle.max_delay,
// giving up its place among the engine's running authentications meanwhile
// (ext.AuthIdle). The wait ends early only when ctx ends (the engine's
// Close): not when the client closes, so that closing and reconnecting
// cannot skip a delay.
func (h *Hook) Authenticate(ctx context.Context, req *ext.ConnectRequest) ext.AuthResult {
	cl := req.Client
	remote := ""
	if cl.Remote.IsValid() {
		remote = cl.Remote.String()
	}
	c := credentials{
		listener:     cl.Listener,
		remote:       remote,
		usernameFlag: req.UsernameFlag,
		username:     cl.Username,
		passwordFlag: req.PasswordFlag,
		password:     string(req.Password),
	}
	d := h.judge(ctx, c, cl.ID, req.WillFlag, req.WillTopic)
	if d.reason != "" {
		h.refused(cl.ID, remote, cl.Listener, cl.Username, d)
		return ext.AuthResult{Code: d.code.Code, Reason: d.reason}
	}
	h.log.Debug().
		Str(logfield.ClientID, cl.ID).
		Str(logfield.User, d.identity).
		Str(logfield.Listener, cl.Listener).
		Str(logfield.Remote, remote).
		Str(logfield.Method, d.method).
		Msg(msgAccepted)
	return ext.AuthResult{Identity: d.identity, TokenID: d.tokenID, ExpiresAt: d.expiresAt}
}

var _ ext.Authenticator = (*Hook)(nil)
