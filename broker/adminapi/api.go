package adminapi

import (
	"context"
	"crypto/x509"
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/rs/zerolog"

	"github.com/imqtt/imqtt/broker/admin"
	"github.com/imqtt/imqtt/cluster"
	"github.com/imqtt/imqtt/internal/logfield"
	"github.com/imqtt/imqtt/persist"
)

// Deps are the parts of the node the API reads and acts on. MQTT, Store,
// Apply, Cluster and Reload are required.
type Deps struct {
	// MQTT is the node's MQTT side: clients, sessions in memory, subscriptions,
	// the retained index (the broker adapts its engine to it).
	MQTT MQTT
	// Store is the node's durable store (sessions, queues, retained).
	Store *persist.Store
	// Apply is the replicated write path (cluster.Node.Apply): the API uses it
	// for durable deletes that no hook made.
	Apply func(ctx context.Context, cmd []byte) (any, error)
	// Cluster returns the raft status (cluster.Node.Status).
	Cluster func() cluster.Status
	// Join adds a voter (id, cluster address) through the leader
	// (cluster.Node.JoinForward); Remove removes a member (RemoveForward). nil
	// leaves the POST/DELETE cluster routes out.
	Join   func(ctx context.Context, id, addr string) error
	Remove func(ctx context.Context, id string) error
	// Routes returns the publish route table (cluster/route); nil leaves
	// GET /api/v1/cluster/routes out.
	Routes func() RouteTable
	// Reload re-reads users, ACL, IM and TLS files, like SIGHUP, and reports
	// each part. It must be safe for concurrent use.
	Reload func() ReloadReport
	// Ready is the node's readiness (nil error = serving); nil means always.
	Ready func() error
	// IM is the IM service for /api/v1/im/...; nil when the IM server is off
	// (the routes are then not mounted).
	IM IMAdmin
	// Users is the replicated user store for /api/v1/users...; nil leaves
	// the routes out (users.go).
	Users UsersAdmin
	// NodeID names this node in /api/v1/health.
	NodeID string
	// TokenRequired says the admin listener checks a bearer token: callers that
	// reach the API hold it. It names the principal in the audit log.
	TokenRequired bool
	// ApplyTimeout bounds each durable write (default 10 s).
	ApplyTimeout time.Duration
	// Log is the parent logger; the API adds component=adminapi.
	Log zerolog.Logger
}

// API serves the admin API routes. Build it with New and Mount it on the admin
// server before that server starts. It owns no goroutine; handlers run in the
// admin server's request goroutines and are safe for concurrent use.
type API struct {
	d   Deps
	log zerolog.Logger
}

// New checks deps and returns the API. A missing required dependency wraps
// ErrMissingDep.
func New(d Deps) (*API, error) {
	switch {
	case d.MQTT == nil:
		return nil, fmt.Errorf("%w: MQTT", ErrMissingDep)
	case d.Store == nil:
		return nil, fmt.Errorf("%w: Store", ErrMissingDep)
	case d.Apply == nil:
		return nil, fmt.Errorf("%w: Apply", ErrMissingDep)
	case d.Cluster == nil:
		return nil, fmt.Errorf("%w: Cluster", ErrMissingDep)
	case d.Reload == nil:
		return nil, fmt.Errorf("%w: Reload", ErrMissingDep)
	}
	if d.ApplyTimeout <= 0 {
		d.ApplyTimeout = 10 * time.Second
	}
	return &API{d: d, log: d.Log.With().Str(logfield.Component, component).Logger()}, nil
}

// Mounter is where routes go: *admin.Server satisfies it.
type Mounter interface {
	Handle(pattern string, h http.Handler) error
}

// Routes returns the API's routes as net/http.ServeMux patterns.
func (a *API) Routes() map[string]http.Handler {
	rs := a.coreRoutes()
	if a.d.Join != nil && a.d.Remove != nil {
		rs["POST /api/v1/cluster/nodes"] = http.HandlerFunc(a.joinNode)
		rs["DELETE /api/v1/cluster/nodes/{id}"] = http.HandlerFunc(a.removeNode)
	}
	if a.d.Routes != nil {
		rs["GET /api/v1/cluster/routes"] = http.HandlerFunc(a.routes)
	}
	if a.d.Users != nil {
		for p, h := range a.usersRoutes() {
			rs[p] = h
		}
	}
	if a.d.IM != nil {
		for p, h := range a.imRoutes() {
			rs[p] = h
		}
	}
	return rs
}

func (a *API) coreRoutes() map[string]http.Handler {
	return map[string]http.Handler{
		"GET /api/v1/health":           http.HandlerFunc(a.health),
		"GET /api/v1/clients":          http.HandlerFunc(a.listClients),
		"GET /api/v1/clients/{id}":     http.HandlerFunc(a.getClient),
		"DELETE /api/v1/clients/{id}":  http.HandlerFunc(a.kickClient),
		"GET /api/v1/sessions":         http.HandlerFunc(a.listSessions),
		"GET /api/v1/sessions/{id}":    http.HandlerFunc(a.getSession),
		"DELETE /api/v1/sessions/{id}": http.HandlerFunc(a.deleteSession),
		"GET /api/v1/subscriptions":    http.HandlerFunc(a.listSubscriptions),
		"GET /api/v1/retained":         http.HandlerFunc(a.listRetained),
		"DELETE /api/v1/retained":      http.HandlerFunc(a.deleteRetained),
		"POST /api/v1/reload":          http.HandlerFunc(a.reload),
		"GET /api/v1/cluster":          http.HandlerFunc(a.cluster),
	}

}

// Mount adds every route to m (the admin server, behind its bearer token).
func (a *API) Mount(m Mounter) error {
	for pattern, h := range a.Routes() {
		if err := m.Handle(pattern, h); err != nil {
			return fmt.Errorf("mount %s: %w", pattern, err)
		}
	}
	return nil
}

// fail writes the JSON error for err: 400 for bad input, 404, 409, 422 for a
// node to add that did not prove the cluster secret, 503 for a durable write
// that did not commit, 500 otherwise.
func (a *API) fail(w http.ResponseWriter, err error) {
	status, code := http.StatusInternalServerError, codeInternal
	switch {
	case errors.Is(err, ErrInvalidFilter), errors.Is(err, ErrInvalidTopic), errors.Is(err, ErrInvalidPaging),
		errors.Is(err, cluster.ErrInvalidConfig), errors.Is(err, ErrInvalidBody):
		status, code = http.StatusBadRequest, codeBadRequest
	case errors.Is(err, ErrNotFound):
		status, code = http.StatusNotFound, codeNotFound
	case errors.Is(err, ErrSessionOnline):
		status, code = http.StatusConflict, codeConflict
	case errors.Is(err, cluster.ErrPeerUnauthenticated):
		// The node to add did not prove the cluster secret: nothing changed.
		status, code = http.StatusUnprocessableEntity, codePeerUnauthenticated
	case errors.Is(err, ErrNotDurable), errors.Is(err, cluster.ErrNoQuorum), errors.Is(err, cluster.ErrNotLeader), errors.Is(err, cluster.ErrTimeout),
		errors.Is(err, persist.ErrDiskFull), errors.Is(err, context.DeadlineExceeded):
		status, code = http.StatusServiceUnavailable, codeUnavailable
	}
	if status == http.StatusInternalServerError {
		a.log.Error().Err(err).Msg("admin api request failed")
	}
	admin.WriteError(w, status, code, err.Error())
}

// principal names who made the request: the subject of a verified client
// certificate, the bearer token holder, or a local process (loopback, no token).
func (a *API) principal(r *http.Request) string {
	if r.TLS != nil && len(r.TLS.VerifiedChains) > 0 && len(r.TLS.VerifiedChains[0]) > 0 {
		return principalMTLSPrefix + subject(r.TLS.VerifiedChains[0][0])
	}
	if a.d.TokenRequired {
		return principalToken
	}
	return principalLoopback
}

func subject(c *x509.Certificate) string { return c.Subject.String() }

// audit returns the log event of an action that changes the node, with who
// asked: info when it succeeded, warn when it failed. The caller adds the
// target (client_id, topic) and sends it with Msg("admin action").
func (a *API) audit(r *http.Request, action string, err error) *zerolog.Event {
	ev := a.log.Info()
	status := "done"
	if err != nil {
		ev = a.log.Warn().Err(err)
		status = "failed"
	}
	return ev.Str(logfield.Action, action).
		Str(logfield.Principal, a.principal(r)).
		Str(logfield.Remote, r.RemoteAddr).
		Str(logfield.Status, status)
}

// applyCtx returns a context for one durable write.
func (a *API) applyCtx(r *http.Request) (context.Context, context.CancelFunc) {
	return context.WithTimeout(r.Context(), a.d.ApplyTimeout)
}

// ptrTime returns a UTC pointer for non-zero unix milliseconds, else nil.
func msTime(ms int64) *time.Time {
	if ms <= 0 {
		return nil
	}
	t := time.UnixMilli(ms).UTC()
	return &t
}

// secTime returns a UTC pointer for non-zero unix seconds, else nil.
func secTime(s int64) *time.Time {
	if s <= 0 {
		return nil
	}
	t := time.Unix(s, 0).UTC()
	return &t
}
