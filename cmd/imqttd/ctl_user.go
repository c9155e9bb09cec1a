package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"strings"
	"time"

	"github.com/imqtt/imqtt/accounts"
	"github.com/imqtt/imqtt/broker/adminapi"
	"github.com/imqtt/imqtt/hooks/auth"
)

// ctlUserUsage lists the `imqttd ctl user` subcommands.
const ctlUserUsage = "user list|show NAME|add NAME|passwd NAME|disable NAME|enable NAME|roles NAME ROLES|rm NAME|import FILE"

// ctlUser runs `imqttd ctl user SUB ...` against /api/v1/users (the
// replicated user store, docs/admin-api.md "Users"). Passwords come from
// --password-file FILE ("-": standard input), never from the command line.
func ctlUser(c *ctlClient, f *ctlFlags, args []string, out io.Writer) error {
	sub, rest := args[0], args[1:]
	want := map[string]int{"list": 0, "show": 1, "add": 1, "passwd": 1, "disable": 1, "enable": 1, "roles": 2, "rm": 1, "import": 1}
	n, ok := want[sub]
	if !ok || len(rest) != n {
		return fmt.Errorf("%w: imqttd ctl %s", errUsage, ctlUserUsage)
	}
	userPath := func(name string) string { return "/api/v1/users/" + url.PathEscape(name) }
	switch sub {
	case "list":
		q := url.Values{}
		for k, v := range map[string]string{"prefix": f.prefix, "state": f.state, "role": f.role} {
			if v != "" {
				q.Set(k, v)
			}
		}
		items, err := getAll[accounts.User](c, "/api/v1/users", q, f.limit)
		if err != nil {
			return err
		}
		if f.json {
			return printJSON(out, adminapi.Page[accounts.User]{Items: orEmpty(items)})
		}
		return table(out, userRows(items))
	case "show":
		var u accounts.User
		body, err := c.getJSON(userPath(rest[0]), nil, &u)
		if err != nil {
			return err
		}
		if f.json {
			_, err := out.Write(append(body, '\n'))
			return err
		}
		return table(out, userRows([]accounts.User{u}))
	case "add":
		req := adminapi.CreateUserRequest{Name: rest[0], Roles: splitRoles(f.roles)}
		if f.passwordFile != "" {
			pw, err := ctlReadPassword(f.passwordFile)
			if err != nil {
				return err
			}
			req.Password = pw
		}
		return ctlUserWrite(c, f, http.MethodPost, "/api/v1/users", req, out, "added")
	case "passwd":
		if f.passwordFile == "" {
			return fmt.Errorf("%w: user passwd needs --password-file FILE (- for stdin)", errUsage)
		}
		pw, err := ctlReadPassword(f.passwordFile)
		if err != nil {
			return err
		}
		return ctlUserWrite(c, f, http.MethodPatch, userPath(rest[0]), adminapi.UpdateUserRequest{Password: &pw}, out, "password set")
	case "disable", "enable":
		st := accounts.StateDisabled
		if sub == "enable" {
			st = accounts.StateActive
		}
		return ctlUserWrite(c, f, http.MethodPatch, userPath(rest[0]), adminapi.UpdateUserRequest{State: &st}, out, string(st))
	case "roles":
		roles := splitRoles(rest[1])
		if roles == nil {
			roles = []string{}
		}
		return ctlUserWrite(c, f, http.MethodPatch, userPath(rest[0]), adminapi.UpdateUserRequest{Roles: &roles}, out, "roles set")
	case "rm":
		return ctlDelete(c, f, userPath(rest[0]), nil, "user", out)
	}
	return ctlUserImport(c, rest[0], out)
}

// ctlUserWrite sends req and prints the user the API answers.
func ctlUserWrite(c *ctlClient, f *ctlFlags, method, path string, req any, out io.Writer, done string) error {
	payload, err := json.Marshal(req)
	if err != nil {
		return err
	}
	body, err := c.doBody(method, path, nil, payload)
	if err != nil {
		return err
	}
	if f.json {
		_, err := out.Write(append(body, '\n'))
		return err
	}
	var u accounts.User
	if err := json.Unmarshal(body, &u); err != nil {
		return fmt.Errorf("decode answer: %w", err)
	}
	fmt.Fprintf(out, "%s: %s\n", u.Name, done)
	return nil
}

// ctlUserImport copies every user of a password file (with its bcrypt
// hash) into the user store; users the store already has are left alone and
// reported.
func ctlUserImport(c *ctlClient, file string, out io.Writer) error {
	pf, err := auth.LoadPasswordFile(file)
	if err != nil {
		return err
	}
	added, skipped := 0, 0
	for _, name := range pf.Users() {
		hash, _ := pf.Hash(name)
		payload, err := json.Marshal(adminapi.CreateUserRequest{Name: name, PasswordHash: string(hash)})
		if err != nil {
			return err
		}
		_, err = c.doBody(http.MethodPost, "/api/v1/users", nil, payload)
		var ae *apiError
		switch {
		case err == nil:
			added++
		case errors.As(err, &ae) && ae.status == http.StatusConflict:
			skipped++
			fmt.Fprintf(out, "%s: already in the user store, left as it is\n", name)
		default:
			return fmt.Errorf("import %q: %w", name, err)
		}
	}
	fmt.Fprintf(out, "%s: %d users imported, %d already present\n", file, added, skipped)
	return nil
}

// ctlReadPassword reads one line from file ("-": standard input).
func ctlReadPassword(file string) (string, error) {
	if file == "-" {
		return readPassword(os.Stdin)
	}
	fh, err := os.Open(file)
	if err != nil {
		return "", fmt.Errorf("password file: %w", err)
	}
	defer fh.Close()
	return readPassword(fh)
}

// splitRoles splits a comma-separated role list ("" is none).
func splitRoles(s string) []string {
	if strings.TrimSpace(s) == "" {
		return nil
	}
	var out []string
	for _, r := range strings.Split(s, ",") {
		out = append(out, strings.TrimSpace(r))
	}
	return out
}

func userRows(users []accounts.User) [][]string {
	rows := [][]string{{"NAME", "STATE", "ROLES", "PASSWORD", "CREATED", "UPDATED"}}
	for _, u := range users {
		created, updated := u.CreatedAt.Local(), u.UpdatedAt.Local()
		rows = append(rows, []string{u.Name, string(u.State), dash(strings.Join(u.Roles, ",")), yesNo(u.HasPassword),
			created.Format(time.DateTime), updated.Format(time.DateTime)})
	}
	return rows
}
