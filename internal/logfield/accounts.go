package logfield

// Fields of the replicated user store (accounts) and its admin actions.
const (
	// Deleted says a user record was removed.
	Deleted = "deleted"
	// State is a user's state (active, disabled).
	State = "state"
	// Disconnected is how many connections an action closed.
	Disconnected = "disconnected"
	// PasswordChanged says an admin action set or cleared a password (never the password).
	PasswordChanged = "password_changed"
)
