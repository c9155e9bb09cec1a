package tokens

import (
	"encoding/base64"
	"encoding/json"
)

// decodeSegment decodes one base64url (unpadded) JWS segment as JSON into v.
func decodeSegment(seg string, v any) error {
	b, err := base64.RawURLEncoding.DecodeString(seg)
	if err != nil {
		return err
	}
	return json.Unmarshal(b, v)
}
