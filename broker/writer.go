package broker

import (
	"context"

	"github.com/imqtt/imqtt/cluster"
)

// forwardingWriter is the write path every part of the broker uses (storage,
// IM, admin API): Apply on the leader, forwarded to it from a follower
// (cluster.Node.ApplyForward), so a client may write through any node.
type forwardingWriter struct{ n *cluster.Node }

// Apply replicates cmd through the cluster's leader and returns its result.
func (w forwardingWriter) Apply(ctx context.Context, cmd []byte) (any, error) {
	return w.n.ApplyForward(ctx, cmd)
}
