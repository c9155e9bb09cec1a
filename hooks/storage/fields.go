package storage

// Log field names and the component value.
const (
	component      = "storage"
	fieldComponent = "component"
	fieldClientID  = "client_id"
	fieldTopic     = "topic"
	fieldReason    = "reason"
	fieldSeq       = "seq"
	fieldCount     = "count"
)
