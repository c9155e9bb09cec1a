package main

import (
	"flag"
	"fmt"
	"io"
	"net/url"
	"strings"
	"time"

	"github.com/imqtt/imqtt/broker"
)

// ctlUsage documents `imqttd ctl`.
const ctlUsage = `usage: imqttd ctl [flags] COMMAND [ARGS]

Talks to a running imqttd through its admin API (docs/admin-api.md).

commands:
  clients [--user U] [--prefix P] [--listener L]   connected clients
  client ID                                        one client with its subscriptions
  kick ID                                          disconnect a client (MQTT 5: DISCONNECT 0x98)
  sessions [--user U] [--prefix P]                 durable sessions
  session ID                                       one durable session
  rm-session ID                                    delete an offline durable session
  subs [FILTER] [--exact] [--topic T]              subscriptions covered by FILTER (all without one)
  retained [FILTER]                                retained messages (default filter #)
  rm-retained TOPIC                                delete the retained message of TOPIC
  reload                                           re-read users, ACL and TLS files (as SIGHUP)
  cluster                                          raft status: leader, members, indexes
  cluster-join ID ADDR                             add node ID (cluster port ADDR) as a voter
  cluster-remove ID                                remove node ID from the cluster
  version                                          the server's version
  health                                           readiness, node id, connected clients
  user list [--prefix P] [--state S] [--role R]    users of the replicated user store
  user show NAME                                   one user
  user add NAME [--password-file F] [--roles a,b]  create a user (no password file: token-only)
  user passwd NAME --password-file F               set the password (F "-" is standard input)
  user disable|enable NAME                         disable (kicks their devices everywhere) or enable
  user roles NAME ROLES                            set the roles (comma-separated, "" for none)
  user rm NAME                                     delete a user (kicks their devices everywhere)
  user import FILE                                 copy a password file's users into the store

The admin token is found without flags on the node's machine: --token,
--token-file, IMQTT_ADMIN_TOKEN or IMQTT_ADMIN_TOKEN_FILE first, then the
--config file's admin.token or admin.token_file, then the token the node
generated: <data_dir>/admin.token, data_dir from --data-dir,
IMQTT_NODE_DATA_DIR, the --config file's node.data_dir, or ./data.

flags (before or after the command):
`

// ctlFlags are the options of `imqttd ctl`.
type ctlFlags struct {
	addr, token, tokenFile        string
	config, dataDir               string
	json                          bool
	timeout                       time.Duration
	user, prefix, listener, topic string
	exact                         bool
	limit                         int
	toUser, toGroup, title        string // notify
	toAll                         bool   // notify
	state, role, roles            string // user
	passwordFile                  string // user add, user passwd
}

// ctlDefaultAddr is the admin listener of the default config.
const ctlDefaultAddr = "http://127.0.0.1:18083"

// ctlCmd runs `imqttd ctl`. Flags may come before or after the command. The
// token comes from --token, --token-file, IMQTT_ADMIN_TOKEN(_FILE), the
// --config file, or the file the node generated in its data directory
// (ctlFindToken); the address from --addr, IMQTT_ADMIN_ADDRESS or the
// --config file's admin.address.
func ctlCmd(args []string, stdout, stderr io.Writer, env []string) error {
	var f ctlFlags
	fs := flag.NewFlagSet("ctl", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprint(stderr, ctlUsage)
		fs.PrintDefaults()
	}
	fs.StringVar(&f.addr, "addr", envValue(env, "IMQTT_ADMIN_ADDRESS", ctlDefaultAddr), "admin API base URL or host:port (env IMQTT_ADMIN_ADDRESS)")
	fs.StringVar(&f.token, "token", envValue(env, "IMQTT_ADMIN_TOKEN", ""), "admin bearer token (env IMQTT_ADMIN_TOKEN)")
	fs.StringVar(&f.tokenFile, "token-file", envValue(env, "IMQTT_ADMIN_TOKEN_FILE", ""), "file holding the admin token (env IMQTT_ADMIN_TOKEN_FILE)")
	fs.StringVar(&f.dataDir, "data-dir", "", "the node's data directory, where it wrote admin.token (default env IMQTT_NODE_DATA_DIR, the --config file's node.data_dir, or ./data)")
	fs.StringVar(&f.config, "config", "", "the node's config file: its admin token, data directory and admin address")
	fs.BoolVar(&f.json, "json", false, "print the API's JSON instead of a table")
	fs.DurationVar(&f.timeout, "timeout", 10*time.Second, "timeout of each request")
	fs.StringVar(&f.user, "user", "", "clients, sessions: only this user")
	fs.StringVar(&f.prefix, "prefix", "", "clients, sessions: only client ids with this prefix")
	fs.StringVar(&f.listener, "listener", "", "clients: only this listener (tcp, tls, ws, wss)")
	fs.StringVar(&f.topic, "topic", "", "subs: subscriptions that match this topic name")
	fs.BoolVar(&f.exact, "exact", false, "subs: only filters equal to FILTER")
	fs.StringVar(&f.toUser, "to-user", "", "notify: to this user's devices")
	fs.StringVar(&f.toGroup, "to-group", "", "notify: to every member of this group")
	fs.BoolVar(&f.toAll, "all", false, "notify: to everyone (im/notify/all)")
	fs.StringVar(&f.title, "title", "", "notify: the title")
	fs.StringVar(&f.state, "state", "", "user list: only users in this state (active, disabled)")
	fs.StringVar(&f.role, "role", "", "user list: only users holding this role")
	fs.StringVar(&f.roles, "roles", "", "user add: comma-separated roles")
	fs.StringVar(&f.passwordFile, "password-file", "", "user add, user passwd: file holding the password (- for standard input)")
	fs.IntVar(&f.limit, "limit", 0, "lists: page size of each request (default the server's)")
	var rest []string
	for a := args; ; {
		if err := fs.Parse(a); err != nil {
			return fmt.Errorf("%w: %w", errUsage, err)
		}
		if fs.NArg() == 0 {
			break
		}
		rest = append(rest, fs.Arg(0))
		a = fs.Args()[1:]
	}
	if len(rest) == 0 {
		fs.Usage()
		return fmt.Errorf("%w: no command", errUsage)
	}
	flagSet := map[string]bool{}
	fs.Visit(func(fl *flag.Flag) { flagSet[fl.Name] = true })
	var cfg *broker.Config
	if f.config != "" {
		c, err := loadConfig(f.config, env)
		if err != nil {
			return err
		}
		cfg = &c
		if a := ctlConfigAddr(cfg); a != "" && !flagSet["addr"] && envValue(env, "IMQTT_ADMIN_ADDRESS", "") == "" {
			f.addr = a
		}
	}
	base, err := ctlBaseURL(f.addr)
	if err != nil {
		return fmt.Errorf("%w: --addr: %w", errUsage, err)
	}
	auth, err := ctlFindToken(&f, cfg, env)
	if err != nil {
		return err
	}
	c := &ctlClient{base: base, token: auth.token, tokenFrom: auth.from, timeout: f.timeout}
	cmd, cargs := rest[0], rest[1:]
	run, ok := ctlCommands[cmd]
	if !ok {
		fs.Usage()
		return fmt.Errorf("%w: unknown ctl command %q", errUsage, cmd)
	}
	if n := len(cargs); n < run.minArgs || n > run.maxArgs {
		return fmt.Errorf("%w: %s: want %s", errUsage, cmd, run.args)
	}
	for name := range flagSet {
		if ctlCommonFlags[name] {
			continue
		}
		if !strings.Contains(" "+run.flags+" ", " "+name+" ") {
			return fmt.Errorf("%w: %s does not take --%s", errUsage, cmd, name)
		}
	}
	return run.fn(c, &f, cargs, stdout)
}

// ctlCommonFlags apply to every command.
var ctlCommonFlags = map[string]bool{
	"addr": true, "token": true, "token-file": true, "data-dir": true, "config": true,
	"json": true, "timeout": true, "limit": true,
}

// ctlCommand is one ctl command: argument count and the flags it takes.
type ctlCommand struct {
	minArgs, maxArgs int
	args             string // for the usage error
	flags            string // space-separated command flags
	fn               func(c *ctlClient, f *ctlFlags, args []string, out io.Writer) error
}

var ctlCommands = map[string]ctlCommand{
	"clients":        {0, 0, "no arguments", "user prefix listener", ctlClients},
	"client":         {1, 1, "a client id", "", ctlClientDetail},
	"kick":           {1, 1, "a client id", "", ctlKick},
	"sessions":       {0, 0, "no arguments", "user prefix", ctlSessions},
	"session":        {1, 1, "a client id", "", ctlSessionDetail},
	"rm-session":     {1, 1, "a client id", "", ctlRmSession},
	"subs":           {0, 1, "at most one FILTER", "exact topic", ctlSubs},
	"retained":       {0, 1, "at most one FILTER", "", ctlRetained},
	"rm-retained":    {1, 1, "a topic name", "", ctlRmRetained},
	"reload":         {0, 0, "no arguments", "", ctlReload},
	"cluster":        {0, 0, "no arguments", "", ctlCluster},
	"cluster-join":   {2, 2, "ID ADDR", "", ctlClusterJoin},
	"cluster-remove": {1, 1, "a node id", "", ctlClusterRemove},
	"version":        {0, 0, "no arguments", "", ctlVersion},
	"health":         {0, 0, "no arguments", "", ctlHealth},
	"im-groups":      {0, 0, "no arguments", "", ctlIMGroups},
	"im-group":       {1, 1, "a group id", "", ctlIMGroup},
	"notify":         {1, 1, "the BODY", "to-user to-group all title", ctlNotify},
	"user":           {1, 3, ctlUserUsage, "prefix state role roles password-file", ctlUser},
}

// ctlBaseURL turns --addr (a URL, or host:port meaning http) into the base URL.
func ctlBaseURL(addr string) (string, error) {
	if !strings.Contains(addr, "://") {
		addr = "http://" + addr
	}
	u, err := url.Parse(addr)
	if err != nil {
		return "", err
	}
	if u.Scheme != "http" && u.Scheme != "https" {
		return "", fmt.Errorf("%q: scheme must be http or https", addr)
	}
	if u.Host == "" {
		return "", fmt.Errorf("%q: no host", addr)
	}
	if u.RawQuery != "" || u.Fragment != "" || u.User != nil || u.Opaque != "" || strings.Contains(addr, "#") {
		return "", fmt.Errorf("%q: want scheme://host:port[/path] without user, query or fragment", addr)
	}
	return strings.TrimRight(u.String(), "/"), nil
}

// envValue returns the value of key in env, or def.
func envValue(env []string, key, def string) string {
	for _, kv := range env {
		if v, ok := strings.CutPrefix(kv, key+"="); ok && v != "" {
			return v
		}
	}
	return def
}
