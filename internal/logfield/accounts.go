package logfield

// Fields of the replicated user store (accounts) and its admin actions.
const (
	// Deleted says a user record was removed.
	Deleted = "deleted"
	// State is a user's state (active, disabled).
	State = "state"
	// Disconnected is how many connections an action closed.
	Disconnected = "disconnected"
)
