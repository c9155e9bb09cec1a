package tokens

// Raw keys of the package (persist's raw range, letter o: im/DESIGN.md and
// persist/DESIGN.md "Key schema"). Token ids are base64url (no '/', no NUL)
// and user names have no control characters (auth.ValidateUsername), so
// NUL ends a user name in the index.
const (
	keySigning = "o/tk/key" // -> the 32-byte HS256 key (PutRawIfAbsent)
	pfxRecord  = "o/tk/t/"  // o/tk/t/{jti}            -> record JSON, TTL exp+Margin
	pfxUser    = "o/tk/u/"  // o/tk/u/{user}\x00{jti}  -> empty, TTL exp+Margin
	pfxDeny    = "o/tk/d/"  // o/tk/d/{jti}            -> record JSON, TTL exp+Margin
	kidPrefix  = "imqtt:"   // the header kid of our tokens: kidPrefix + key id
	issuer     = "imqtt"    // the iss claim of our tokens
	idBytes    = 16         // random bytes of a token id
	keyIDBytes = 8          // bytes of SHA-256(key) in the kid
	maxToken   = 8 << 10    // longest token Verify looks at
	maxDevice  = 128        // longest device id
	maxUser    = 256        // longest user name (auth.ValidateUsername)
)

func recordKey(id string) []byte { return []byte(pfxRecord + id) }
func denyKey(id string) []byte   { return []byte(pfxDeny + id) }
func userPrefix(user string) []byte {
	return []byte(pfxUser + user + "\x00")
}
func userKey(user, id string) []byte { return append(userPrefix(user), id...) }
