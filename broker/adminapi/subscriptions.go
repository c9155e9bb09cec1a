package adminapi

import (
	"fmt"
	"net/http"
	"slices"
	"strings"

	"github.com/imqtt/imqtt/broker/admin"
)

// subKeySep separates client id and filter in a subscription's paging key
// (NUL is in neither [MQTT-1.5.4-2]).
const subKeySep = "\x00"

// subSelector decides which subscription filters a query lists.
type subSelector struct {
	filter *Filter // ?filter=: filters it covers (or equals, with exact)
	exact  bool
	topic  string // ?topic=: filters matching this topic name
	hasTop bool
}

// parseSubSelector reads ?filter=, ?exact= and ?topic= (filter and topic
// exclude each other). Errors wrap ErrInvalidFilter or ErrInvalidTopic.
func parseSubSelector(r *http.Request) (subSelector, error) {
	q := r.URL.Query()
	var sel subSelector
	_, hasFilter := q["filter"]
	_, sel.hasTop = q["topic"]
	if hasFilter && sel.hasTop {
		return sel, fmt.Errorf("%w: give filter or topic, not both", ErrInvalidFilter)
	}
	switch q.Get("exact") {
	case "", "false", "0":
	case "true", "1":
		sel.exact = true
	default:
		return sel, fmt.Errorf("%w: exact %q: want true or false", ErrInvalidFilter, q.Get("exact"))
	}
	if hasFilter {
		f, err := ParseFilter(q.Get("filter"))
		if err != nil {
			return sel, err
		}
		sel.filter = &f
	}
	if sel.hasTop {
		sel.topic = q.Get("topic")
		if err := ValidTopic(sel.topic); err != nil {
			return sel, err
		}
	}
	return sel, nil
}

// selects reports whether a subscription with filter s is listed.
func (sel *subSelector) selects(s string) bool {
	if sel.filter == nil && !sel.hasTop {
		return true
	}
	sf, err := ParseFilter(s)
	if err != nil {
		return false // the broker accepted nothing invalid; be safe anyway
	}
	switch {
	case sel.hasTop:
		return Matches(sf, sel.topic)
	case sel.exact:
		return s == sel.filter.Raw
	default:
		return Covers(*sel.filter, sf)
	}
}

// listSubscriptions is GET /api/v1/subscriptions?filter=F[&exact=true] or
// ?topic=T, with paging: the subscriptions on this node (connected clients
// and the offline persistent sessions it keeps in memory) whose filter F covers
// ("sensors/#" lists "sensors/+/temp"), or equals with exact=true, or that
// match the topic name T (who would receive a publish to T). No parameter
// lists every subscription. A bad filter or topic is 400 with the reason.
func (a *API) listSubscriptions(w http.ResponseWriter, r *http.Request) {
	p, err := parsePage(r.URL.Query())
	if err != nil {
		a.fail(w, err)
		return
	}
	sel, err := parseSubSelector(r)
	if err != nil {
		a.fail(w, err)
		return
	}
	sessions := a.d.MQTT.Sessions()
	slices.SortFunc(sessions, func(x, y MemorySession) int { return strings.Compare(x.ClientID, y.ClientID) })
	pg := newPager[Subscription](p)
	var full bool
	for i := range sessions {
		ms := &sessions[i]
		if pg.p.After != "" && ms.ClientID < cursorClient(pg.p.After) {
			continue
		}
		online := ms.Online
		for _, s := range ms.Subscriptions {
			key := ms.ClientID + subKeySep + s.Filter
			if pg.skip(key) || !sel.selects(s.Filter) {
				continue
			}
			s.ClientID, s.Online = ms.ClientID, &online
			if !pg.add(key, s) {
				full = true
				break
			}
		}
		if full {
			break
		}
	}
	admin.WriteJSON(w, http.StatusOK, pg.result())
}

// cursorClient returns the client id part of a subscription cursor.
func cursorClient(after string) string {
	id, _, _ := strings.Cut(after, subKeySep)
	return id
}
