package im

import (
	"testing"
)

// lastNotice returns the newest envelope on user's msg topic, which must be a
// notice with event.
func lastNotice(t *testing.T, h *harness, user, event string) Envelope {
	t.Helper()
	es := h.envs(userTopic(user, leafMsg))
	if len(es) == 0 {
		t.Fatalf("%s got nothing", user)
	}
	e := es[len(es)-1]
	if e.Type != TypeNotice || e.Notice == nil || e.Notice.Event != event {
		t.Fatalf("%s: last envelope %+v, want notice %s", user, e, event)
	}
	return e
}

func membersOf(t *testing.T, h *harness, user, g string) map[string]string {
	t.Helper()
	m := h.rpc(user, MethodGroupMembers, map[string]any{"group": g}, CodeSuccess)
	out := map[string]string{}
	for _, x := range m["members"].([]any) {
		mm := x.(map[string]any)
		out[mm["user"].(string)] = mm["role"].(string)
	}
	return out
}

func TestGroupLifecycle(t *testing.T) {
	h := newHarness(t)
	res := h.rpc("alice", MethodGroupCreate, map[string]any{"name": "Team", "users": []string{"bob", "bob", "alice"}}, CodeSuccess)
	g := res["group"].(string)
	conv := "g:" + g
	if res["conv"] != conv || res["seq"].(float64) != 1 || !ValidName(g) {
		t.Fatalf("create: %v", res)
	}
	for _, u := range []string{"alice", "bob"} {
		n := lastNotice(t, h, u, EventCreated)
		if n.Seq != 1 || n.Conv != conv || n.From != "alice" || n.Notice.Name != "Team" || len(n.Notice.Users) != 2 {
			t.Fatalf("created notice for %s: %+v %+v", u, n, n.Notice)
		}
	}
	if got := membersOf(t, h, "bob", g); len(got) != 2 || got["alice"] != RoleOwner || got["bob"] != RoleMember {
		t.Fatalf("members %v", got)
	}

	// Members do not invite; admins and the owner do.
	h.rpc("bob", MethodGroupInvite, map[string]any{"group": g, "users": []string{"carol"}}, CodeNotAuthorized)
	res = h.rpc("alice", MethodGroupInvite, map[string]any{"group": g, "users": []string{"carol", "bob"}}, CodeSuccess)
	if res["seq"].(float64) != 2 || len(res["added"].([]any)) != 1 || len(res["skipped"].([]any)) != 1 {
		t.Fatalf("invite: %v", res)
	}
	for _, u := range []string{"alice", "bob", "carol"} {
		if n := lastNotice(t, h, u, EventJoined); n.Notice.User != "carol" || n.Notice.By != "alice" || n.Seq != 2 {
			t.Fatalf("joined notice for %s: %+v", u, n.Notice)
		}
	}
	h.rpc("alice", MethodGroupInvite, map[string]any{"group": g, "users": []string{"carol"}}, CodeImplementation)

	// A group message reaches all three.
	if a := h.sendGroup("carol", g, "m1", "hi all"); a.Seq != 3 || a.Conv != conv {
		t.Fatalf("group ack %+v", a)
	}
	for _, u := range []string{"alice", "bob", "carol"} {
		es := h.envs(userTopic(u, leafMsg))
		if e := es[len(es)-1]; e.Seq != 3 || e.From != "carol" || e.Body != "hi all" || e.To != "" {
			t.Fatalf("%s got %+v", u, e)
		}
	}
	// Outsiders neither send nor join a closed group nor read it.
	h.handle(dev("dave", "d1"), req(groupTopic(g), sendBody("x", "y")), CodeNotAuthorized)
	h.rpc("dave", MethodGroupJoin, map[string]any{"group": g}, CodeNotAuthorized)
	h.rpc("dave", MethodHistory, map[string]any{"conv": conv}, CodeNotAuthorized)
	h.rpc("dave", MethodGroupMembers, map[string]any{"group": g}, CodeNotAuthorized)

	// Roles: only the owner sets them.
	h.rpc("bob", MethodGroupRole, map[string]any{"group": g, "user": "carol", "role": "admin"}, CodeNotAuthorized)
	h.rpc("alice", MethodGroupRole, map[string]any{"group": g, "user": "bob", "role": "boss"}, CodePayloadFormat)
	h.rpc("alice", MethodGroupRole, map[string]any{"group": g, "user": "bob", "role": "admin"}, CodeSuccess)
	if n := lastNotice(t, h, "carol", EventRole); n.Notice.User != "bob" || n.Notice.Role != RoleAdmin || n.Seq != 4 {
		t.Fatalf("role notice %+v", n.Notice)
	}
	h.rpc("alice", MethodGroupRole, map[string]any{"group": g, "user": "bob", "role": "admin"}, CodeImplementation)

	// Kick: an admin kicks a member, not the owner; the kicked member is told.
	h.rpc("bob", MethodGroupKick, map[string]any{"group": g, "user": "alice"}, CodeNotAuthorized)
	h.rpc("bob", MethodGroupKick, map[string]any{"group": g, "user": "bob"}, CodeImplementation)
	h.rpc("bob", MethodGroupKick, map[string]any{"group": g, "user": "carol"}, CodeSuccess)
	for _, u := range []string{"alice", "bob", "carol"} {
		if n := lastNotice(t, h, u, EventKicked); n.Notice.User != "carol" || n.Notice.By != "bob" || n.Seq != 5 {
			t.Fatalf("kicked notice for %s: %+v", u, n.Notice)
		}
	}
	h.handle(dev("carol", "c1"), req(groupTopic(g), sendBody("m2", "still here?")), CodeNotAuthorized)
	h.rpc("carol", MethodHistory, map[string]any{"conv": conv}, CodeNotAuthorized)
	h.rpc("bob", MethodGroupKick, map[string]any{"group": g, "user": "carol"}, CodeImplementation)

	// Rename by an admin.
	h.rpc("bob", MethodGroupRename, map[string]any{"group": g, "name": "Core"}, CodeSuccess)
	if n := lastNotice(t, h, "alice", EventRenamed); n.Notice.Name != "Core" || n.Notice.By != "bob" {
		t.Fatalf("renamed notice %+v", n.Notice)
	}
	if m := h.rpc("alice", MethodGroupMembers, map[string]any{"group": g}, CodeSuccess); m["name"] != "Core" {
		t.Fatalf("members after rename %v", m)
	}
	h.rpc("bob", MethodGroupRename, map[string]any{"group": g, "name": ""}, CodePayloadFormat)

	// The owner leaves only after handing ownership over.
	h.rpc("alice", MethodGroupLeave, map[string]any{"group": g}, CodeImplementation)
	h.rpc("alice", MethodGroupRole, map[string]any{"group": g, "user": "bob", "role": "owner"}, CodeSuccess)
	if got := membersOf(t, h, "alice", g); got["bob"] != RoleOwner || got["alice"] != RoleAdmin {
		t.Fatalf("after transfer %v", got)
	}
	h.rpc("alice", MethodGroupLeave, map[string]any{"group": g}, CodeSuccess)
	for _, u := range []string{"alice", "bob"} {
		if n := lastNotice(t, h, u, EventLeft); n.Notice.User != "alice" {
			t.Fatalf("left notice for %s: %+v", u, n.Notice)
		}
	}
	if got := membersOf(t, h, "bob", g); len(got) != 1 {
		t.Fatalf("after leave %v", got)
	}
	// The conversation log holds every notice in order, gap-free.
	m := h.rpc("bob", MethodHistory, map[string]any{"conv": conv}, CodeSuccess)
	var events []string
	for i, e := range msgsOf(t, m["messages"]) {
		if e.Seq != uint64(i+1) {
			t.Fatalf("history seq %d at %d", e.Seq, i)
		}
		if e.Notice != nil {
			events = append(events, e.Notice.Event)
		} else {
			events = append(events, e.Type)
		}
	}
	want := []string{"created", "joined", "text", "role", "kicked", "renamed", "role", "left"}
	if len(events) != len(want) {
		t.Fatalf("events %v, want %v", events, want)
	}
	for i := range want {
		if events[i] != want[i] {
			t.Fatalf("events %v, want %v", events, want)
		}
	}
	// The owner, alone, may leave.
	h.rpc("bob", MethodGroupLeave, map[string]any{"group": g}, CodeSuccess)
}

func TestOpenGroupJoinAndVisibility(t *testing.T) {
	h := newHarness(t)
	g := h.rpc("dave", MethodGroupCreate, map[string]any{"name": "Lobby", "open": true}, CodeSuccess)["group"].(string)
	conv := "g:" + g
	for i := 0; i < 3; i++ {
		h.sendGroup("dave", g, string(rune('a'+i)), "before")
	}
	res := h.rpc("erin", MethodGroupJoin, map[string]any{"group": g}, CodeSuccess)
	if res["seq"].(float64) != 5 {
		t.Fatalf("join %v", res)
	}
	h.rpc("erin", MethodGroupJoin, map[string]any{"group": g}, CodeImplementation)
	h.sendGroup("dave", g, "d", "after")
	// erin sees from her join notice on, and has one unread message.
	m := h.rpc("erin", MethodHistory, map[string]any{"conv": conv}, CodeSuccess)
	if got := seqs(msgsOf(t, m["messages"])); len(got) != 2 || got[0] != 5 || got[1] != 6 {
		t.Fatalf("erin's history %v", got)
	}
	m = h.rpc("erin", MethodHistory, map[string]any{"conv": conv, "before": 5}, CodeSuccess)
	if len(m["messages"].([]any)) != 0 || m["more"] != false {
		t.Fatalf("erin before her join: %v", m)
	}
	c := h.rpc("erin", MethodConversations, map[string]any{}, CodeSuccess)["conversations"].([]any)
	if len(c) != 1 || c[0].(map[string]any)["unread"].(float64) != 1 || c[0].(map[string]any)["name"] != "Lobby" {
		t.Fatalf("erin's conversations %v", c)
	}
	// Leaving and re-joining moves the visible start to the new join.
	h.rpc("erin", MethodGroupLeave, map[string]any{"group": g}, CodeSuccess)
	h.sendGroup("dave", g, "e", "while away")
	h.rpc("erin", MethodGroupJoin, map[string]any{"group": g}, CodeSuccess)
	m = h.rpc("erin", MethodHistory, map[string]any{"conv": conv}, CodeSuccess)
	if got := seqs(msgsOf(t, m["messages"])); len(got) != 1 || got[0] != 9 {
		t.Fatalf("erin's history after re-join %v", got)
	}
}

func TestGroupLimits(t *testing.T) {
	h := newHarness(t, func(c *Config, _ *Options) { c.GroupMaxMembers = 3 })
	h.rpc("alice", MethodGroupCreate, map[string]any{"name": "x", "users": []string{"b", "c", "d"}}, CodeQuotaExceeded)
	g := h.rpc("alice", MethodGroupCreate, map[string]any{"name": "x", "users": []string{"b", "c"}}, CodeSuccess)["group"].(string)
	h.rpc("alice", MethodGroupInvite, map[string]any{"group": g, "users": []string{"d"}}, CodeQuotaExceeded)
	h.rpc("alice", MethodGroupCreate, map[string]any{"name": "x", "users": []string{"bad/name"}}, CodePayloadFormat)
	h.rpc("alice", MethodGroupCreate, map[string]any{"users": []string{"b"}}, CodePayloadFormat)
	h.rpc("alice", MethodGroupInvite, map[string]any{"group": "no/such", "users": []string{"d"}}, CodePayloadFormat)
	h.rpc("alice", MethodGroupInvite, map[string]any{"group": "404", "users": []string{"d"}}, CodeNotAuthorized)
}

// TestInviteManyIsOneNotice: inviting several users appends one "joined" notice
// naming them all, and each of them sees the conversation from it on.
func TestInviteManyIsOneNotice(t *testing.T) {
	h := newHarness(t)
	g := h.rpc("alice", MethodGroupCreate, map[string]any{"name": "big"}, CodeSuccess)["group"].(string)
	h.rpc("alice", MethodGroupInvite, map[string]any{"group": g, "users": []string{"bob", "carol", "dave"}}, CodeSuccess)
	n := lastNotice(t, h, "dave", EventJoined)
	if n.Seq != 2 || n.Notice.User != "" || len(n.Notice.Users) != 3 || n.Notice.By != "alice" {
		t.Fatalf("joined notice %+v (seq %d), want one notice for bob, carol, dave at seq 2", n.Notice, n.Seq)
	}
	for _, u := range []string{"bob", "carol", "dave"} {
		if es := h.envs(userTopic(u, leafMsg)); len(es) != 1 {
			t.Fatalf("%s got %d envelopes, want the one notice", u, len(es))
		}
		hist := h.rpc(u, MethodHistory, map[string]any{"conv": "g:" + g}, CodeSuccess)
		if ms := hist["messages"].([]any); len(ms) != 1 || ms[0].(map[string]any)["seq"].(float64) != 2 {
			t.Fatalf("%s's history %v: want only the joined notice (seq 2)", u, hist)
		}
	}
}
