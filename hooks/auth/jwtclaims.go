package auth

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
)

// Claims whose JSON type checkClaimTypes pins down. RFC 7519 4.1.4-4.1.6 make
// exp, nbf and iat a NumericDate, "a JSON numeric value"; 4.1.2 makes sub a
// StringOrURI, a single string. golang-jwt/jwt v5 is laxer: its NumericDate
// decodes through json.Number, which also takes a quoted string ("exp":
// "1700000000"), and it keeps the last of duplicated members.
var (
	numericClaims = []string{"exp", "nbf", "iat"}
	stringClaims  = []string{"sub"}
)

// errClaimType is the detail of a refusal for a claim of the wrong JSON type or
// a member given twice.
var errClaimType = errors.New("claim has the wrong json type")

// checkClaimTypes decodes the payload (second part) of a compact JWS that the
// parser has already verified and refuses it unless exp, nbf and iat, when
// present, are JSON numbers, sub, when present, is a JSON string, and none of
// them appears twice (a JSON object with duplicate names is ambiguous, RFC 8259
// 4; RFC 7519 7.2 step 4 lets a parser reject it). The returned reason is
// ReasonTokenSubject for sub and ReasonTokenClaims for the others.
func checkClaimTypes(token string) (reason string, err error) {
	parts := strings.Split(token, ".")
	if len(parts) != 3 {
		return ReasonTokenInvalid, errors.New("not a compact jws")
	}
	payload, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		return ReasonTokenInvalid, fmt.Errorf("payload: %w", err)
	}
	dec := json.NewDecoder(bytes.NewReader(payload))
	if tok, err := dec.Token(); err != nil || tok != json.Delim('{') {
		return ReasonTokenInvalid, errors.New("payload is not a json object")
	}
	seen := make(map[string]bool, len(numericClaims)+len(stringClaims))
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return ReasonTokenInvalid, fmt.Errorf("payload: %w", err)
		}
		name, _ := tok.(string)
		var raw json.RawMessage
		if err := dec.Decode(&raw); err != nil {
			return ReasonTokenInvalid, fmt.Errorf("payload: %w", err)
		}
		numeric, str := slices.Contains(numericClaims, name), slices.Contains(stringClaims, name)
		if !numeric && !str {
			continue
		}
		reason := ReasonTokenClaims
		if str {
			reason = ReasonTokenSubject
		}
		if seen[name] {
			return reason, fmt.Errorf("%q given twice: %w", name, errClaimType)
		}
		seen[name] = true
		if numeric && !isJSONNumber(raw) {
			return reason, fmt.Errorf("%q must be a json number: %w", name, errClaimType)
		}
		if str && (len(raw) == 0 || raw[0] != '"') {
			return reason, fmt.Errorf("%q must be a single json string: %w", name, errClaimType)
		}
	}
	return "", nil
}

// isJSONNumber reports whether raw (a complete JSON value) is a number: the
// grammar of RFC 8259 6 starts a number with '-' or a digit and nothing else.
func isJSONNumber(raw json.RawMessage) bool {
	return len(raw) > 0 && (raw[0] == '-' || (raw[0] >= '0' && raw[0] <= '9'))
}
