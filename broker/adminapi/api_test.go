package adminapi_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/eclipse/paho.golang/paho"
	pahov3 "github.com/eclipse/paho.mqtt.golang"

	"github.com/imqtt/imqtt/broker/adminapi"
	"github.com/imqtt/imqtt/cluster"
	"github.com/imqtt/imqtt/persist"
)

func TestNewRequiresDeps(t *testing.T) {
	if _, err := adminapi.New(adminapi.Deps{}); !errors.Is(err, adminapi.ErrMissingDep) {
		t.Fatalf("New(Deps{}) = %v, want ErrMissingDep", err)
	}
}

func TestClientsListPagingAndFilters(t *testing.T) {
	forEngines(t, func(t *testing.T, eng string) {
		tn := startEngineNode(t, "", eng)
		for i := 0; i < 5; i++ {
			tn.connectV5(fmt.Sprintf("c%d", i), true, 0)
		}
		tn.connectV5("other", true, 0)

		var got []string
		cursor := ""
		for pages := 0; ; pages++ {
			if pages > 5 {
				t.Fatal("paging does not end")
			}
			var p adminapi.Page[adminapi.Client]
			tn.mustStatus(http.StatusOK, "GET", "/clients?limit=2&cursor="+cursor, &p)
			if len(p.Items) > 2 {
				t.Fatalf("page of %d items with limit 2", len(p.Items))
			}
			for _, c := range p.Items {
				got = append(got, c.ClientID)
			}
			if p.NextCursor == "" {
				break
			}
			cursor = url.QueryEscape(p.NextCursor)
		}
		if want := "c0,c1,c2,c3,c4,other"; strings.Join(got, ",") != want {
			t.Fatalf("paged clients %v, want %s", got, want)
		}

		for q, want := range map[string]int{
			"client_id_prefix=c": 5, "client_id_prefix=c3": 1, "listener=tcp": 6, "listener=ws": 0,
			"user=": 6, "user=alice": 0, "limit=1000": 6,
		} {
			var p adminapi.Page[adminapi.Client]
			tn.mustStatus(http.StatusOK, "GET", "/clients?"+q, &p)
			if len(p.Items) != want {
				t.Errorf("GET /clients?%s: %d items, want %d", q, len(p.Items), want)
			}
		}
		for _, q := range []string{"limit=0", "limit=1001", "limit=x", "cursor=%21%21", "cursor="} {
			status, body := tn.call("GET", "/clients?"+q, "", nil)
			if q == "cursor=" {
				if status != http.StatusOK {
					t.Errorf("empty cursor: %d %s", status, body)
				}
				continue
			}
			if status != http.StatusBadRequest || errorCode(t, body) != codeBadRequest {
				t.Errorf("GET /clients?%s: %d %s, want 400 bad_request", q, status, body)
			}
		}
	})
}

func TestClientDetail(t *testing.T) {
	forEngines(t, func(t *testing.T, eng string) {
		tn := startEngineNode(t, "", eng)
		c := tn.connectV5("detail", false, 600)
		c.subscribe(t, "a/+", "b/#")
		var d adminapi.ClientDetail
		tn.mustStatus(http.StatusOK, "GET", "/clients/detail", &d)
		if d.ClientID != "detail" || d.ProtocolVersion != 5 || d.Listener != "tcp" || !d.Persistent ||
			d.SessionExpiry == nil || *d.SessionExpiry != 600 || d.Keepalive != 30 || d.Remote == "" {
			t.Fatalf("detail = %+v", d)
		}
		if d.ConnectedAt == nil || time.Since(*d.ConnectedAt) > time.Minute {
			t.Fatalf("connected_at = %v", d.ConnectedAt)
		}
		if d.SubscriptionCount != 2 || len(d.Subscriptions) != 2 || d.Subscriptions[0].Filter != "a/+" || d.Subscriptions[1].QoS != 1 {
			t.Fatalf("subscriptions = %+v", d.Subscriptions)
		}
		body := tn.mustStatus(http.StatusNotFound, "GET", "/clients/nobody", nil)
		if errorCode(t, body) != codeNotFound {
			t.Fatalf("unknown client: %s", body)
		}
	})
}

func TestKickSendsAdministrativeAction(t *testing.T) {
	forEngines(t, func(t *testing.T, eng string) {
		tn := startEngineNode(t, "", eng)
		c := tn.connectV5("victim", true, 0)
		var k adminapi.Kicked
		tn.mustStatus(http.StatusOK, "DELETE", "/clients/victim", &k)
		if k.ClientID != "victim" || !strings.HasPrefix(k.Reason, "0x98") {
			t.Fatalf("kick answer %+v", k)
		}
		select {
		case d := <-c.discon:
			if d.ReasonCode != 0x98 {
				t.Fatalf("DISCONNECT reason %#x, want 0x98", d.ReasonCode)
			}
		case <-time.After(10 * time.Second):
			t.Fatal("the client saw no DISCONNECT")
		}
		eventually(t, "kicked client gone", func() bool {
			st, _ := tn.call("GET", "/clients/victim", "", nil)
			return st == http.StatusNotFound
		})
		body := tn.mustStatus(http.StatusNotFound, "DELETE", "/clients/victim", nil)
		if errorCode(t, body) != codeNotFound {
			t.Fatal(body)
		}
		logs := tn.logs.String()
		if !strings.Contains(logs, `"action":"kick"`) || !strings.Contains(logs, `"principal":"loopback"`) ||
			!strings.Contains(logs, `"client_id":"victim"`) || !strings.Contains(logs, `"listener":"tcp"`) {
			t.Fatalf("kick not audited:\n%s", logs)
		}
	})
}

func TestSessionsListDeleteAndReconnect(t *testing.T) {
	tn := startNode(t, "")
	p := tn.connectV5("keeper", false, 3600)
	p.subscribe(t, "q/#")
	if err := p.Disconnect(&paho.Disconnect{}); err != nil {
		t.Fatal(err)
	}
	online := tn.connectV5("busy", false, 3600)
	_ = online

	eventually(t, "keeper offline in the store", func() bool {
		s, err := tn.store.Session("keeper")
		return err == nil && s.DisconnectedAt > 0
	})
	// A queued message for the offline session.
	if err := tn.engine.Publish("q/1", []byte("x"), 1, false); err != nil {
		t.Fatal(err)
	}
	eventually(t, "message queued", func() bool {
		n, _, _ := tn.store.QueueLen("keeper")
		return n == 1
	})

	var page adminapi.Page[adminapi.Session]
	tn.mustStatus(http.StatusOK, "GET", "/sessions", &page)
	if len(page.Items) != 2 || page.Items[0].ClientID != "busy" || page.Items[1].ClientID != "keeper" {
		t.Fatalf("sessions = %+v", page.Items)
	}
	busy, keeper := page.Items[0], page.Items[1]
	if !busy.Online || keeper.Online || keeper.DisconnectedAt == nil || keeper.ExpiresAt == nil ||
		keeper.SubscriptionCount != 1 || keeper.Queued != 1 || keeper.SessionExpiry == nil || *keeper.SessionExpiry != 3600 {
		t.Fatalf("busy %+v keeper %+v", busy, keeper)
	}
	var d adminapi.SessionDetail
	tn.mustStatus(http.StatusOK, "GET", "/sessions/keeper", &d)
	if len(d.Subscriptions) != 1 || d.Subscriptions[0].Filter != "q/#" || d.Queued != 1 {
		t.Fatalf("detail %+v", d)
	}
	tn.mustStatus(http.StatusNotFound, "GET", "/sessions/ghost", nil)

	body := tn.mustStatus(http.StatusConflict, "DELETE", "/sessions/busy", nil)
	if errorCode(t, body) != codeConflict {
		t.Fatal(body)
	}
	tn.mustStatus(http.StatusOK, "DELETE", "/sessions/keeper", nil)
	if _, err := tn.store.Session("keeper"); !errors.Is(err, persist.ErrNotFound) {
		t.Fatalf("stored session after delete: %v", err)
	}
	if n, _, _ := tn.store.QueueLen("keeper"); n != 0 {
		t.Fatalf("queue after delete: %d", n)
	}
	if _, ok := tn.engine.Session("keeper"); ok {
		t.Fatal("the engine still knows the deleted session")
	}
	tn.mustStatus(http.StatusNotFound, "DELETE", "/sessions/keeper", nil)

	again := tn.connectV5("keeper", false, 3600)
	if again.connack.SessionPresent {
		t.Fatal("session present after the session was deleted")
	}
	if !strings.Contains(tn.logs.String(), `"action":"delete_session"`) {
		t.Fatal("delete_session not audited")
	}
}

// A session in the store that the storage hook does not own (written by
// another node, say) is deleted through raft by the API itself.
func TestDeleteStoredSessionNotOwned(t *testing.T) {
	forEngines(t, func(t *testing.T, eng string) {
		tn := startEngineNode(t, "", eng)
		cmd, err := persist.EncodeOps([]persist.Op{persist.PutSessionOp(persist.Session{
			ClientID: "elsewhere", ProtocolVersion: 4, SessionExpiry: persist.NeverExpires, DisconnectedAt: 1,
		})})
		if err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if _, err := tn.node.Apply(ctx, cmd); err != nil {
			t.Fatal(err)
		}
		tn.mustStatus(http.StatusOK, "DELETE", "/sessions/elsewhere", nil)
		if _, err := tn.store.Session("elsewhere"); !errors.Is(err, persist.ErrNotFound) {
			t.Fatalf("stored session after delete: %v", err)
		}
	})
}

func TestSubscriptionsQuery(t *testing.T) {
	forEngines(t, func(t *testing.T, eng string) {
		tn := startEngineNode(t, "", eng)
		tn.connectV5("s1", true, 0).subscribe(t, "a/b", "a/+/c", "x/#")
		tn.connectV5("s2", true, 0).subscribe(t, "a/#", "$share/g/a/b")
		tests := []struct {
			query string
			want  string // client:filter,...
		}{
			{"", "s1:a/+/c,s1:a/b,s1:x/#,s2:$share/g/a/b,s2:a/#"},
			{"filter=a/%23", "s1:a/+/c,s1:a/b,s2:$share/g/a/b,s2:a/#"},
			{"filter=a/b", "s1:a/b,s2:$share/g/a/b"},
			{"filter=a/b&exact=true", "s1:a/b"},
			{"filter=%24share/g/%23", "s2:$share/g/a/b"},
			{"filter=a/%2B", "s1:a/b,s2:$share/g/a/b"},
			{"topic=a/b", "s2:$share/g/a/b,s1:a/b,s2:a/#"},
			{"topic=a/z/c", "s1:a/+/c,s2:a/#"},
			{"topic=nothing", ""},
		}
		for _, tc := range tests {
			var p adminapi.Page[adminapi.Subscription]
			tn.mustStatus(http.StatusOK, "GET", "/subscriptions?"+tc.query, &p)
			var got []string
			for _, s := range p.Items {
				if s.Online == nil || !*s.Online {
					t.Errorf("%s: %s online = %v", tc.query, s.ClientID, s.Online)
				}
				got = append(got, s.ClientID+":"+s.Filter)
			}
			if !sameSet(got, tc.want) {
				t.Errorf("GET /subscriptions?%s = %v, want %s", tc.query, got, tc.want)
			}
		}
		var p adminapi.Page[adminapi.Subscription]
		tn.mustStatus(http.StatusOK, "GET", "/subscriptions?limit=2", &p)
		if len(p.Items) != 2 || p.NextCursor == "" {
			t.Fatalf("first page %+v", p)
		}
		var p2 adminapi.Page[adminapi.Subscription]
		tn.mustStatus(http.StatusOK, "GET", "/subscriptions?limit=10&cursor="+url.QueryEscape(p.NextCursor), &p2)
		if len(p2.Items) != 3 || p2.Items[0].Filter == p.Items[1].Filter && p2.Items[0].ClientID == p.Items[1].ClientID {
			t.Fatalf("second page %+v after %+v", p2.Items, p.Items)
		}
		for _, q := range []string{"filter=a/%23/b", "filter=", "filter=a%2B", "filter=%24share//a", "topic=a/%2B", "topic=", "filter=a&topic=a", "filter=a&exact=maybe"} {
			status, body := tn.call("GET", "/subscriptions?"+q, "", nil)
			if status != http.StatusBadRequest || errorCode(t, body) != codeBadRequest {
				t.Errorf("GET /subscriptions?%s: %d %s, want 400", q, status, body)
			}
		}
	})
}

func sameSet(got []string, want string) bool {
	var w []string
	if want != "" {
		w = strings.Split(want, ",")
	}
	if len(got) != len(w) {
		return false
	}
	seen := map[string]int{}
	for _, s := range w {
		seen[s]++
	}
	for _, s := range got {
		seen[s]--
	}
	for _, n := range seen {
		if n != 0 {
			return false
		}
	}
	return true
}

func TestRetainedListAndDelete(t *testing.T) {
	forEngines(t, func(t *testing.T, eng string) {
		tn := startEngineNode(t, "", eng)
		pub := tn.connectV5("pub", true, 0)
		for _, topic := range []string{"r/a", "r/b", "other"} {
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			_, err := pub.Publish(ctx, &paho.Publish{Topic: topic, QoS: 1, Retain: true, Payload: []byte("v-" + topic)})
			cancel()
			if err != nil {
				t.Fatal(err)
			}
		}
		var p adminapi.Page[adminapi.Retained]
		tn.mustStatus(http.StatusOK, "GET", "/retained?filter=r/%23", &p)
		if len(p.Items) != 2 || p.Items[0].Topic != "r/a" || string(p.Items[0].Payload) != "v-r/a" || p.Items[0].PayloadSize != 5 || p.Items[0].QoS != 1 {
			t.Fatalf("retained r/# = %+v", p.Items)
		}
		tn.mustStatus(http.StatusOK, "GET", "/retained", &p)
		if len(p.Items) != 3 {
			t.Fatalf("retained # = %+v", p.Items)
		}
		durable := tn.eng == engDurable
		if _, err := tn.store.Retained("r/a", time.Now()); durable && err != nil {
			t.Fatalf("r/a not durable before delete: %v", err)
		}
		// A current subscriber of r/a receives the empty retained message
		// [MQTT-3.3.1-10].
		cur := tn.connectV5("current", true, 0)
		cur.subscribe(t, "r/a")
		if m := cur.next(t); m.Topic != "r/a" || string(m.Payload) != "v-r/a" {
			t.Fatalf("subscriber of r/a got %s %q first", m.Topic, m.Payload)
		}

		tn.mustStatus(http.StatusOK, "DELETE", "/retained?topic=r/a", nil)
		if _, err := tn.store.Retained("r/a", time.Now()); !errors.Is(err, persist.ErrNotFound) {
			t.Fatalf("r/a still stored: %v", err)
		}
		if m := cur.next(t); m.Topic != "r/a" || len(m.Payload) != 0 {
			t.Fatalf("subscriber of r/a got %s %q, want the empty message", m.Topic, m.Payload)
		}
		tn.mustStatus(http.StatusOK, "GET", "/retained?filter=r/%23", &p)
		if len(p.Items) != 1 || p.Items[0].Topic != "r/b" {
			t.Fatalf("after delete: %+v", p.Items)
		}
		late := tn.connectV5("late", true, 0)
		late.subscribe(t, "r/#")
		select {
		case m := <-late.msgs:
			if m.Topic != "r/b" {
				t.Fatalf("new subscriber got %s %q", m.Topic, m.Payload)
			}
		case <-time.After(10 * time.Second):
			t.Fatal("no retained r/b for the new subscriber")
		}
		tn.mustStatus(http.StatusNotFound, "DELETE", "/retained?topic=r/a", nil)
		for _, q := range []string{"topic=r/%23", "topic=", "", "topic=a%00b"} {
			status, body := tn.call("DELETE", "/retained?"+q, "", nil)
			if status != http.StatusBadRequest {
				t.Errorf("DELETE /retained?%s: %d %s, want 400", q, status, body)
			}
		}
		for _, q := range []string{"filter=r/%23/x", "filter=%24share/g/r"} {
			status, body := tn.call("GET", "/retained?"+q, "", nil)
			if status != http.StatusBadRequest {
				t.Errorf("GET /retained?%s: %d %s, want 400", q, status, body)
			}
		}
		select {
		case m := <-late.msgs:
			t.Fatalf("unexpected message %s %q", m.Topic, m.Payload)
		default:
		}
	})
}

func TestReloadReport(t *testing.T) {
	forEngines(t, func(t *testing.T, eng string) {
		tn := startEngineNode(t, "", eng)
		var rep adminapi.ReloadReport
		tn.mustStatus(http.StatusOK, "POST", "/reload", &rep)
		if len(rep.Parts) != 1 || rep.Parts[0].Status != adminapi.ReloadOK {
			t.Fatalf("report %+v", rep)
		}
		tn.reload = func() adminapi.ReloadReport {
			return adminapi.ReloadReport{Parts: []adminapi.ReloadPart{
				{Part: "auth", Status: adminapi.ReloadOK},
				{Part: "acl", Status: adminapi.ReloadFailed, Error: "acl.conf:2: bad line"},
			}}
		}
		status, body := tn.call("POST", "/reload", "", nil)
		if status != http.StatusUnprocessableEntity || errorCode(t, body) != codeReloadFailed ||
			!strings.Contains(body, "acl.conf:2") || !strings.Contains(body, `"parts"`) {
			t.Fatalf("failed reload: %d %s", status, body)
		}
		tn.mustStatus(http.StatusMethodNotAllowed, "GET", "/reload", nil)
	})
}

func TestClusterAndHealth(t *testing.T) {
	forEngines(t, func(t *testing.T, eng string) {
		tn := startEngineNode(t, "", eng)
		var st cluster.Status
		tn.mustStatus(http.StatusOK, "GET", "/cluster", &st)
		if st.NodeID != "t1" || st.State != "Leader" || st.LeaderID != "t1" || len(st.Servers) != 1 || st.CommitIndex == 0 {
			t.Fatalf("cluster %+v", st)
		}
		tn.connectV5("h", true, 0)
		var h adminapi.Health
		tn.mustStatus(http.StatusOK, "GET", "/health", &h)
		if h.Status != adminapi.HealthOK || h.NodeID != "t1" || h.Clients != 1 {
			t.Fatalf("health %+v", h)
		}
	})
}

func TestTokenRequired(t *testing.T) {
	forEngines(t, func(t *testing.T, eng string) {
		tn := startEngineNode(t, testToken, eng)
		for _, tok := range []string{"", "wrong-token-0123456789"} {
			status, body := tn.call("GET", "/clients", tok, nil)
			if status != http.StatusUnauthorized || errorCode(t, body) != "unauthorized" {
				t.Fatalf("token %q: %d %s", tok, status, body)
			}
		}
		if status, body := tn.call("DELETE", "/clients/x", "", nil); status != http.StatusUnauthorized {
			t.Fatalf("unauthenticated kick: %d %s", status, body)
		}
		if status, body := tn.call("GET", "/clients", testToken, nil); status != http.StatusOK {
			t.Fatalf("with token: %d %s", status, body)
		}
		if status, _ := tn.call("DELETE", "/clients/x", testToken, nil); status != http.StatusNotFound {
			t.Fatalf("kick unknown with token: %d", status)
		}
		logs := tn.logs.String()
		if !strings.Contains(logs, `"principal":"token"`) || strings.Contains(logs, testToken) {
			t.Fatalf("audit principal missing or token leaked:\n%s", logs)
		}
	})
}

// An offline session the node holds in memory (on the native engine, which
// has no store yet, only there) is listed by /subscriptions as offline and
// deleted by DELETE /sessions/{id}: a reconnect gets Session Present 0.
func TestDeleteSessionInMemory(t *testing.T) {
	forEngines(t, func(t *testing.T, eng string) {
		tn := startEngineNode(t, "", eng)
		k := tn.connectV5("keeper", false, 3600)
		k.subscribe(t, "q/#")
		if err := k.Disconnect(&paho.Disconnect{}); err != nil {
			t.Fatal(err)
		}
		tn.connectV5("busy", false, 3600)
		eventually(t, "keeper offline in /subscriptions", func() bool {
			var p adminapi.Page[adminapi.Subscription]
			tn.mustStatus(http.StatusOK, "GET", "/subscriptions?filter=q/%23", &p)
			return len(p.Items) == 1 && p.Items[0].ClientID == "keeper" && p.Items[0].Online != nil && !*p.Items[0].Online
		})
		var c adminapi.Page[adminapi.Client]
		tn.mustStatus(http.StatusOK, "GET", "/clients", &c)
		if len(c.Items) != 1 || c.Items[0].ClientID != "busy" {
			t.Fatalf("clients %+v: an offline session is not a client", c.Items)
		}
		if body := tn.mustStatus(http.StatusConflict, "DELETE", "/sessions/busy", nil); errorCode(t, body) != codeConflict {
			t.Fatal(body)
		}
		tn.mustStatus(http.StatusOK, "DELETE", "/sessions/keeper", nil)
		var p adminapi.Page[adminapi.Subscription]
		tn.mustStatus(http.StatusOK, "GET", "/subscriptions", &p)
		if len(p.Items) != 0 {
			t.Fatalf("subscriptions after delete: %+v", p.Items)
		}
		tn.mustStatus(http.StatusNotFound, "DELETE", "/sessions/keeper", nil)
		if again := tn.connectV5("keeper", false, 3600); again.connack.SessionPresent {
			t.Fatal("session present after the session was deleted")
		}
	})
}

// A 3.1.1 client has no server DISCONNECT: the kick closes it, and the
// answer carries no reason.
func TestKickV311(t *testing.T) {
	forEngines(t, func(t *testing.T, eng string) {
		tn := startEngineNode(t, "", eng)
		lost := make(chan error, 1)
		o := pahov3.NewClientOptions().AddBroker("tcp://" + tn.mqtt).SetClientID("old").SetProtocolVersion(4).
			SetAutoReconnect(false).SetKeepAlive(0).
			SetConnectionLostHandler(func(_ pahov3.Client, err error) { lost <- err })
		c := pahov3.NewClient(o)
		if tok := c.Connect(); !tok.WaitTimeout(10*time.Second) || tok.Error() != nil {
			t.Fatalf("connect 3.1.1: %v", tok.Error())
		}
		defer c.Disconnect(0)
		var d adminapi.ClientDetail
		tn.mustStatus(http.StatusOK, "GET", "/clients/old", &d)
		if d.ProtocolVersion != 4 || d.SessionExpiry != nil || !d.Clean || d.Persistent {
			t.Fatalf("3.1.1 client %+v", d)
		}
		var k adminapi.Kicked
		tn.mustStatus(http.StatusOK, "DELETE", "/clients/old", &k)
		if k.ClientID != "old" || k.Reason != "" {
			t.Fatalf("kick answer %+v", k)
		}
		select {
		case <-lost:
		case <-time.After(10 * time.Second):
			t.Fatal("the 3.1.1 client was not disconnected")
		}
	})
}
