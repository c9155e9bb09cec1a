package auth

import (
	"context"
	"errors"
	"net/netip"
	"time"

	"github.com/mochi-mqtt/server/v2/packets"

	"github.com/imqtt/imqtt/internal/logfield"
)

// LimitThrottle is the limit label of login throttling in
// imqtt_limit_refusals_total (its config key).
const LimitThrottle = "auth.throttle"

// LimitObserver is told about every password attempt the throttle delayed or
// refused. LimitRefused is called on the client's connection goroutine and must
// not block. A nil LimitObserver is a no-op.
type LimitObserver interface {
	// LimitRefused records one throttled attempt; limit is LimitThrottle.
	LimitRefused(limit string)
}

// errThrottled is the log detail of a refusal made without checking the
// password.
var errThrottled = errors.New("too many failed logins: refused without checking the password")

// throttleWarnEvery is the shortest time between two throttle warnings; the
// ones in between are dropped (imqtt_limit_refusals_total counts them all).
const throttleWarnEvery = 10 * time.Second

// gate runs the throttle for a CONNECT that decide would check against the
// password file. It returns the admitted attempt (nil when throttling is off or
// the attempt is not a password check) or ok false when the attempt is refused
// without a check.
func (h *Hook) gate(ctx context.Context, k *keys, c credentials) (a *attempt, ok bool) {
	if h.throttle == nil || !k.checksPassword(c) {
		return nil, true
	}
	a, v, wait, full := h.throttle.admit(ctx, c.username, remoteAddr(c.remote))
	if full {
		h.throttleLog.Warn().Int(logfield.Limit, h.cfg.Throttle.MaxKeys).Msg(msgThrottleFull)
	}
	if v == admitNow || v == admitQueued {
		return a, true // queueing behind checks in flight is not throttling
	}
	if h.limits != nil {
		h.limits.LimitRefused(LimitThrottle)
	}
	h.throttleLog.Warn().
		Str(logfield.User, logUser(c.username)).
		Str(logfield.Remote, c.remote).
		Str(logfield.Listener, c.listener).
		Bool(logfield.Refused, v == admitRefused).
		Dur(logfield.Waited, wait).
		Msg(msgThrottled)
	return a, v != admitRefused
}

// finishAttempt tells the throttle how a checked attempt ended.
func finishAttempt(a *attempt, d decision) {
	if a == nil {
		return
	}
	switch d.reason {
	case "", ReasonWillDenied: // the password was right
		a.finish(outcomeSuccess)
	case ReasonBadPassword, ReasonUnknownUser:
		a.finish(outcomeFailure)
	default:
		a.finish(outcomeNone)
	}
}

// throttled is the decision for an attempt refused without a check: the same
// CONNACK as a wrong password (v5 0x86, 3.1.1 4), so a throttled client learns
// nothing it could not learn from the timing.
func throttled() decision {
	return refuse(ReasonThrottled, packets.ErrBadUsernameOrPassword, errThrottled)
}

// remoteAddr returns the IP address of a "host:port" remote address (IPv4-mapped
// IPv6 as IPv4), or the zero Addr, which all unparsable remotes share.
func remoteAddr(remote string) netip.Addr {
	if ap, err := netip.ParseAddrPort(remote); err == nil {
		return ap.Addr().Unmap()
	}
	if a, err := netip.ParseAddr(remote); err == nil {
		return a.Unmap()
	}
	return netip.Addr{}
}
