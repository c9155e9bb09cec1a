package acl

import (
	"fmt"
	"os"
	"strings"
	"unicode/utf8"
)

// builder accumulates parsed rule lines into a Rules table.
type builder struct {
	r *Rules
}

func newBuilder() *builder {
	return &builder{r: &Rules{users: map[string]*ruleSet{}}}
}

// Compile reads cfg.File (if set), parses it and then cfg.Rules, and returns the
// compiled table with the built-in policies (then the extra ones, in order). It
// does not validate cfg.SysRead or cfg.SubscribeDeny: call cfg.Validate first
// (an unknown SubscribeDeny means overlap). Errors match ErrParse
// (a *ParseError with the file and line) or ErrReadFile.
func Compile(cfg Config, extra ...Policy) (*Rules, error) {
	b := newBuilder()
	if cfg.File != "" {
		data, err := os.ReadFile(cfg.File)
		if err != nil {
			return nil, fmt.Errorf("%w: %w", ErrReadFile, err)
		}
		if err := b.parseText(cfg.File, string(data)); err != nil {
			return nil, err
		}
	}
	if err := b.parseInline(cfg.Rules); err != nil {
		return nil, err
	}
	b.r.sysRead = cfg.SysRead
	b.r.denyCover = cfg.SubscribeDeny == SubscribeDenyCover
	b.r.policies = builtinPolicies(cfg.SysRead, extra)
	return b.r, nil
}

// parseText parses a whole rules file; source names it in errors.
func (b *builder) parseText(source, text string) error {
	text = strings.TrimPrefix(text, "\uFEFF")
	sec := &b.r.anon
	for n := 1; text != ""; n++ {
		line, rest, _ := strings.Cut(text, "\n")
		text = rest
		var err error
		if sec, err = b.parseLine(sec, line); err != nil {
			return &ParseError{Source: source, Line: n, Msg: err.Error()}
		}
	}
	return nil
}

// parseInline parses Config.Rules: one line per element, the `user` context
// carrying over from element to element, starting in the anonymous section.
func (b *builder) parseInline(lines []string) error {
	sec := &b.r.anon
	for i, line := range lines {
		src := fmt.Sprintf("rules[%d]", i)
		if strings.ContainsAny(line, "\r\n") {
			return &ParseError{Source: src, Msg: "an inline rule is one line"}
		}
		var err error
		if sec, err = b.parseLine(sec, line); err != nil {
			return &ParseError{Source: src, Msg: err.Error()}
		}
	}
	return nil
}

// parseLine parses one line in section sec (where `topic` lines go) and returns
// the section for the next line.
func (b *builder) parseLine(sec *ruleSet, line string) (*ruleSet, error) {
	if !utf8.ValidString(line) {
		return sec, fmt.Errorf("line is not valid UTF-8")
	}
	if strings.IndexByte(line, 0) >= 0 {
		return sec, fmt.Errorf("line contains NUL")
	}
	line = strings.TrimSpace(line)
	if line == "" || line[0] == '#' {
		return sec, nil
	}
	keyword, rest := cutField(line)
	switch keyword {
	case "user":
		if rest == "" {
			return sec, fmt.Errorf("user: missing username")
		}
		us := b.r.users[rest]
		if us == nil {
			us = &ruleSet{}
			b.r.users[rest] = us
		}
		return us, nil
	case "topic", "pattern":
		r, err := parseRule(keyword, rest)
		if err != nil {
			return sec, err
		}
		if keyword == "pattern" {
			b.r.patterns.add(r)
		} else {
			sec.add(r)
		}
		b.r.n++
		return sec, nil
	}
	return sec, fmt.Errorf("unknown keyword %q (want topic, user or pattern)", keyword)
}

// parseRule parses what follows `topic` or `pattern`: an optional access word
// (readwrite when absent, as in mosquitto) and the topic, the rest of the line.
func parseRule(keyword, rest string) (*rule, error) {
	if rest == "" {
		return nil, fmt.Errorf("%s: missing topic", keyword)
	}
	word, topic := cutField(rest)
	grant, known := accessWord(word)
	switch {
	case known && topic == "":
		return nil, fmt.Errorf("%s %s: missing topic", keyword, word)
	case !known && topic != "":
		return nil, fmt.Errorf("%s: unknown access %q (want read, write, readwrite, subscribe or deny)", keyword, word)
	case !known:
		grant, topic = accessAll, word
	}
	p, err := compilePattern(topic, keyword == "pattern")
	if err != nil {
		return nil, fmt.Errorf("%s: %w", keyword, err)
	}
	r := &rule{
		pat:   p,
		grant: grant,
		deny:  word == "deny",
		needU: p.uses('u'),
		needC: p.uses('c'),
		leadU: p.leads('u'),
		leadC: p.leads('c'),
	}
	if r.deny {
		r.grant = 0
		if r.needU || r.needC {
			r.poison = p.poisoned()
		}
	}
	return r, nil
}

// cutField splits s at its first run of spaces or tabs; rest is trimmed.
func cutField(s string) (field, rest string) {
	i := strings.IndexAny(s, " \t")
	if i < 0 {
		return s, ""
	}
	return s[:i], strings.TrimSpace(s[i:])
}
