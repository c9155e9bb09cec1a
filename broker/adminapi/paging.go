package adminapi

import (
	"encoding/base64"
	"fmt"
	"net/url"
	"strconv"
)

// Paging limits of every list endpoint.
const (
	// DefaultLimit is the page size when ?limit= is absent.
	DefaultLimit = 100
	// MaxLimit is the largest ?limit= accepted.
	MaxLimit = 1000
)

// Page is the JSON of every list endpoint: the items in key order and, when
// more follow, the cursor to pass as ?cursor= for the next page.
type Page[T any] struct {
	Items      []T    `json:"items"`
	NextCursor string `json:"next_cursor,omitempty"`
}

// page is a parsed ?limit=&cursor=: items with a key after After, at most
// Limit of them.
type page struct {
	Limit int
	After string // "" = from the start
}

// parsePage reads ?limit= (1..MaxLimit, default DefaultLimit) and ?cursor= (an
// opaque value from a previous NextCursor). Errors wrap ErrInvalidPaging.
func parsePage(q url.Values) (page, error) {
	p := page{Limit: DefaultLimit}
	if s := q.Get("limit"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 || n > MaxLimit {
			return page{}, fmt.Errorf("%w: limit %q: want an integer in 1..%d", ErrInvalidPaging, s, MaxLimit)
		}
		p.Limit = n
	}
	if s := q.Get("cursor"); s != "" {
		after, err := decodeCursor(s)
		if err != nil {
			return page{}, err
		}
		p.After = after
	}
	return p, nil
}

// encodeCursor makes the opaque cursor for the last key of a page.
func encodeCursor(key string) string {
	return base64.RawURLEncoding.EncodeToString([]byte(key))
}

// decodeCursor is the inverse of encodeCursor. Errors wrap ErrInvalidPaging.
func decodeCursor(s string) (string, error) {
	b, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil || len(b) == 0 {
		return "", fmt.Errorf("%w: cursor %q: not a cursor from a previous page", ErrInvalidPaging, s)
	}
	return string(b), nil
}

// pager collects the items of one page from a stream in ascending key order.
type pager[T any] struct {
	p     page
	items []T
	next  string
	full  bool
}

func newPager[T any](p page) *pager[T] {
	return &pager[T]{p: p, items: make([]T, 0, min(p.Limit, 64))}
}

// skip reports whether key comes at or before the cursor.
func (g *pager[T]) skip(key string) bool { return g.p.After != "" && key <= g.p.After }

// add appends item (whose key is key) and reports whether the page wants more.
// The item after a full page is not added: its existence sets NextCursor.
func (g *pager[T]) add(key string, item T) bool {
	if len(g.items) == g.p.Limit {
		g.full = true
		return false
	}
	g.items = append(g.items, item)
	g.next = key
	return true
}

// result returns the page; NextCursor is set only if an item followed it.
func (g *pager[T]) result() Page[T] {
	out := Page[T]{Items: g.items}
	if g.full {
		out.NextCursor = encodeCursor(g.next)
	}
	return out
}
