package metrics_test

import (
	"errors"
	"testing"

	"github.com/imqtt/imqtt/broker/listen"
	"github.com/imqtt/imqtt/hooks/metrics"
)

// The observer contracts *Metrics must satisfy. The auth and ACL observers are
// declared by their hooks; these are their method sets.
var (
	_ listen.Observer                         = (*metrics.Metrics)(nil)
	_ interface{ AuthFailed(reason string) }  = (*metrics.Metrics)(nil)
	_ interface{ ACLDenied(access string) }   = (*metrics.Metrics)(nil)
	_ interface{ LimitRefused(limit string) } = (*metrics.Metrics)(nil)
)

func TestObserversShowUpInScrape(t *testing.T) {
	b := newTestBroker(t)
	m := b.m
	for range 3 {
		m.Accepted(listenerID)
	}
	m.Accepted("ws")
	m.AcceptError(listenerID, errors.New("accept: too many open files"))
	m.Rejected(listenerID, listen.ReasonPerIPRate)
	m.Rejected(listenerID, listen.ReasonPerIPRate)
	m.Rejected("ws", listen.ReasonMaxConnections)
	m.Panic(listenerID)
	m.AuthFailed("bad_password")
	m.AuthFailed("bad_password")
	m.AuthFailed("expired_token")
	m.ACLDenied("publish")
	m.ACLDenied("subscribe")
	m.ACLDenied("subscribe")
	m.LimitRefused("max_sessions_per_user")
	m.LimitRefused("max_sessions_per_user")
	m.Rejected("bad\xffutf8", "r\xfe") // invalid UTF-8 must not panic

	s := b.scrape(t)
	check(t, s,
		e("imqtt_connections_total", 3, labelListener),
		e("imqtt_connections_total", 1, "listener=ws"),
		e("imqtt_accept_errors_total", 1, labelListener),
		e("imqtt_connections_rejected_total", 2, labelListener, "reason="+listen.ReasonPerIPRate),
		e("imqtt_connections_rejected_total", 1, "listener=ws", "reason="+listen.ReasonMaxConnections),
		e("imqtt_connections_rejected_total", 1, "listener=bad\uFFFDutf8", "reason=r\uFFFD"),
		e("imqtt_panics_recovered_total", 1, labelListener),
		e("imqtt_auth_failures_total", 2, "reason=bad_password"),
		e("imqtt_auth_failures_total", 1, "reason=expired_token"),
		e("imqtt_acl_denied_total", 1, "access=publish"),
		e("imqtt_acl_denied_total", 2, "access=subscribe"),
		e("imqtt_limit_refusals_total", 2, "limit=max_sessions_per_user"),
	)
}
