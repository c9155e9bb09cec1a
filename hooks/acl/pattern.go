package acl

import (
	"fmt"
	"strings"
	"unicode/utf8"

	"github.com/imqtt/imqtt/internal/mqtttopic"
)

// levelKind says how one level of a compiled rule pattern matches.
type levelKind uint8

const (
	kindLiteral  levelKind = iota // equal text
	kindPlus                      // '+': any one level
	kindHash                      // '#': the rest, including the parent level
	kindTemplate                  // literal text with %u / %c placeholders
	kindAny                       // poisoned deny: the rest of anything, '$' included
)

// part is one piece of a template level: literal text, or a placeholder
// ('u' for the username, 'c' for the client id).
type part struct {
	lit string
	ph  byte
}

// level is one compiled level of a rule pattern.
type level struct {
	kind   levelKind
	lit    string // kindLiteral
	parts  []part // kindTemplate
	dollar bool   // literal (or template starting with literal text) beginning with '$'
}

// pattern is a compiled rule topic: its levels, split once at load time.
type pattern struct {
	text   string
	levels []level
}

// subject is who a check is for. Whether a value can be substituted is worked
// out on first use: most checks never meet a placeholder rule.
type subject struct {
	user, client string
	vetted       uint8 // vetU, vetC: usable flags computed
	usable       uint8 // vetU, vetC: value usable
}

const (
	vetU uint8 = 1 << iota
	vetC
)

func newSubject(user, client string) subject {
	return subject{user: user, client: client}
}

// ok reports whether the value of placeholder ph is usable (see usableValue).
func (s *subject) ok(ph byte) bool {
	bit, v := vetU, s.user
	if ph == 'c' {
		bit, v = vetC, s.client
	}
	if s.vetted&bit == 0 {
		s.vetted |= bit
		if usableValue(v) {
			s.usable |= bit
		}
	}
	return s.usable&bit != 0
}

// usableValue reports whether a username or client id may be substituted for a
// placeholder: non-empty, and without '+', '#', '/' or NUL. A wildcard would
// widen the grant; a '/' would make the value span levels, so that user "a"'s
// "users/a/#" would contain user "a/b"'s "users/a/b/#" (see doc.go).
func usableValue(v string) bool {
	if v == "" {
		return false
	}
	for i := 0; i < len(v); i++ {
		switch v[i] {
		case '+', '#', '/', 0:
			return false
		}
	}
	return true
}

// value returns the substitution of a placeholder.
func (s *subject) value(ph byte) string {
	if ph == 'u' {
		return s.user
	}
	return s.client
}

// compilePattern splits and checks a rule topic. With placeholders, %u and %c
// inside a level make it a template. The error text quotes the problem.
func compilePattern(text string, placeholders bool) (pattern, error) {
	if text == "" {
		return pattern{}, fmt.Errorf("empty topic")
	}
	if !utf8.ValidString(text) {
		return pattern{}, fmt.Errorf("topic %q is not valid UTF-8", text)
	}
	if strings.IndexByte(text, 0) >= 0 {
		return pattern{}, fmt.Errorf("topic %q contains NUL", text)
	}
	if firstLevel(text) == mqtttopic.ShareLevel {
		return pattern{}, fmt.Errorf("topic %q: a rule cannot start with $share; "+
			"write the filter inside the shared subscription (rules for F cover $share/{group}/F)", text)
	}
	p := pattern{text: text, levels: make([]level, 0, strings.Count(text, "/")+1)}
	for pos := 0; pos >= 0; {
		var l string
		l, pos = nextLevel(text, pos)
		switch {
		case l == "+":
			p.levels = append(p.levels, level{kind: kindPlus})
		case l == "#":
			if pos >= 0 {
				return pattern{}, fmt.Errorf("topic %q: '#' must be the last level", text)
			}
			p.levels = append(p.levels, level{kind: kindHash})
		case strings.ContainsAny(l, "+#"):
			return pattern{}, fmt.Errorf("topic %q: wildcard in level %q must be the whole level", text, l)
		case placeholders && (strings.Contains(l, "%u") || strings.Contains(l, "%c")):
			lv := level{kind: kindTemplate, parts: splitTemplate(l)}
			lv.dollar = lv.parts[0].ph == 0 && startsWithDollar(lv.parts[0].lit)
			p.levels = append(p.levels, lv)
		default:
			p.levels = append(p.levels, level{kind: kindLiteral, lit: l, dollar: startsWithDollar(l)})
		}
	}
	return p, nil
}

// splitTemplate cuts a level into literal text and %u / %c placeholders. A '%'
// followed by anything else is literal.
func splitTemplate(l string) []part {
	var parts []part
	start := 0
	for i := 0; i+1 < len(l); i++ {
		if l[i] != '%' || (l[i+1] != 'u' && l[i+1] != 'c') {
			continue
		}
		if i > start {
			parts = append(parts, part{lit: l[start:i]})
		}
		parts = append(parts, part{ph: l[i+1]})
		start = i + 2
		i++
	}
	if start < len(l) {
		parts = append(parts, part{lit: l[start:]})
	}
	return parts
}

// uses reports whether the pattern has a template level using placeholder ph.
func (p *pattern) uses(ph byte) bool {
	for i := range p.levels {
		for _, pt := range p.levels[i].parts {
			if pt.ph == ph {
				return true
			}
		}
	}
	return false
}

// leads reports whether the first level starts with placeholder ph.
func (p *pattern) leads(ph byte) bool {
	l := &p.levels[0]
	return l.kind == kindTemplate && l.parts[0].ph == ph
}

// poisoned returns the over-approximation a deny rule falls back to when a
// placeholder value cannot be substituted: the levels before the first template
// level, then anything (kindAny). It denies at least everything the rule could
// have denied with any value.
func (p *pattern) poisoned() pattern {
	q := pattern{text: p.text}
	for _, l := range p.levels {
		if l.kind == kindTemplate {
			break
		}
		q.levels = append(q.levels, l)
	}
	q.levels = append(q.levels, level{kind: kindAny})
	return q
}

// templateEqual reports whether topic level seg equals the template with s's
// values substituted, without building the substituted string.
func templateEqual(lv *level, seg string, s *subject) bool {
	for _, p := range lv.parts {
		v := p.lit
		if p.ph != 0 {
			v = s.value(p.ph)
		}
		if !strings.HasPrefix(seg, v) {
			return false
		}
		seg = seg[len(v):]
	}
	return seg == ""
}

// levelDollar reports whether the substituted level starts with '$'.
func levelDollar(lv *level, s *subject) bool {
	switch lv.kind {
	case kindLiteral:
		return lv.dollar
	case kindTemplate:
		if lv.parts[0].ph != 0 {
			return startsWithDollar(s.value(lv.parts[0].ph))
		}
		return lv.dollar
	}
	return false
}

// levelMatches reports whether a single-level pattern level matches the literal
// topic (or filter) level seg at depth i.
func levelMatches(lv *level, seg string, i int, s *subject) bool {
	switch lv.kind {
	case kindPlus:
		return i > 0 || !startsWithDollar(seg) // [MQTT-4.7.2-1]
	case kindLiteral:
		return seg == lv.lit
	case kindTemplate:
		return templateEqual(lv, seg, s)
	}
	return false
}

// matchTopic reports whether the pattern matches topic name t under MQTT rules
// (4.7.1): '+' one level, '#' the rest including the parent level, and neither
// matching a first level that starts with '$' (4.7.2).
func (p *pattern) matchTopic(t string, s *subject) bool {
	pos := 0
	for i := range p.levels {
		lv := &p.levels[i]
		switch lv.kind {
		case kindAny:
			return true
		case kindHash:
			return i > 0 || !startsWithDollar(t)
		}
		if pos < 0 {
			return false
		}
		var seg string
		seg, pos = nextLevel(t, pos)
		if !levelMatches(lv, seg, i, s) {
			return false
		}
	}
	return pos < 0
}

// covers reports whether every topic that valid filter f can match is matched
// by the pattern: literal levels equal, '+' in f needs '+' (or '#') in the
// pattern, '#' in f needs '#' in the pattern.
func (p *pattern) covers(f string, s *subject) bool {
	pos := 0
	for i := range p.levels {
		lv := &p.levels[i]
		switch lv.kind {
		case kindAny:
			return true
		case kindHash:
			if i == 0 {
				// A leading '#' matches no '$' topic; f must not reach one.
				l := firstLevel(f)
				return l == "+" || l == "#" || !startsWithDollar(l)
			}
			return true
		}
		if pos < 0 {
			return false // f ended; the pattern needs more levels
		}
		var seg string
		seg, pos = nextLevel(f, pos)
		switch seg {
		case "#":
			// Only '#' covers '#' (handled above), and "+/#", which misses only
			// the parent level of f's '#': fine when that parent is not a valid
			// topic name, as for "#" (no parent) and "/#" (parent "", empty).
			return lv.kind == kindPlus && i+1 < len(p.levels) && p.levels[i+1].kind == kindHash &&
				(i == 0 || i == 1 && f[0] == '/')
		case "+":
			if lv.kind != kindPlus {
				return false
			}
		default:
			if !levelMatches(lv, seg, i, s) {
				return false
			}
		}
	}
	return pos < 0 // the pattern ended: f must have ended too
}

// overlaps reports whether some topic name is matched both by the pattern and by
// valid filter f. The empty string (not a valid topic name) counts as a topic
// here, so "+" and "/#" overlap: a harmless over-approximation, since overlaps
// only ever widens a denial.
func (p *pattern) overlaps(f string, s *subject) bool {
	pos := 0
	for i := range p.levels {
		lv := &p.levels[i]
		if lv.kind == kindAny {
			return true
		}
		if pos < 0 {
			return lv.kind == kindHash // f ended; '#' also matches the parent level
		}
		var seg string
		seg, pos = nextLevel(f, pos)
		if seg == "#" {
			// f's '#' matches any rest, but at the first level no '$' topic.
			return i > 0 || !levelDollar(lv, s)
		}
		if lv.kind == kindHash {
			return i > 0 || seg == "+" || !startsWithDollar(seg)
		}
		if seg == "+" {
			if i == 0 && levelDollar(lv, s) {
				return false
			}
			continue
		}
		if !levelMatches(lv, seg, i, s) {
			return false
		}
	}
	if pos < 0 {
		return true
	}
	return f[pos:] == "#" // the pattern ended; f's trailing '#' matches the parent level
}
