package acl

// rule is one compiled `topic` or `pattern` line.
type rule struct {
	pat    pattern
	poison pattern // deny rules with placeholders: see pattern.poisoned
	grant  Access  // allow rules: the access bits granted
	deny   bool
	needU  bool // uses %u
	needC  bool // uses %c
	leadU  bool // the first level starts with %u
	leadC  bool // the first level starts with %c
}

// ruleState is how a rule applies to one subject.
type ruleState uint8

const (
	ruleApplies  ruleState = iota
	ruleSkipped            // a placeholder has no usable value: the allow rule grants nothing
	rulePoisoned           // same, for a deny rule: it denies its poisoned pattern
)

// state decides whether the rule applies to s. An empty value makes a rule that
// uses it not apply at all (anonymous clients never match %u). A value that
// cannot be substituted ('+', '#', '/', NUL, or a leading '$' where the value
// starts the topic) skips an allow rule and poisons a deny rule: fail closed.
func (r *rule) state(s *subject) ruleState {
	if r.needU && s.user == "" || r.needC && s.client == "" {
		return ruleSkipped
	}
	bad := r.needU && (!s.ok('u') || r.leadU && startsWithDollar(s.user)) ||
		r.needC && (!s.ok('c') || r.leadC && startsWithDollar(s.client))
	switch {
	case !bad:
		return ruleApplies
	case r.deny:
		return rulePoisoned
	}
	return ruleSkipped
}

// matchTopic reports whether the rule, as it applies to s, matches topic name t.
func (r *rule) matchTopic(t string, s *subject) bool {
	switch r.state(s) {
	case ruleApplies:
		return r.pat.matchTopic(t, s)
	case rulePoisoned:
		return r.poison.matchTopic(t, s)
	}
	return false
}

// covers reports whether the rule, as it applies to s, covers filter f.
func (r *rule) covers(f string, s *subject) bool {
	switch r.state(s) {
	case ruleApplies:
		return r.pat.covers(f, s)
	case rulePoisoned:
		return r.poison.covers(f, s)
	}
	return false
}

// overlaps reports whether the rule, as it applies to s, overlaps filter f.
func (r *rule) overlaps(f string, s *subject) bool {
	switch r.state(s) {
	case ruleApplies:
		return r.pat.overlaps(f, s)
	case rulePoisoned:
		return r.poison.overlaps(f, s)
	}
	return false
}

// index finds the rules that can concern a topic without scanning them all:
// rules whose first level is literal are keyed by it; the others (a wildcard or
// a template first level) are always candidates.
type index struct {
	first map[string][]*rule
	other []*rule
	all   []*rule
}

func (x *index) add(r *rule) {
	x.all = append(x.all, r)
	l := &r.pat.levels[0]
	if l.kind != kindLiteral {
		x.other = append(x.other, r)
		return
	}
	if x.first == nil {
		x.first = map[string][]*rule{}
	}
	x.first[l.lit] = append(x.first[l.lit], r)
}

// ruleSet is the rules of one section: the anonymous section, one user, or the
// patterns.
type ruleSet struct {
	allow [3]index // by Access.slot
	deny  index
}

func (rs *ruleSet) add(r *rule) {
	if r.deny {
		rs.deny.add(r)
		return
	}
	for _, a := range []Access{AccessRead, AccessWrite, AccessSubscribe} {
		if r.grant&a != 0 {
			rs.allow[a.slot()].add(r)
		}
	}
}

// anyMatch reports whether a rule of x matches topic t (first level l0).
func (x *index) anyMatch(t, l0 string, s *subject) bool {
	for _, r := range x.first[l0] {
		if r.matchTopic(t, s) {
			return true
		}
	}
	for _, r := range x.other {
		if r.matchTopic(t, s) {
			return true
		}
	}
	return false
}

// anyCover reports whether a rule of x covers filter f (first level l0).
func (x *index) anyCover(f, l0 string, s *subject) bool {
	if l0 != "+" && l0 != "#" {
		for _, r := range x.first[l0] {
			if r.covers(f, s) {
				return true
			}
		}
	}
	// A wildcard first level in f is covered only by a wildcard first level.
	for _, r := range x.other {
		if r.covers(f, s) {
			return true
		}
	}
	return false
}

// anyOverlap reports whether a rule of x overlaps filter f (first level l0).
func (x *index) anyOverlap(f, l0 string, s *subject) bool {
	if l0 == "+" || l0 == "#" {
		for _, r := range x.all {
			if r.overlaps(f, s) {
				return true
			}
		}
		return false
	}
	for _, r := range x.first[l0] {
		if r.overlaps(f, s) {
			return true
		}
	}
	for _, r := range x.other {
		if r.overlaps(f, s) {
			return true
		}
	}
	return false
}
