package engine

// Log field names of the engine (STYLE.md 9): constants, never ad hoc.
const (
	fieldComponent = "component"
	fieldClientID  = "client_id"
	fieldUser      = "user"
	fieldTopic     = "topic"
	fieldListener  = "listener"
	fieldRemote    = "remote"
	fieldReason    = "reason"
	fieldCode      = "code"
	fieldVersion   = "version"
)
