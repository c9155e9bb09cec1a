package adminapi

// component is the value of the component field (logfield.Component) on this
// package's log events.
const component = "adminapi"

// Error codes of JSON error bodies, beside the admin package's own
// (unauthorized, not_found, method_not_allowed, bad_request, internal).
const (
	codeBadRequest   = "bad_request"
	codeNotFound     = "not_found"
	codeConflict     = "conflict"
	codeReloadFailed = "reload_failed"
	codeUnavailable  = "unavailable"
	codeInternal     = "internal"
)

// Principals logged for admin actions.
const (
	// principalToken: the admin listener requires the bearer token, so the
	// caller held it.
	principalToken = "token"
	// principalLoopback: no token is configured; the admin listener is
	// loopback-only (admin.Config.Validate enforces it), so the caller is a
	// local process.
	principalLoopback = "loopback"
	// principalMTLSPrefix precedes the subject of a verified client certificate.
	principalMTLSPrefix = "mtls:"
)

// codePeerUnauthenticated is the error code of POST /api/v1/cluster/nodes
// naming a node that did not prove the cluster secret (422).
const codePeerUnauthenticated = "peer_unauthenticated"
