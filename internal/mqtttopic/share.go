package mqtttopic

import "strings"

// SharePrefix starts a shared subscription [MQTT-4.8.2-1]. It is
// case-sensitive: "$SHARE/g/f" is an ordinary filter whose first level is
// "$SHARE" (see ParseSharedAnyCase for mochi's reading).
const SharePrefix = "$share/"

// ShareLevel is the first level of a shared subscription.
const ShareLevel = "$share"

// ParseShared splits a shared subscription "$share/{group}/{filter}".
//
// ok reports whether filter starts with SharePrefix (case-sensitive), that is
// whether MQTT reads it as a shared subscription at all. If ok is false, err
// is nil and filter is an ordinary filter. If ok is true and the share is
// malformed, err is ErrEmptyShareName, ErrShareNameWildcard or
// ErrNoSharedFilter (checked in that order) and group and inner are "".
// Otherwise group is the non-empty share name (no '/', '+' or '#') and inner
// the non-empty filter after it, not checked further.
func ParseShared(filter string) (group, inner string, ok bool, err error) {
	return parseShared(filter, false)
}

// ParseSharedAnyCase is ParseShared with the prefix compared in any letter
// case, as mochi v2.7.9 does ("$SHARE/g/f" is a shared subscription to it).
// Use it only to predict what mochi will do.
func ParseSharedAnyCase(filter string) (group, inner string, ok bool, err error) {
	return parseShared(filter, true)
}

func parseShared(filter string, anyCase bool) (group, inner string, ok bool, err error) {
	if len(filter) < len(SharePrefix) {
		return "", "", false, nil
	}
	p := filter[:len(SharePrefix)]
	if p != SharePrefix && !(anyCase && strings.EqualFold(p, SharePrefix)) {
		return "", "", false, nil
	}
	group, inner, found := strings.Cut(filter[len(SharePrefix):], "/")
	switch {
	case group == "":
		return "", "", true, ErrEmptyShareName
	case strings.ContainsAny(group, "+#"):
		return "", "", true, ErrShareNameWildcard
	case !found || inner == "":
		return "", "", true, ErrNoSharedFilter
	}
	return group, inner, true, nil
}

// IsShareCaseVariant reports whether the first level of filter is a letter
// case variant of "$share" other than "$share" itself (e.g. "$SHARE"). MQTT
// reads such a filter literally; mochi v2.7.9 reads it as a shared
// subscription.
func IsShareCaseVariant(filter string) bool {
	l := filter
	if i := strings.IndexByte(filter, '/'); i >= 0 {
		l = filter[:i]
	}
	return l != ShareLevel && strings.EqualFold(l, ShareLevel)
}
