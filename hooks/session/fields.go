package session

// Log field names and the component name (STYLE.md 9).
const (
	component      = "session"
	fieldComponent = "component"
	fieldClientID  = "client_id"
	fieldUser      = "user"
	fieldOwner     = "owner"
	fieldRemote    = "remote"
	fieldReason    = "reason"
	fieldLimit     = "limit"
	fieldCount     = "count"
)

// Limit names: the label of imqtt_limit_refusals_total, each the config key
// of its bound.
const (
	LimitOwnerMismatch    = "session.owner_mismatch"
	LimitMaxPerUser       = "session.max_per_user"
	LimitMaxSubsPerClient = "max_subscriptions_per_client"
)
