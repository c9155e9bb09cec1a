package broker

import (
	"context"

	"github.com/imqtt/imqtt/cluster"
	"github.com/imqtt/imqtt/persist"
)

// forwardingWriter is the write path every part of the broker uses (storage,
// IM, admin API): Apply on the leader, forwarded to it from a follower
// (cluster.Node.ApplyForward), so a client may write through any node.
type forwardingWriter struct{ n *cluster.Node }

// Apply replicates cmd through the cluster's leader and returns its result.
func (w forwardingWriter) Apply(ctx context.Context, cmd []byte) (any, error) {
	return w.n.ApplyForward(ctx, cmd)
}

// observer returns the store observer: the engine's durable sessions
// (hooks/storage EngineStore) and the IM service, each when on; nil when
// none is.
func (b *Broker) observer() persist.Observer {
	var obs []persist.Observer
	if b.sessions != nil {
		obs = append(obs, b.sessions.Observe)
	}
	if b.im != nil {
		obs = append(obs, b.im.svc.Observe)
	}
	switch len(obs) {
	case 0:
		return nil
	case 1:
		return obs[0]
	}
	return func(index uint64, batches [][]persist.Op, results [][]persist.Result) {
		for _, o := range obs {
			o(index, batches, results)
		}
	}
}
