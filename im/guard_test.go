package im

import (
	"errors"
	"sync"
	"testing"

	"github.com/imqtt/imqtt/persist"
)

// race runs the two requests at the same moment and returns their outcomes.
func (h *harness) race(a, b func() Outcome) (Outcome, Outcome) {
	var wg sync.WaitGroup
	start := make(chan struct{})
	var oa, ob Outcome
	wg.Add(2)
	go func() { defer wg.Done(); <-start; oa = a() }()
	go func() { defer wg.Done(); <-start; ob = b() }()
	close(start)
	wg.Wait()
	return oa, ob
}

func (h *harness) rpcOutcome(user, method string, params any) func() Outcome {
	payload := []byte(mustJSON(h.t, params))
	return func() Outcome {
		return h.svc.Handle(bg(), dev(user, user+"-1"), Request{Topic: rpcTopic(method), Payload: payload, QoS: 1})
	}
}

// roles reads the member records of g from the store (not through the
// service) and checks each against the user's conversation index.
func (h *harness) roles(t *testing.T, g string) map[string]string {
	t.Helper()
	ms, err := h.svc.members(g)
	check(t, err)
	out := map[string]string{}
	for _, m := range ms {
		out[m.User] = m.Role
	}
	for _, u := range []string{"alice", "bob", "carol", "dave"} {
		_, err := h.store.GetRaw(userConvKey(u, GroupConv(g).String()))
		indexed := err == nil
		if err != nil && !errors.Is(err, persist.ErrNotFound) {
			t.Fatal(err)
		}
		if _, member := out[u]; member != indexed {
			t.Fatalf("group %s: %s member %v but indexed %v", g, u, member, indexed)
		}
	}
	return out
}

func owners(roles map[string]string) []string {
	var out []string
	for u, r := range roles {
		if r == RoleOwner {
			out = append(out, u)
		}
	}
	return out
}

// TestGroupRulesAtApply: competing role changes proposed at the same moment
// leave the group in a state some serial order of the requests explains:
// exactly one owner every time, and a kicked member is not promoted back
// (issue #18 acceptance 2). Without the guards (guard.go) the two hand-overs
// both pass their check and the group ends with two owners.
func TestGroupRulesAtApply(t *testing.T) {
	h := newHarness(t)
	const iterations = 25
	for i := range iterations {
		res := h.rpc("alice", MethodGroupCreate, map[string]any{"name": "race", "users": []string{"bob", "carol", "dave"}}, CodeSuccess)
		g := res["group"].(string)
		h.rpc("alice", MethodGroupRole, map[string]any{"group": g, "user": "dave", "role": RoleAdmin}, CodeSuccess)

		// alice hands ownership to bob and to carol at once.
		ob, oc := h.race(
			h.rpcOutcome("alice", MethodGroupRole, map[string]any{"group": g, "user": "bob", "role": RoleOwner}),
			h.rpcOutcome("alice", MethodGroupRole, map[string]any{"group": g, "user": "carol", "role": RoleOwner}))
		roles := h.roles(t, g)
		if own := owners(roles); len(own) != 1 {
			t.Fatalf("iteration %d: owners %v (%v), outcomes %#x %q / %#x %q", i, own, roles, ob.Code, ob.Reason, oc.Code, oc.Reason)
		}
		if ob.OK() == oc.OK() {
			t.Fatalf("iteration %d: hand-overs %#x %q / %#x %q: want exactly one accepted", i, ob.Code, ob.Reason, oc.Code, oc.Reason)
		}
		winner, loser := "bob", oc
		if oc.OK() {
			winner, loser = "carol", ob
		}
		if roles[winner] != RoleOwner || roles["alice"] != RoleAdmin || loser.Code != CodeNotAuthorized {
			t.Fatalf("iteration %d: roles %v, refused hand-over %#x %q", i, roles, loser.Code, loser.Reason)
		}

		// The new owner promotes carol/bob (a member) while admin dave kicks
		// them: either the promotion came first (an admin cannot kick an
		// admin) or the kick did (no promotion of a non-member).
		other := map[string]string{"bob": "carol", "carol": "bob"}[winner]
		op, ok := h.race(
			h.rpcOutcome(winner, MethodGroupRole, map[string]any{"group": g, "user": other, "role": RoleAdmin}),
			h.rpcOutcome("dave", MethodGroupKick, map[string]any{"group": g, "user": other}))
		roles = h.roles(t, g)
		switch {
		case op.OK() && !ok.OK():
			if roles[other] != RoleAdmin || ok.Code != CodeNotAuthorized {
				t.Fatalf("iteration %d: promoted first: roles %v, kick %#x %q", i, roles, ok.Code, ok.Reason)
			}
		case ok.OK() && !op.OK():
			if _, member := roles[other]; member || op.Code != CodeImplementation {
				t.Fatalf("iteration %d: kicked first: roles %v, promote %#x %q", i, roles, op.Code, op.Reason)
			}
		default:
			t.Fatalf("iteration %d: promote %#x %q, kick %#x %q: want exactly one accepted (roles %v)",
				i, op.Code, op.Reason, ok.Code, ok.Reason, roles)
		}
		if own := owners(roles); len(own) != 1 || own[0] != winner {
			t.Fatalf("iteration %d: owners %v", i, own)
		}
	}
}

// TestGroupGuardRetryRedecides: a change whose guarded record moved between
// the read and the apply is decided again on the new state. A direct check of
// guarded: the first decision reads, another command changes the record, the
// proposal fails with persist.ErrConflict and the second decision sees the
// change.
func TestGroupGuardRetryRedecides(t *testing.T) {
	h := newHarness(t)
	res := h.rpc("alice", MethodGroupCreate, map[string]any{"name": "x", "users": []string{"bob"}}, CodeSuccess)
	g := res["group"].(string)
	calls := 0
	out, err := h.svc.guarded(bg(), groupScope(g), func(gs *guards) (any, error) {
		calls++
		me, err := gs.actor(g, "alice")
		if err != nil {
			return nil, err
		}
		if calls == 1 {
			// Another proposer hands alice's ownership to bob in between.
			h.rpc("alice", MethodGroupRole, map[string]any{"group": g, "user": "bob", "role": RoleOwner}, CodeSuccess)
		}
		if me.Role != RoleOwner {
			return nil, ErrForbidden
		}
		_, err = h.svc.apply(bg(), gs.with([]persist.Op{persist.PutRawOp(memberKey(g, "alice"), jsonValue(memberRec{Role: RoleOwner}), 0)}))
		return "applied", err
	})
	if calls != 2 || !errors.Is(err, ErrForbidden) || out != nil {
		t.Fatalf("calls %d, out %v, err %v", calls, out, err)
	}
	if roles := h.roles(t, g); roles["alice"] != RoleAdmin || roles["bob"] != RoleOwner {
		t.Fatalf("roles %v", roles)
	}

	// A record that changes every time: the request gives up with ErrConflict.
	calls = 0
	_, err = h.svc.guarded(bg(), groupScope(g), func(gs *guards) (any, error) {
		calls++
		if _, err := gs.actor(g, "bob"); err != nil {
			return nil, err
		}
		h.write(t, persist.PutRawOp(memberKey(g, "bob"), jsonValue(memberRec{Role: RoleOwner, Joined: int64(calls)}), 0))
		_, err := h.svc.apply(bg(), gs.with(nil))
		return nil, err
	})
	if calls != maxGuardAttempts || !errors.Is(err, ErrConflict) || outcomeOf(err).Code != CodeImplementation {
		t.Fatalf("calls %d, err %v", calls, err)
	}
}
