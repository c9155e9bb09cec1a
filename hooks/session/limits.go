package session

// component is the value of the component field (logfield.Component) on this
// package's log events.
const component = "session"

// Limit names: the label of imqtt_limit_refusals_total, each the config key
// of its bound.
const (
	LimitOwnerMismatch    = "session.owner_mismatch"
	LimitMaxPerUser       = "session.max_per_user"
	LimitMaxSubsPerClient = "max_subscriptions_per_client"
)
