package wordfilter

import (
	"fmt"
	"os"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"unicode/utf8"

	ac "github.com/petar-dambovaliev/aho-corasick"
)

// matcher is one loaded word list.
type matcher struct {
	words []string
	ac    *ac.AhoCorasick // nil when words is empty
}

func newMatcher(words []string) *matcher {
	m := &matcher{words: words}
	if len(words) > 0 {
		b := ac.NewAhoCorasickBuilder(ac.Opts{MatchKind: ac.StandardMatch})
		a := b.Build(words)
		m.ac = &a
	}
	return m
}

// Filter is a loaded word list (see the package doc).
type Filter struct {
	cfg    Config
	cur    atomic.Pointer[matcher]
	reload sync.Mutex // serialises Reload
}

// New loads cfg.File.
func New(cfg Config) (*Filter, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	f := &Filter{cfg: cfg}
	words, err := f.load()
	if err != nil {
		return nil, err
	}
	f.cur.Store(newMatcher(words))
	return f, nil
}

func (f *Filter) load() ([]string, error) {
	data, err := os.ReadFile(f.cfg.File)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrWordList, err)
	}
	words, err := parseList(data)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", f.cfg.File, err)
	}
	return words, nil
}

// Reload re-reads the word list. On an error the old list stays in force.
func (f *Filter) Reload() (changed bool, words int, err error) {
	f.reload.Lock()
	defer f.reload.Unlock()
	ws, err := f.load()
	if err != nil {
		return false, f.Words(), err
	}
	old := f.cur.Load()
	if slices.Equal(old.words, ws) {
		return false, len(ws), nil
	}
	f.cur.Store(newMatcher(ws))
	return true, len(ws), nil
}

// Words returns the number of entries in force.
func (f *Filter) Words() int { return len(f.cur.Load().words) }

// Filter checks text: mask mode returns it with every matched rune replaced by
// '*' (reject false); reject mode returns it unchanged with reject true when a
// listed word occurs. Text without a match is returned as is.
func (f *Filter) Filter(text string) (out string, reject bool) {
	m := f.cur.Load()
	if m.ac == nil || text == "" {
		return text, false
	}
	hay := text
	if needsFold(text) {
		hay = fold(text)
	}
	it := m.ac.IterOverlapping(hay)
	first := it.Next()
	if first == nil {
		return text, false
	}
	if f.cfg.Mode == ModeReject {
		return text, true
	}
	// Mark the matched rune positions of hay (same rune count as text).
	masked := make([]bool, utf8.RuneCountInString(hay))
	mark := func(start, end int) {
		ri := utf8.RuneCountInString(hay[:start])
		for i := start; i < end; {
			_, n := utf8.DecodeRuneInString(hay[i:])
			if ri < len(masked) {
				masked[ri] = true
			}
			ri++
			i += n
		}
	}
	for mt := first; mt != nil; mt = it.Next() {
		mark(mt.Start(), mt.End())
	}
	var b strings.Builder
	b.Grow(len(text))
	i := 0
	for _, r := range text {
		if masked[i] {
			b.WriteByte('*')
		} else {
			b.WriteRune(r)
		}
		i++
	}
	return b.String(), false
}
