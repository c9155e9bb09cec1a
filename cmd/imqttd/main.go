// Command imqttd is the imqtt node: an MQTT 3.1.1/5.0 broker that is also an IM
// server. Subcommands: serve (default), user, config check, ctl, cluster, version.
package main

import (
	"errors"
	"fmt"
	"io"
	"os"
)

// version is set at build time with -ldflags "-X main.version=...".
var version = "dev"

const usage = `imqttd: MQTT broker and IM server

usage:
  imqttd [serve] [flags]           run a node (default: embedded config, loopback only, data in ./data)
  imqttd user add|passwd FILE USER read the password from stdin (or --password-stdin) and store a bcrypt hash
  imqttd user remove FILE USER     remove a user
  imqttd user list FILE            list users
  imqttd user import FILE [ctl flags]  copy a password file's users into the running cluster's
                                   replicated user store (same as imqttd ctl user import)
  imqttd config check FILE         validate a config file (with IMQTT_* overrides) and exit
  imqttd ctl [flags] COMMAND       admin a running node over its admin API (clients, kick, sessions,
                                   subs, retained, reload, cluster ...); 'imqttd ctl -h' lists them
  imqttd cluster status|join ID ADDR|remove ID
                                   cluster membership through a node's admin API (docs/cluster.md)
  imqttd version                   print the version

run 'imqttd serve -h' for the serve flags.
`

func main() {
	os.Exit(run(os.Args[1:], os.Stdin, os.Stdout, os.Stderr, os.Environ()))
}

// run dispatches a subcommand and returns the process exit status:
// 0 ok, 1 runtime failure, 2 usage or config error.
func run(args []string, stdin io.Reader, stdout, stderr io.Writer, env []string) int {
	cmd := "serve"
	if len(args) > 0 && args[0] != "" && args[0][0] != '-' {
		cmd, args = args[0], args[1:]
	}
	var err error
	switch cmd {
	case "serve":
		err = serve(args, stderr, env)
	case "user":
		if len(args) > 0 && args[0] == "import" {
			// Into the running cluster's user store, through the admin API.
			err = ctlCmd(append([]string{"user"}, args...), stdout, stderr, env)
			break
		}
		err = userCmd(args, stdin, stdout)
	case "config":
		err = configCmd(args, stdout, env)
	case "ctl":
		err = ctlCmd(args, stdout, stderr, env)
	case "cluster":
		err = clusterCmd(args, stdout, stderr, env)
	case "version":
		fmt.Fprintf(stdout, "imqttd %s\n", version)
	case "help", "-h", "--help":
		fmt.Fprint(stdout, usage)
	default:
		fmt.Fprintf(stderr, "imqttd: unknown command %q\n\n%s", cmd, usage)
		return 2
	}
	if err != nil {
		fmt.Fprintf(stderr, "imqttd %s: %v\n", cmd, err)
		if errors.Is(err, errConfig) || errors.Is(err, errUsage) {
			return 2
		}
		return 1
	}
	return 0
}

// errUsage marks command-line misuse (exit status 2).
var errUsage = errors.New("usage")
