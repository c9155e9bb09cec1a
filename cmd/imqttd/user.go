package main

import (
	"bufio"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/imqtt/imqtt/hooks/auth"
)

// userCmd manages a password file like mosquitto_passwd:
//
//	imqttd user add FILE USER       (password read from stdin; the file is created if missing)
//	imqttd user passwd FILE USER    (same as add for an existing user)
//	imqttd user remove FILE USER
//	imqttd user list FILE
func userCmd(args []string, stdin io.Reader, stdout io.Writer) error {
	fs := flag.NewFlagSet("user", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	cost := fs.Int("cost", 0, "bcrypt cost (default: the auth package default)")
	if len(args) == 0 {
		return fmt.Errorf("%w: imqttd user add|passwd|remove|list FILE [USER]", errUsage)
	}
	sub := args[0]
	if err := fs.Parse(args[1:]); err != nil {
		return fmt.Errorf("%w: %w", errUsage, err)
	}
	rest := fs.Args()
	switch sub {
	case "list":
		if len(rest) != 1 {
			return fmt.Errorf("%w: imqttd user list FILE", errUsage)
		}
		pf, err := auth.LoadPasswordFile(rest[0])
		if err != nil {
			return err
		}
		for _, u := range pf.Users() {
			fmt.Fprintln(stdout, u)
		}
		return nil
	case "add", "passwd", "remove":
		if len(rest) != 2 {
			return fmt.Errorf("%w: imqttd user %s FILE USER", errUsage, sub)
		}
	default:
		return fmt.Errorf("%w: unknown user subcommand %q", errUsage, sub)
	}
	file, user := rest[0], rest[1]
	var pf *auth.PasswordFile
	var err error
	if sub == "add" {
		pf, err = auth.OpenOrCreatePasswordFile(file)
	} else {
		pf, err = auth.LoadPasswordFile(file)
	}
	if err != nil {
		return err
	}
	if *cost > 0 {
		pf.SetCost(*cost)
	}
	switch sub {
	case "remove":
		if err := pf.Remove(user); err != nil {
			return err
		}
	default:
		if sub == "passwd" && !contains(pf.Users(), user) {
			return fmt.Errorf("user %q: %w", user, auth.ErrUnknownUser)
		}
		pw, err := readPassword(stdin)
		if err != nil {
			return err
		}
		if err := pf.Set(user, pw); err != nil {
			return err
		}
	}
	if err := pf.Save(); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "%s: %s %s\n", file, map[string]string{"add": "added", "passwd": "updated", "remove": "removed"}[sub], user)
	return nil
}

// readPassword reads one line from stdin (a terminal is not put in no-echo mode:
// pipe the password in, e.g. `printf '%s\n' "$PW" | imqttd user add FILE USER`).
func readPassword(r io.Reader) (string, error) {
	if f, ok := r.(*os.File); ok {
		if st, err := f.Stat(); err == nil && st.Mode()&os.ModeCharDevice != 0 {
			fmt.Fprint(os.Stderr, "password: ")
		}
	}
	line, err := bufio.NewReader(r).ReadString('\n')
	if err != nil && !errors.Is(err, io.EOF) {
		return "", fmt.Errorf("read password: %w", err)
	}
	pw := strings.TrimRight(line, "\r\n")
	if pw == "" {
		return "", fmt.Errorf("%w: empty password (pipe it on stdin)", errUsage)
	}
	return pw, nil
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}
