package main

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"time"

	"github.com/imqtt/imqtt/broker/adminapi"
	"github.com/imqtt/imqtt/im"
)

// ctlIMGroups lists the IM groups.
func ctlIMGroups(c *ctlClient, f *ctlFlags, _ []string, out io.Writer) error {
	items, err := getAll[im.GroupSummary](c, "/api/v1/im/groups", nil, f.limit)
	if err != nil {
		return err
	}
	if f.json {
		return printJSON(out, adminapi.Page[im.GroupSummary]{Items: orEmpty(items)})
	}
	rows := [][]string{{"GROUP", "NAME", "MEMBERS", "LAST SEQ", "OPEN", "CREATOR"}}
	for _, g := range items {
		rows = append(rows, []string{g.Group, g.Name, strconv.Itoa(g.Members), strconv.FormatUint(g.LastSeq, 10), strconv.FormatBool(g.Open), g.Creator})
	}
	return table(out, rows)
}

// imGroupDetail is the answer of GET /api/v1/im/groups/{id}.
type imGroupDetail struct {
	Group   string `json:"group"`
	Name    string `json:"name"`
	Members []struct {
		User   string `json:"user"`
		Role   string `json:"role"`
		Joined int64  `json:"joined"`
	} `json:"members"`
}

// ctlIMGroup shows one group with its members.
func ctlIMGroup(c *ctlClient, f *ctlFlags, args []string, out io.Writer) error {
	var g imGroupDetail
	body, err := c.getJSON("/api/v1/im/groups/"+url.PathEscape(args[0]), nil, &g)
	if err != nil {
		return err
	}
	if f.json {
		_, err := out.Write(append(body, '\n'))
		return err
	}
	fmt.Fprintf(out, "group %s (%s), %d members\n", g.Group, g.Name, len(g.Members))
	rows := [][]string{{"USER", "ROLE", "JOINED"}}
	for _, m := range g.Members {
		joined := time.UnixMilli(m.Joined)
		rows = append(rows, []string{m.User, m.Role, fmtTime(&joined)})
	}
	return table(out, rows)
}

// ctlNotify sends a notification: exactly one of --to-user, --to-group, --all.
func ctlNotify(c *ctlClient, f *ctlFlags, args []string, out io.Writer) error {
	n := 0
	for _, set := range []bool{f.toUser != "", f.toGroup != "", f.toAll} {
		if set {
			n++
		}
	}
	if n != 1 {
		return fmt.Errorf("%w: notify needs exactly one of --to-user, --to-group, --all", errUsage)
	}
	req := adminapi.NotifyRequest{To: im.NotifyTarget{User: f.toUser, Group: f.toGroup, All: f.toAll}, Title: f.title, Body: args[0]}
	payload, err := json.Marshal(req)
	if err != nil {
		return err
	}
	body, err := c.doBody(http.MethodPost, "/api/v1/im/notify", nil, payload)
	if err != nil {
		return err
	}
	if f.json {
		_, err := out.Write(append(body, '\n'))
		return err
	}
	var res struct {
		ID         string `json:"id"`
		Recipients int    `json:"recipients"`
	}
	if err := json.Unmarshal(body, &res); err != nil {
		return fmt.Errorf("decode answer: %w", err)
	}
	fmt.Fprintf(out, "notification %s sent to %d topic(s)\n", res.ID, res.Recipients)
	return nil
}
