package admin

// component is the value of the component field (logfield.Component) on this
// package's log events.
const component = "admin"

// Principals logged per request.
const (
	// principalToken: the request carried the configured bearer token.
	principalToken = "token"
	// principalAnonymous: no token was configured, the route is public, or the
	// request was refused.
	principalAnonymous = "anonymous"
)
