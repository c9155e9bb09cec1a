package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"

	"github.com/imqtt/imqtt/broker/adminapi"
	"github.com/imqtt/imqtt/cluster"
)

// clusterUsage documents `imqttd cluster`.
const clusterUsage = `usage: imqttd cluster [ctl flags] status | join ID ADDR | remove ID

Cluster membership through a running node's admin API (any member: changes go
to the leader). ADDR is the new node's cluster port (cluster.advertise_addr or
cluster.bind_addr); the leader dials it and the node there must prove the
cluster secret (docs/cluster.md). Flags as for imqttd ctl (--addr, --token,
--token-file, --data-dir, --config, --json); on a node's machine the admin
token is found as ctl finds it.`

// clusterCmd runs `imqttd cluster`: shorthands for the ctl cluster commands.
func clusterCmd(args []string, stdout, stderr io.Writer, env []string) error {
	// The subcommand is the first argument that is not a flag or a flag's value.
	for i := 0; i < len(args); i++ {
		a := args[i]
		if len(a) > 0 && a[0] == '-' {
			if !containsEq(a) && i+1 < len(args) && !isBoolCtlFlag(a) {
				i++
			}
			continue
		}
		sub := map[string]string{"status": "cluster", "join": "cluster-join", "remove": "cluster-remove"}[a]
		if sub == "" {
			return fmt.Errorf("%w: unknown cluster command %q\n%s", errUsage, a, clusterUsage)
		}
		out := append(append(append([]string{}, args[:i]...), sub), args[i+1:]...)
		return ctlCmd(out, stdout, stderr, env)
	}
	return fmt.Errorf("%w: no cluster command\n%s", errUsage, clusterUsage)
}

func containsEq(s string) bool {
	for i := range len(s) {
		if s[i] == '=' {
			return true
		}
	}
	return false
}

func isBoolCtlFlag(a string) bool {
	switch a {
	case "-json", "--json", "-exact", "--exact", "-all", "--all":
		return true
	}
	return false
}

func ctlClusterJoin(c *ctlClient, f *ctlFlags, args []string, out io.Writer) error {
	payload, err := json.Marshal(adminapi.JoinRequest{ID: args[0], Addr: args[1]})
	if err != nil {
		return err
	}
	body, err := c.doBody(http.MethodPost, "/api/v1/cluster/nodes", nil, payload)
	var ae *apiError
	if errors.As(err, &ae) && ae.code == "peer_unauthenticated" {
		return fmt.Errorf("%w\nthe node at %s must run with this cluster's secret: give it a copy of a member's <data_dir>/%s (cluster.secret_file / --cluster-secret-file) or the cluster's TLS certificates",
			err, args[1], cluster.SecretFileName)
	}
	if err != nil {
		return err
	}
	return printMember(f, body, out)
}

func ctlClusterRemove(c *ctlClient, f *ctlFlags, args []string, out io.Writer) error {
	body, err := c.do(http.MethodDelete, "/api/v1/cluster/nodes/"+url.PathEscape(args[0]), nil)
	if err != nil {
		return err
	}
	return printMember(f, body, out)
}

func printMember(f *ctlFlags, body []byte, out io.Writer) error {
	var m adminapi.Member
	if err := json.Unmarshal(body, &m); err != nil {
		return fmt.Errorf("decode answer: %w", err)
	}
	if f.json {
		return printJSON(out, m)
	}
	fmt.Fprintf(out, "%s %s\n", m.Action, m.ID)
	return nil
}
