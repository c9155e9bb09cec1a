package im

import (
	"context"
	"time"

	"github.com/imqtt/imqtt/hooks/acl"
	"github.com/imqtt/imqtt/im"
)

// Service is what the adapter needs of *im.Service.
type Service interface {
	Handle(ctx context.Context, c im.Client, r im.Request) im.Outcome
	CanPublish(user, topic string) bool
	CanSubscribe(user, filter string) bool
	CanReceive(user, topic string) bool
	Connected(c im.Client) error
	Disconnected(c im.Client)
}

// contentType is the MQTT 5 Content Type of every IM payload.
const contentType = "application/json"

// DefaultHandleTimeout bounds one Service.Handle call (a raft commit inside).
const DefaultHandleTimeout = 10 * time.Second

// Policy returns the im/ namespace policy of svc for hooks/acl: the service
// decides every access to a topic or filter whose first level is "im";
// other topics are left to the rules. Writes under im/ are allowed except into
// the server's trees (im.Service.CanPublish), so that Hook.Handle answers a
// malformed im/ topic with 0x90 and an ack instead of an access refusal.
func Policy(svc Service) acl.Policy {
	return func(user, clientID, topic string, access acl.Access) (acl.Verdict, bool) {
		if !im.IsIMTopic(topic) {
			return acl.Deny, false
		}
		var ok bool
		switch access {
		case acl.AccessWrite:
			ok = svc.CanPublish(user, topic)
		case acl.AccessSubscribe:
			ok = svc.CanSubscribe(user, topic)
		case acl.AccessRead:
			ok = svc.CanReceive(user, topic)
		}
		if ok {
			return acl.Allow, true
		}
		return acl.Deny, true
	}
}
