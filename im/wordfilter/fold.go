package wordfilter

import (
	"strings"
	"unicode"
	"unicode/utf8"
)

// fold maps s to lower case rune by rune (unicode.ToLower: one rune to one
// rune, so rune positions are kept).
func fold(s string) string {
	return strings.Map(unicode.ToLower, s)
}

// needsFold reports whether fold would change s (false for lower-case ASCII,
// the common case, which is then matched without a copy).
func needsFold(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c >= utf8.RuneSelf || ('A' <= c && c <= 'Z') {
			return true
		}
	}
	return false
}
