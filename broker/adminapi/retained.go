package adminapi

import (
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/imqtt/imqtt/broker/admin"
	"github.com/imqtt/imqtt/internal/logfield"
	"github.com/imqtt/imqtt/persist"
)

// listRetained is GET /api/v1/retained?filter=F (default "#"), with paging:
// the retained messages of this node's index whose topic F matches, in topic
// order, payload included (base64). A bad or shared filter is 400.
func (a *API) listRetained(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	p, err := parsePage(q)
	if err != nil {
		a.fail(w, err)
		return
	}
	raw := "#"
	if _, ok := q["filter"]; ok {
		raw = q.Get("filter")
	}
	f, err := ParseFilter(raw)
	if err != nil {
		a.fail(w, err)
		return
	}
	if f.Shared() {
		a.fail(w, fmt.Errorf("%w: %q: retained messages are not listed by shared filter", ErrInvalidFilter, raw))
		return
	}
	msgs := a.d.MQTT.Retained(f.Raw)
	slices.SortFunc(msgs, func(x, y Retained) int { return strings.Compare(x.Topic, y.Topic) })
	pg := newPager[Retained](p)
	for i := range msgs {
		m := &msgs[i]
		if pg.skip(m.Topic) {
			continue
		}
		if !pg.add(m.Topic, *m) {
			break
		}
	}
	admin.WriteJSON(w, http.StatusOK, pg.result())
}

// deleteRetained is DELETE /api/v1/retained?topic=T: it removes the retained
// message of T from the replicated store and this node's index, so a new
// subscriber no longer gets it. It publishes an empty retained message to T
// through the broker, as `mosquitto_pub -r -n` would: the storage hook makes
// the delete durable (raft) and current subscribers of T receive the empty
// message, as MQTT specifies [MQTT-3.3.1-10]. 404 when T has no retained
// message, 400 for a bad topic name, 503 when the delete did not commit.
func (a *API) deleteRetained(w http.ResponseWriter, r *http.Request) {
	topic := r.URL.Query().Get("topic")
	err := a.dropRetained(r, topic)
	a.audit(r, "delete_retained", err).Str(logfield.Topic, topic).Msg("admin action")
	if err != nil {
		a.fail(w, err)
		return
	}
	admin.WriteJSON(w, http.StatusOK, Deleted{Deleted: topic})
}

func (a *API) dropRetained(r *http.Request, topic string) error {
	if err := ValidTopic(topic); err != nil {
		return err
	}
	inMemory := a.inIndex(topic)
	stored, err := a.storedRetained(topic)
	if err != nil {
		return err
	}
	if !inMemory && !stored {
		return fmt.Errorf("retained message on %q: %w", topic, ErrNotFound)
	}
	// The broker's own path: the durable layer sees the publish (storage
	// applies DeleteRetained through raft), the index drops it.
	if err := a.d.MQTT.PublishEmptyRetained(topic); err != nil {
		return fmt.Errorf("publish empty retained message: %w", err)
	}
	// A hook may have refused the publish (the storage hook logs a failed
	// write and rejects it): check both copies and finish the job.
	if stored, err = a.storedRetained(topic); err != nil {
		return err
	}
	if stored {
		if err := a.apply(r, persist.DeleteRetainedOp(topic)); err != nil {
			return fmt.Errorf("delete retained message on %q: %w", topic, err)
		}
	}
	if a.inIndex(topic) {
		a.d.MQTT.ClearRetained(topic)
	}
	return nil
}

// inIndex reports whether the node's index holds a retained message for
// topic (a valid topic name: as a filter it matches itself only).
func (a *API) inIndex(topic string) bool {
	for _, m := range a.d.MQTT.Retained(topic) {
		if m.Topic == topic {
			return true
		}
	}
	return false
}

// storedRetained reports whether the store holds a retained message for topic.
func (a *API) storedRetained(topic string) (bool, error) {
	_, err := a.d.Store.Retained(topic, time.Now())
	switch {
	case err == nil:
		return true, nil
	case errors.Is(err, persist.ErrNotFound):
		return false, nil
	}
	return false, fmt.Errorf("read retained message on %q: %w", topic, err)
}
