package im

// Log field names; messages are fixed lowercase strings.
const (
	componentName = "im"

	fieldComponent = "component"
	fieldClientID  = "client_id"
	fieldUser      = "user"
	fieldTopic     = "topic"
	fieldConv      = "conv"
	fieldSeq       = "seq"
	fieldGroup     = "group"
	fieldMethod    = "method"
	fieldReason    = "reason"
	fieldCode      = "code"
	fieldCount     = "count"
)
