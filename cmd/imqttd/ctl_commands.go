package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/imqtt/imqtt/broker/adminapi"
	"github.com/imqtt/imqtt/cluster"
)

// printJSON writes v indented (the --json output of every command).
func printJSON(out io.Writer, v any) error {
	enc := json.NewEncoder(out)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

// table writes rows aligned in columns; the first row is the header.
func table(out io.Writer, rows [][]string) error {
	tw := tabwriter.NewWriter(out, 0, 4, 2, ' ', 0)
	for _, r := range rows {
		fmt.Fprintln(tw, strings.Join(r, "\t"))
	}
	return tw.Flush()
}

// dash shows "-" for an empty cell.
func dash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

func fmtTime(t *time.Time) string {
	if t == nil {
		return "-"
	}
	return t.Local().Format(time.RFC3339)
}

func fmtExpiry(e *uint32) string {
	if e == nil {
		return "never"
	}
	return (time.Duration(*e) * time.Second).String()
}

func proto(v byte) string {
	switch v {
	case 3:
		return "3.1"
	case 4:
		return "3.1.1"
	case 5:
		return "5.0"
	}
	return strconv.Itoa(int(v))
}

func yesNo(b bool) string {
	if b {
		return "yes"
	}
	return "no"
}

func ctlClients(c *ctlClient, f *ctlFlags, _ []string, out io.Writer) error {
	q := url.Values{}
	if f.user != "" {
		q.Set("user", f.user)
	}
	if f.prefix != "" {
		q.Set("client_id_prefix", f.prefix)
	}
	if f.listener != "" {
		q.Set("listener", f.listener)
	}
	items, err := getAll[adminapi.Client](c, "/api/v1/clients", q, f.limit)
	if err != nil {
		return err
	}
	if f.json {
		return printJSON(out, adminapi.Page[adminapi.Client]{Items: orEmpty(items)})
	}
	rows := [][]string{{"CLIENT ID", "USER", "LISTENER", "REMOTE", "PROTO", "KEEPALIVE", "SUBS", "INFLIGHT", "QUEUED", "CONNECTED"}}
	for _, cl := range items {
		rows = append(rows, []string{cl.ClientID, dash(cl.User), cl.Listener, cl.Remote, proto(cl.ProtocolVersion),
			strconv.Itoa(int(cl.Keepalive)) + "s", strconv.Itoa(cl.SubscriptionCount), strconv.Itoa(cl.Inflight),
			strconv.Itoa(cl.Queued), fmtTime(cl.ConnectedAt)})
	}
	return table(out, rows)
}

func ctlClientDetail(c *ctlClient, f *ctlFlags, args []string, out io.Writer) error {
	var d adminapi.ClientDetail
	if _, err := c.getJSON("/api/v1/clients/"+url.PathEscape(args[0]), nil, &d); err != nil {
		return err
	}
	if f.json {
		return printJSON(out, d)
	}
	if err := table(out, [][]string{
		{"client id:", d.ClientID},
		{"user:", dash(d.User)},
		{"listener:", d.Listener},
		{"remote:", d.Remote},
		{"protocol:", proto(d.ProtocolVersion)},
		{"keepalive:", strconv.Itoa(int(d.Keepalive)) + "s"},
		{"clean:", yesNo(d.Clean)},
		{"persistent:", yesNo(d.Persistent)},
		{"session expiry:", fmtExpiry(d.SessionExpiry)},
		{"connected at:", fmtTime(d.ConnectedAt)},
		{"inflight:", strconv.Itoa(d.Inflight)},
		{"queued:", fmt.Sprintf("%d (%d bytes)", d.Queued, d.QueuedBytes)},
		{"will topic:", dash(d.WillTopic)},
	}); err != nil {
		return err
	}
	return subsTable(out, d.Subscriptions, false)
}

// subsTable prints subscriptions, with a client column when withClient.
func subsTable(out io.Writer, subs []adminapi.Subscription, withClient bool) error {
	fmt.Fprintf(out, "\nsubscriptions: %d\n", len(subs))
	if len(subs) == 0 {
		return nil
	}
	return table(out, subRows(subs, withClient))
}

func subRows(subs []adminapi.Subscription, withClient bool) [][]string {
	head := []string{"FILTER", "QOS", "NO LOCAL", "RAP", "RH", "ID"}
	if withClient {
		head = append([]string{"CLIENT ID", "ONLINE"}, head...)
	}
	rows := [][]string{head}
	for _, s := range subs {
		id := "-"
		if s.Identifier > 0 {
			id = strconv.Itoa(s.Identifier)
		}
		r := []string{s.Filter, strconv.Itoa(int(s.QoS)), yesNo(s.NoLocal), yesNo(s.RetainAsPublished), strconv.Itoa(int(s.RetainHandling)), id}
		if withClient {
			r = append([]string{s.ClientID, yesNo(s.Online != nil && *s.Online)}, r...)
		}
		rows = append(rows, r)
	}
	return rows
}

func ctlKick(c *ctlClient, f *ctlFlags, args []string, out io.Writer) error {
	body, err := c.do(http.MethodDelete, "/api/v1/clients/"+url.PathEscape(args[0]), nil)
	if err != nil {
		return err
	}
	var k adminapi.Kicked
	if err := json.Unmarshal(body, &k); err != nil {
		return fmt.Errorf("decode answer: %w", err)
	}
	if f.json {
		return printJSON(out, k)
	}
	if k.Reason != "" {
		fmt.Fprintf(out, "kicked %s (DISCONNECT %s)\n", k.ClientID, k.Reason)
	} else {
		fmt.Fprintf(out, "kicked %s (connection closed)\n", k.ClientID)
	}
	return nil
}

func ctlSessions(c *ctlClient, f *ctlFlags, _ []string, out io.Writer) error {
	q := url.Values{}
	if f.user != "" {
		q.Set("user", f.user)
	}
	if f.prefix != "" {
		q.Set("client_id_prefix", f.prefix)
	}
	items, err := getAll[adminapi.Session](c, "/api/v1/sessions", q, f.limit)
	if err != nil {
		return err
	}
	if f.json {
		return printJSON(out, adminapi.Page[adminapi.Session]{Items: orEmpty(items)})
	}
	rows := [][]string{{"CLIENT ID", "USER", "ONLINE", "PROTO", "EXPIRY", "DISCONNECTED", "EXPIRES", "SUBS", "QUEUED"}}
	for _, s := range items {
		rows = append(rows, []string{s.ClientID, dash(s.User), yesNo(s.Online), proto(s.ProtocolVersion),
			fmtExpiry(s.SessionExpiry), fmtTime(s.DisconnectedAt), fmtTime(s.ExpiresAt),
			strconv.Itoa(s.SubscriptionCount), strconv.Itoa(s.Queued)})
	}
	return table(out, rows)
}

func ctlSessionDetail(c *ctlClient, f *ctlFlags, args []string, out io.Writer) error {
	var d adminapi.SessionDetail
	if _, err := c.getJSON("/api/v1/sessions/"+url.PathEscape(args[0]), nil, &d); err != nil {
		return err
	}
	if f.json {
		return printJSON(out, d)
	}
	if err := table(out, [][]string{
		{"client id:", d.ClientID},
		{"user:", dash(d.User)},
		{"online:", yesNo(d.Online)},
		{"protocol:", proto(d.ProtocolVersion)},
		{"session expiry:", fmtExpiry(d.SessionExpiry)},
		{"disconnected at:", fmtTime(d.DisconnectedAt)},
		{"expires at:", fmtTime(d.ExpiresAt)},
		{"node:", dash(d.NodeID)},
		{"queued:", fmt.Sprintf("%d (%d bytes)", d.Queued, d.QueuedBytes)},
		{"inflight:", strconv.Itoa(d.Inflight)},
		{"will topic:", dash(d.WillTopic)},
	}); err != nil {
		return err
	}
	return subsTable(out, d.Subscriptions, false)
}

func ctlRmSession(c *ctlClient, f *ctlFlags, args []string, out io.Writer) error {
	return ctlDelete(c, f, "/api/v1/sessions/"+url.PathEscape(args[0]), nil, "deleted session", out)
}

// ctlDelete sends a DELETE and prints what the server says it deleted.
func ctlDelete(c *ctlClient, f *ctlFlags, path string, q url.Values, what string, out io.Writer) error {
	body, err := c.do(http.MethodDelete, path, q)
	if err != nil {
		return err
	}
	var d adminapi.Deleted
	if err := json.Unmarshal(body, &d); err != nil {
		return fmt.Errorf("decode answer: %w", err)
	}
	if f.json {
		return printJSON(out, d)
	}
	fmt.Fprintf(out, "%s %s\n", what, d.Deleted)
	return nil
}

func ctlSubs(c *ctlClient, f *ctlFlags, args []string, out io.Writer) error {
	q := url.Values{}
	if len(args) == 1 {
		q.Set("filter", args[0])
	}
	if f.topic != "" {
		q.Set("topic", f.topic)
	}
	if f.exact {
		q.Set("exact", "true")
	}
	items, err := getAll[adminapi.Subscription](c, "/api/v1/subscriptions", q, f.limit)
	if err != nil {
		return err
	}
	if f.json {
		return printJSON(out, adminapi.Page[adminapi.Subscription]{Items: orEmpty(items)})
	}
	return table(out, subRows(items, true))
}

func ctlRetained(c *ctlClient, f *ctlFlags, args []string, out io.Writer) error {
	q := url.Values{}
	if len(args) == 1 {
		q.Set("filter", args[0])
	}
	items, err := getAll[adminapi.Retained](c, "/api/v1/retained", q, f.limit)
	if err != nil {
		return err
	}
	if f.json {
		return printJSON(out, adminapi.Page[adminapi.Retained]{Items: orEmpty(items)})
	}
	rows := [][]string{{"TOPIC", "QOS", "SIZE", "CREATED", "EXPIRES"}}
	for _, m := range items {
		rows = append(rows, []string{m.Topic, strconv.Itoa(int(m.QoS)), strconv.Itoa(m.PayloadSize), fmtTime(m.Created), fmtTime(m.Expires)})
	}
	return table(out, rows)
}

func ctlRmRetained(c *ctlClient, f *ctlFlags, args []string, out io.Writer) error {
	return ctlDelete(c, f, "/api/v1/retained", url.Values{"topic": {args[0]}}, "deleted retained message on", out)
}

// ctlReload prints every part's outcome, also when the reload failed (422):
// then the command fails with the server's message.
func ctlReload(c *ctlClient, f *ctlFlags, _ []string, out io.Writer) error {
	body, err := c.do(http.MethodPost, "/api/v1/reload", nil)
	var ae *apiError
	if err != nil && !(errors.As(err, &ae) && ae.status == http.StatusUnprocessableEntity) {
		return err
	}
	if ae != nil {
		body = ae.body
	}
	var rep adminapi.ReloadReport
	if uerr := json.Unmarshal(body, &rep); uerr != nil {
		return fmt.Errorf("decode answer: %w", uerr)
	}
	if f.json {
		var raw json.RawMessage = body
		if perr := printJSON(out, raw); perr != nil {
			return perr
		}
	} else {
		rows := [][]string{{"PART", "LISTENER", "STATUS", "CHANGED", "ERROR"}}
		for _, p := range rep.Parts {
			rows = append(rows, []string{p.Part, dash(p.Listener), p.Status, yesNo(p.Changed), dash(p.Error)})
		}
		if terr := table(out, rows); terr != nil {
			return terr
		}
	}
	return err
}

func ctlCluster(c *ctlClient, f *ctlFlags, _ []string, out io.Writer) error {
	var st cluster.Status
	if _, err := c.getJSON("/api/v1/cluster", nil, &st); err != nil {
		return err
	}
	if f.json {
		return printJSON(out, st)
	}
	if err := table(out, [][]string{
		{"node:", st.NodeID + " (" + st.Addr + ")"},
		{"state:", st.State},
		{"leader:", dash(st.LeaderID) + " (" + dash(st.LeaderAddr) + ")"},
		{"term:", strconv.FormatUint(st.Term, 10)},
		{"last log index:", strconv.FormatUint(st.LastLogIndex, 10)},
		{"commit index:", strconv.FormatUint(st.CommitIndex, 10)},
		{"applied index:", strconv.FormatUint(st.AppliedIndex, 10)},
		{"last snapshot:", strconv.FormatUint(st.LastSnapshotIndex, 10)},
	}); err != nil {
		return err
	}
	fmt.Fprintf(out, "\nmembers: %d\n", len(st.Servers))
	rows := [][]string{{"ID", "ADDRESS", "VOTER", "LEADER"}}
	for _, s := range st.Servers {
		rows = append(rows, []string{s.ID, s.Addr, yesNo(s.Voter), yesNo(s.ID == st.LeaderID)})
	}
	return table(out, rows)
}

// ctlVersionBody mirrors GET /api/v1/version (broker/admin).
type ctlVersionBody struct {
	Name         string `json:"name"`
	Version      string `json:"version"`
	Commit       string `json:"commit"`
	BuildDate    string `json:"build_date"`
	GoVersion    string `json:"go_version"`
	MochiVersion string `json:"mochi_version"`
}

func ctlVersion(c *ctlClient, f *ctlFlags, _ []string, out io.Writer) error {
	var v ctlVersionBody
	if _, err := c.getJSON("/api/v1/version", nil, &v); err != nil {
		return err
	}
	if f.json {
		return printJSON(out, v)
	}
	fmt.Fprintf(out, "server: %s %s (commit %s, built %s, %s, codec mochi packets %s)\nctl:    imqttd %s\n",
		v.Name, v.Version, dash(v.Commit), dash(v.BuildDate), v.GoVersion, v.MochiVersion, version)
	return nil
}

func ctlHealth(c *ctlClient, f *ctlFlags, _ []string, out io.Writer) error {
	var h adminapi.Health
	body, err := c.do(http.MethodGet, "/api/v1/health", nil)
	var ae *apiError
	if err != nil && !(errors.As(err, &ae) && ae.status == http.StatusServiceUnavailable) {
		return err
	}
	if ae != nil {
		body = ae.body
	}
	if uerr := json.Unmarshal(body, &h); uerr != nil {
		return fmt.Errorf("decode answer: %w", uerr)
	}
	if f.json {
		if perr := printJSON(out, h); perr != nil {
			return perr
		}
	} else {
		fmt.Fprintf(out, "%s: node %s, %d clients connected", h.Status, h.NodeID, h.Clients)
		if h.Reason != "" {
			fmt.Fprintf(out, " (%s)", h.Reason)
		}
		fmt.Fprintln(out)
	}
	if ae != nil {
		return fmt.Errorf("node not ready: %s", h.Reason)
	}
	return nil
}

// orEmpty makes a nil list encode as [].
func orEmpty[T any](s []T) []T {
	if s == nil {
		return []T{}
	}
	return s
}
