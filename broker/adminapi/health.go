package adminapi

import (
	"net/http"

	"github.com/imqtt/imqtt/broker/admin"
)

// Health statuses.
const (
	HealthOK       = "ok"
	HealthNotReady = "not_ready"
)

// health is GET /api/v1/health: 200 {"status":"ok",...} when the node serves
// clients, 503 {"status":"not_ready","reason":...} otherwise (like /readyz,
// plus the node id and the number of connected clients).
func (a *API) health(w http.ResponseWriter, _ *http.Request) {
	h := Health{Status: HealthOK, NodeID: a.d.NodeID, Clients: a.d.MQTT.ConnectedCount()}
	status := http.StatusOK
	if a.d.Ready != nil {
		if err := a.d.Ready(); err != nil {
			h.Status, h.Reason, status = HealthNotReady, err.Error(), http.StatusServiceUnavailable
		}
	}
	admin.WriteJSON(w, status, h)
}
