package adminapi

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"

	"github.com/imqtt/imqtt/broker/admin"
	"github.com/imqtt/imqtt/internal/logfield"
)

// cluster is GET /api/v1/cluster: this node's raft view (cluster.Status):
// node id and address, state, leader, term, log/commit/applied/snapshot
// indexes and the members of the configuration.
func (a *API) cluster(w http.ResponseWriter, _ *http.Request) {
	admin.WriteJSON(w, http.StatusOK, a.d.Cluster())
}

// JoinRequest is the body of POST /api/v1/cluster/nodes.
type JoinRequest struct {
	// ID is the new node's id (its node.id), Addr its cluster address
	// (cluster.advertise_addr, or the bound cluster.bind_addr).
	ID   string `json:"id"`
	Addr string `json:"addr"`
}

// Member is the answer of a membership change.
type Member struct {
	ID     string `json:"id"`
	Addr   string `json:"addr,omitempty"`
	Action string `json:"action"` // "joined" or "removed"
}

// joinNode is POST /api/v1/cluster/nodes: add a voter, through the leader.
func (a *API) joinNode(w http.ResponseWriter, r *http.Request) {
	var req JoinRequest
	body, err := io.ReadAll(io.LimitReader(r.Body, 4096))
	if err == nil {
		err = json.Unmarshal(body, &req)
	}
	if err == nil && (req.ID == "" || req.Addr == "") {
		err = fmt.Errorf("id and addr are required")
	}
	if err != nil {
		err = fmt.Errorf("%w: %v", ErrInvalidBody, err)
	} else {
		ctx, cancel := a.applyCtx(r)
		err = a.d.Join(ctx, req.ID, req.Addr)
		cancel()
	}
	a.audit(r, "cluster_join", err).Str(logfield.NodeID, req.ID).Str(logfield.Addr, req.Addr).Msg("admin action")
	if err != nil {
		a.fail(w, err)
		return
	}
	admin.WriteJSON(w, http.StatusOK, Member{ID: req.ID, Addr: req.Addr, Action: "joined"})
}

// removeNode is DELETE /api/v1/cluster/nodes/{id}: remove a member (a dead
// node, or one leaving for good), through the leader.
func (a *API) removeNode(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	ctx, cancel := a.applyCtx(r)
	err := a.d.Remove(ctx, id)
	cancel()
	a.audit(r, "cluster_remove", err).Str(logfield.NodeID, id).Msg("admin action")
	if err != nil {
		a.fail(w, err)
		return
	}
	admin.WriteJSON(w, http.StatusOK, Member{ID: id, Action: "removed"})
}

// RouteTable is GET /api/v1/cluster/routes: the topic filters this node
// advertises to the others (its clean-session subscribers) and, per other
// node, the filters that node advertised here. Persistent sessions'
// subscriptions are not in it: they are replicated through raft and matched
// on every node.
type RouteTable struct {
	Local  []string            `json:"local"`
	Remote map[string][]string `json:"remote"`
}

func (a *API) routes(w http.ResponseWriter, _ *http.Request) {
	admin.WriteJSON(w, http.StatusOK, a.d.Routes())
}
