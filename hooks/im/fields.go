package im

// Log field names.
const (
	fieldComponent = "component"
	fieldClientID  = "client_id"
	fieldUser      = "user"
	fieldTopic     = "topic"
	fieldReason    = "reason"
)
