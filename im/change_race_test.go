package im

import (
	"fmt"
	"sync"
	"testing"
)

// TestEditRecallRace: an edit and a recall of one message proposed at the
// same time never leave a body behind: the recall always wins in the end
// (it retries when the edit changed the message under it), and an edit
// committed after the recall's read does not bring the body back.
func TestEditRecallRace(t *testing.T) {
	h := newHarness(t)
	const conv = "d:alice:bob"
	for i := range 15 {
		a := h.send("alice", "bob", fmt.Sprint("c", i), fmt.Sprint("orig-", i, "-"))
		var wg sync.WaitGroup
		var editOut, recallOut Outcome
		wg.Add(2)
		go func() {
			defer wg.Done()
			p := mustJSON(t, map[string]any{"conv": conv, "seq": a.Seq, "body": fmt.Sprint("edit-", i, "-")})
			editOut = h.svc.Handle(bg(), dev("alice", "a2"), req(rpcTopic(MethodMsgEdit), p))
		}()
		go func() {
			defer wg.Done()
			p := mustJSON(t, map[string]any{"conv": conv, "seq": a.Seq})
			recallOut = h.svc.Handle(bg(), dev("alice", "a3"), req(rpcTopic(MethodMsgRecall), p))
		}()
		wg.Wait()
		if !recallOut.OK() || (!editOut.OK() && editOut.Code != CodeImplementation) {
			t.Fatalf("round %d: edit %+v recall %+v", i, editOut, recallOut)
		}
		for _, body := range []string{fmt.Sprint("orig-", i, "-"), fmt.Sprint("edit-", i, "-")} {
			if got := rawContaining(t, h.store, body); len(got) != 0 {
				t.Fatalf("round %d (edit %+v): %q still stored: %q", i, editOut, body, got)
			}
		}
	}
}

// TestAdminRecallDemotionRace: an admin's recall racing their demotion is
// applied only if it comes before the demotion in the log.
func TestAdminRecallDemotionRace(t *testing.T) {
	h := newHarness(t)
	res := h.rpc("alice", MethodGroupCreate, map[string]any{"name": "T", "users": []string{"bob", "carol"}}, CodeSuccess)
	g := res["group"].(string)
	conv := "g:" + g
	for i := range 15 {
		h.rpc("alice", MethodGroupRole, map[string]any{"group": g, "user": "bob", "role": RoleAdmin}, CodeSuccess)
		a := h.sendGroup("carol", g, fmt.Sprint("c", i), "x")
		h.rec.take()
		var wg sync.WaitGroup
		var recallOut Outcome
		wg.Add(2)
		go func() {
			defer wg.Done()
			p := mustJSON(t, map[string]any{"group": g, "user": "bob", "role": RoleMember})
			if out := h.svc.Handle(bg(), dev("alice", "a2"), req(rpcTopic(MethodGroupRole), p)); !out.OK() {
				t.Errorf("demote: %+v", out)
			}
		}()
		go func() {
			defer wg.Done()
			p := mustJSON(t, map[string]any{"conv": conv, "seq": a.Seq})
			recallOut = h.svc.Handle(bg(), dev("bob", "b2"), req(rpcTopic(MethodMsgRecall), p))
		}()
		wg.Wait()
		var recallSeq, roleSeq uint64
		for _, e := range h.envs(userTopic("carol", leafMsg)) {
			switch {
			case e.Type == TypeRecall:
				recallSeq = e.Seq
			case e.Type == TypeNotice && e.Notice.Event == EventRole && e.Notice.Role == RoleMember:
				roleSeq = e.Seq
			}
		}
		switch {
		case recallOut.OK() && (recallSeq == 0 || recallSeq > roleSeq):
			t.Fatalf("round %d: recall at %d applied after the demotion at %d", i, recallSeq, roleSeq)
		case !recallOut.OK() && (recallOut.Code != CodeNotAuthorized || recallSeq != 0):
			t.Fatalf("round %d: recall %+v, event at %d", i, recallOut, recallSeq)
		}
	}
}
