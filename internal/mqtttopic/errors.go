package mqtttopic

import "errors"

// Errors of ParseShared, one per malformation of "$share/{group}/{filter}".
// Their texts are the reasons callers show (broker/adminapi puts them in
// HTTP 400 bodies), so they do not change.
var (
	// ErrEmptyShareName: "$share//f" or "$share/" [MQTT-4.8.2-1].
	ErrEmptyShareName = errors.New("empty share name")
	// ErrShareNameWildcard: the share name holds '+' or '#' [MQTT-4.8.2-2].
	ErrShareNameWildcard = errors.New("share name holds a wildcard")
	// ErrNoSharedFilter: nothing, or an empty filter, after the share name
	// ("$share/g", "$share/g/") [MQTT-4.8.2-1].
	ErrNoSharedFilter = errors.New("no filter after the share name")
)
