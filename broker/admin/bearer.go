package admin

import "strings"

// parseBearer extracts the credentials of an "Authorization: Bearer <token>"
// header value (RFC 6750 section 2.1: scheme case-insensitive, one or more spaces,
// then the token). It reports false for any other scheme, an empty token or a
// token containing spaces.
func parseBearer(header string) (string, bool) {
	const scheme = "bearer"
	if len(header) <= len(scheme) || !strings.EqualFold(header[:len(scheme)], scheme) || header[len(scheme)] != ' ' {
		return "", false
	}
	tok := strings.TrimLeft(header[len(scheme):], " ")
	if tok == "" || strings.ContainsAny(tok, " \t") {
		return "", false
	}
	return tok, true
}
