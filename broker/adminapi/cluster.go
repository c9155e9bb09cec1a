package adminapi

import (
	"net/http"

	"github.com/imqtt/imqtt/broker/admin"
)

// cluster is GET /api/v1/cluster: this node's raft view (cluster.Status):
// node id and address, state, leader, term, log/commit/applied/snapshot
// indexes and the members of the configuration.
func (a *API) cluster(w http.ResponseWriter, _ *http.Request) {
	admin.WriteJSON(w, http.StatusOK, a.d.Cluster())
}
