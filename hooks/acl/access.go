package acl

// Access is the kind of access one check asks for. As a bit set it is also what
// an allow rule grants (see the access words in the package documentation).
type Access uint8

const (
	// AccessRead is receiving a message published to a topic name: a delivery to
	// a subscriber, retained messages included.
	AccessRead Access = 1 << iota
	// AccessWrite is publishing to a topic name, will messages included.
	AccessWrite
	// AccessSubscribe is subscribing to a topic filter (a shared subscription
	// "$share/{group}/{filter}" included).
	AccessSubscribe
)

// accessAll is what `readwrite` (and `deny`) cover.
const accessAll = AccessRead | AccessWrite | AccessSubscribe

// String returns "read", "write" or "subscribe" for a single access kind, the
// rule access word for a grant set, and "none" for the empty set.
func (a Access) String() string {
	switch a {
	case AccessRead:
		return "read"
	case AccessWrite:
		return "write"
	case AccessSubscribe:
		return "subscribe"
	case AccessRead | AccessSubscribe:
		return "read+subscribe"
	case AccessWrite | AccessSubscribe:
		return "write+subscribe"
	case AccessRead | AccessWrite:
		return "read+write"
	case accessAll:
		return "readwrite"
	}
	return "none"
}

// slot is the index of a single access kind in per-access tables.
func (a Access) slot() int {
	switch a {
	case AccessRead:
		return 0
	case AccessWrite:
		return 1
	default:
		return 2
	}
}

// accessWord maps an access word of a rule line to what it grants, and says
// whether the word is known. `read` follows mosquitto: subscribe and receive.
// `deny` covers everything; the rule's deny flag is set by the parser.
func accessWord(w string) (Access, bool) {
	switch w {
	case "read":
		return AccessRead | AccessSubscribe, true
	case "write":
		return AccessWrite, true
	case "readwrite", "deny":
		return accessAll, true
	case "subscribe":
		return AccessSubscribe, true
	}
	return 0, false
}
