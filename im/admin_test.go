package im

import (
	"errors"
	"fmt"
	"testing"
)

func TestAdminGroupsAndNotify(t *testing.T) {
	h := newHarness(t)
	var ids []string
	for i := range 5 {
		r := h.rpc("alice", MethodGroupCreate, map[string]any{"name": fmt.Sprint("g", i), "users": []string{"bob"}}, CodeSuccess)
		ids = append(ids, r["group"].(string))
	}
	// Paging: 2 + 2 + 1, in id order, with more set correctly.
	var seen []string
	after := ""
	for page := 0; ; page++ {
		gs, more, err := h.svc.AdminGroups(after, 2)
		check(t, err)
		for _, g := range gs {
			if g.Members != 2 || g.Creator != "alice" || g.LastSeq != 1 || g.Conv != "g:"+g.Group {
				t.Fatalf("summary %+v", g)
			}
			seen = append(seen, g.Group)
			after = g.Group
		}
		if !more {
			break
		}
		if page > 5 {
			t.Fatal("paging does not end")
		}
	}
	if fmt.Sprint(seen) != fmt.Sprint(ids) {
		t.Fatalf("groups %v, want %v (creation order is id order)", seen, ids)
	}
	if _, _, err := h.svc.AdminGroups("bad/id", 2); !errors.Is(err, ErrBadPayload) {
		t.Fatalf("bad after: %v", err)
	}

	d, err := h.svc.AdminGroup(ids[0])
	check(t, err)
	if m := d.(membersResult); len(m.Members) != 2 || m.Name != "g0" {
		t.Fatalf("group detail %+v", m)
	}
	if _, err := h.svc.AdminGroup("999"); !errors.Is(err, ErrNoGroup) {
		t.Fatalf("unknown group: %v", err)
	}

	// Notifications from the operator: to a user, to a group, to everyone.
	h.rec.take()
	_, err = h.svc.AdminNotify("admin", NotifyTarget{User: "bob"}, "hi", "to bob")
	check(t, err)
	_, err = h.svc.AdminNotify("admin", NotifyTarget{Group: ids[1]}, "", "to the group")
	check(t, err)
	_, err = h.svc.AdminNotify("admin", NotifyTarget{All: true}, "", "to all")
	check(t, err)
	if n := len(h.rec.on(userTopic("bob", leafNotify))); n != 2 {
		t.Fatalf("bob got %d notifications, want 2", n)
	}
	if n := len(h.rec.on(userTopic("alice", leafNotify))); n != 1 {
		t.Fatalf("alice got %d notifications, want 1 (the group's)", n)
	}
	if n := len(h.rec.on(TopicNotifyAll)); n != 1 {
		t.Fatalf("%d notifications on %s, want 1", n, TopicNotifyAll)
	}
	if _, err := h.svc.AdminNotify("admin", NotifyTarget{Group: "999"}, "", "x"); !errors.Is(err, ErrNoGroup) {
		t.Fatalf("notify to an unknown group: %v", err)
	}
	if _, err := h.svc.AdminNotify("admin", NotifyTarget{}, "", "x"); !errors.Is(err, ErrBadPayload) {
		t.Fatalf("notify to nobody: %v", err)
	}
}
