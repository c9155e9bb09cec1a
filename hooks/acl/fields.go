package acl

// Log field names used by this package (STYLE.md §9).
const (
	fieldComponent = "component"
	fieldClientID  = "client_id"
	fieldUser      = "user"
	fieldTopic     = "topic"
	fieldAccess    = "access"
	fieldReason    = "reason"
	fieldRules     = "rules"
	fieldFile      = "file"
)

// component is the value of the component field on every log event of the hook.
const component = "acl"
