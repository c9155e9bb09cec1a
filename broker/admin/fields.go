package admin

// Log field names and values used by this package.
const (
	component        = "admin"
	fieldComponent   = "component"
	fieldMethod      = "method"
	fieldPath        = "path"
	fieldStatus      = "status"
	fieldRemote      = "remote"
	fieldPrincipal   = "principal"
	fieldDuration    = "duration"
	fieldReason      = "reason"
	fieldListener    = "listener"
	fieldHost        = "host"
	fieldOrigin      = "origin"
	fieldFetchSite   = "sec_fetch_site"
	fieldContentType = "content_type"
	fieldTokenFile   = "token_file"
)

// Principals logged per request.
const (
	// principalToken: the request carried the configured bearer token.
	principalToken = "token"
	// principalAnonymous: no token was configured, the route is public, or the
	// request was refused.
	principalAnonymous = "anonymous"
)
