package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"syscall"
	"time"

	"github.com/imqtt/imqtt/broker/adminapi"
)

// ctlMaxBody caps an API answer read by ctl.
const ctlMaxBody = 64 << 20

// ctlClient calls the admin API.
type ctlClient struct {
	base      string // http://host:port
	token     string
	tokenFrom string // where the token came from, or the file looked for
	timeout   time.Duration
	http      http.Client
}

// apiError is an error answer of the API.
type apiError struct {
	status    int
	code      string
	msg       string
	body      []byte // the whole body (for --json)
	tokenFrom string // where ctl's token came from (for a 401)
}

func (e *apiError) Error() string {
	switch e.status {
	case http.StatusUnauthorized:
		return fmt.Sprintf("401 unauthorized: missing or wrong admin token (token: %s); run on the node's machine "+
			"with --data-dir or --config, or set --token, --token-file or IMQTT_ADMIN_TOKEN", e.tokenFrom)
	}
	if e.msg == "" {
		return fmt.Sprintf("%d %s", e.status, http.StatusText(e.status))
	}
	return fmt.Sprintf("%d %s: %s", e.status, e.code, e.msg)
}

// do sends one request and returns the body of a 2xx answer. Other answers
// are *apiError; a transport failure says which address could not be reached.
func (c *ctlClient) do(method, path string, q url.Values) ([]byte, error) {
	return c.doBody(method, path, q, nil)
}

// doBody is do with a JSON request body (nil: none).
func (c *ctlClient) doBody(method, path string, q url.Values, payload []byte) ([]byte, error) {
	u := c.base + path
	if len(q) > 0 {
		u += "?" + q.Encode()
	}
	ctx, cancel := context.WithTimeout(context.Background(), c.timeout)
	defer cancel()
	var rd io.Reader
	if payload != nil {
		rd = bytes.NewReader(payload)
	}
	req, err := http.NewRequestWithContext(ctx, method, u, rd)
	if err != nil {
		return nil, err
	}
	// Every request with a body, and every POST (the admin listener refuses
	// a state-changing request without a JSON body type).
	if payload != nil || method == http.MethodPost {
		req.Header.Set("Content-Type", "application/json")
	}
	if c.token != "" {
		req.Header.Set("Authorization", "Bearer "+c.token)
	}
	req.Header.Set("Accept", "application/json")
	resp, err := c.http.Do(req)
	if err != nil {
		switch {
		case errors.Is(err, syscall.ECONNREFUSED):
			return nil, fmt.Errorf("cannot reach the admin API at %s: connection refused (is imqttd running with the admin listener on? see --addr)", c.base)
		case errors.Is(err, context.DeadlineExceeded):
			return nil, fmt.Errorf("admin API at %s did not answer within %s", c.base, c.timeout)
		}
		return nil, fmt.Errorf("admin API at %s: %w", c.base, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, ctlMaxBody))
	if err != nil {
		return nil, fmt.Errorf("read answer of %s %s: %w", method, path, err)
	}
	if resp.StatusCode/100 != 2 {
		e := &apiError{status: resp.StatusCode, body: body, tokenFrom: c.tokenFrom}
		var eb adminapi.ErrorBody
		if json.Unmarshal(body, &eb) == nil {
			e.code, e.msg = eb.Error.Code, eb.Error.Message
		}
		return nil, e
	}
	return body, nil
}

// getJSON GETs path and decodes the answer into out.
func (c *ctlClient) getJSON(path string, q url.Values, out any) ([]byte, error) {
	body, err := c.do(http.MethodGet, path, q)
	if err != nil {
		return nil, err
	}
	if err := json.Unmarshal(body, out); err != nil {
		return body, fmt.Errorf("decode answer of %s: %w", path, err)
	}
	return body, nil
}

// getAll follows the pages of a list endpoint and returns every item.
func getAll[T any](c *ctlClient, path string, q url.Values, limit int) ([]T, error) {
	if q == nil {
		q = url.Values{}
	}
	if limit > 0 {
		q.Set("limit", strconv.Itoa(limit))
	}
	var all []T
	seen := map[string]bool{}
	for {
		var p adminapi.Page[T]
		if _, err := c.getJSON(path, q, &p); err != nil {
			return nil, err
		}
		all = append(all, p.Items...)
		if p.NextCursor == "" {
			return all, nil
		}
		if seen[p.NextCursor] {
			return nil, fmt.Errorf("%s: the server repeated cursor %q", path, p.NextCursor)
		}
		seen[p.NextCursor] = true
		q.Set("cursor", p.NextCursor)
	}
}
