package acl

import "github.com/imqtt/imqtt/hooks/ext"

// Allow implements ext.Authorizer for the engine: one decision of Check. A
// publish (and a will) is
// AccessWrite, a subscription filter AccessSubscribe, a delivery AccessRead.
// The engine says which it is, so no guessing from the string is needed.
func (h *Hook) Allow(c *ext.Client, topic string, a ext.Access) bool {
	access := AccessRead
	switch a {
	case ext.AccessPublish:
		access = AccessWrite
	case ext.AccessSubscribe:
		access = AccessSubscribe
	case ext.AccessDeliver:
	default:
		return false // an access kind this version does not know: deny
	}
	return h.Check(c.Username, c.ID, topic, access)
}

var _ ext.Authorizer = (*Hook)(nil)
