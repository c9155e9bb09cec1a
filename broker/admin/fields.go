package admin

// Log field names and values used by this package.
const (
	component      = "admin"
	fieldComponent = "component"
	fieldMethod    = "method"
	fieldPath      = "path"
	fieldStatus    = "status"
	fieldRemote    = "remote"
	fieldPrincipal = "principal"
	fieldDuration  = "duration"
	fieldReason    = "reason"
	fieldListener  = "listener"
)

// Principals logged per request.
const (
	// principalToken: the request carried the configured bearer token.
	principalToken = "token"
	// principalAnonymous: no token was configured, the route is public, or the
	// request was refused.
	principalAnonymous = "anonymous"
)
