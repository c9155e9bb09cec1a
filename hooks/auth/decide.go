package auth

import (
	"errors"

	"github.com/mochi-mqtt/server/v2/packets"
)

// Authentication methods, logged on success.
const (
	methodAnonymous = "anonymous"
	methodPassword  = "password"
	methodJWT       = "jwt"
	methodMinted    = "token" // a token minted by this cluster (minted.go)
)

// credentials is what a CONNECT offers.
type credentials struct {
	listener     string
	remote       string // host:port, for throttling and logs
	usernameFlag bool
	username     string
	passwordFlag bool
	password     string
}

// decision is the outcome of decide. reason == "" means accepted.
type decision struct {
	identity string       // the authenticated user; "" for anonymous
	method   string       // methodX on success
	reason   string       // ReasonX on refusal
	code     packets.Code // v5 CONNACK code on refusal
	err      error        // detail for the log; never holds a secret

	tokenID   string // minted token id (minted.go); "" otherwise
	expiresAt int64  // unix ms when the credentials expire (a JWT's exp); 0 = never
}

func refuse(reason string, code packets.Code, err error) decision {
	return decision{reason: reason, code: code, err: err}
}

// keys is one immutable generation of loaded credentials. Reload builds a new
// one and swaps it in whole.
type keys struct {
	passwords *PasswordFile // nil when no password file is configured
	jwt       *jwtVerifier  // nil when JWT is disabled
	users     UserStore     // the replicated user store; nil without (userstore.go)
	dummy     *dummyHash    // compared against when users has no hash to check
	minted    Minted        // nil when minted tokens are off (Options.Tokens)
}

// decide applies the decision table of doc.go. allowAnonymous and loopback
// come from the hook (they are not reloaded).
func (k *keys) decide(c credentials, allowAnonymous bool, loopback func(string) bool) decision {
	// An empty username is the same as none: MQTT 5 lets a client send a
	// token with the username flag set and a zero-length username.
	hasUser := c.usernameFlag && c.username != ""
	hasPass := c.passwordFlag
	switch {
	case !hasUser && !hasPass:
		if !allowAnonymous {
			return refuse(ReasonAnonymousDenied, packets.ErrNotAuthorized, errors.New("anonymous access is disabled"))
		}
		if loopback == nil || !loopback(c.listener) {
			return refuse(ReasonAnonymousDenied, packets.ErrNotAuthorized, errors.New("listener is not bound to loopback only"))
		}
		return decision{method: methodAnonymous}
	case !hasPass:
		return refuse(ReasonMissingPassword, packets.ErrBadUsernameOrPassword, errors.New("username without password"))
	case c.password == "":
		// kept so the table is complete on its own.
		return refuse(ReasonEmptyPassword, packets.ErrBadUsernameOrPassword, errors.New("empty password"))
	case !hasUser:
		if k.ownsMinted(c.password) {
			return k.decideMinted(c.password, "")
		}
		if k.jwt == nil {
			return refuse(ReasonMissingUsername, packets.ErrBadUsernameOrPassword, errors.New("password without username and jwt is disabled"))
		}
		return k.decideJWT(c.password, "")
	}
	if err := ValidateUsername(c.username); err != nil {
		return refuse(ReasonInvalidUsername, packets.ErrBadUsernameOrPassword, err)
	}
	if k.ownsMinted(c.password) {
		return k.decideMinted(c.password, c.username)
	}
	if k.jwt != nil && looksLikeJWT(c.password) {
		return k.decideJWT(c.password, c.username)
	}
	if k.users != nil {
		if d, handled := k.decideStore(c); handled {
			return d
		}
	}
	if k.passwords == nil {
		return refuse(ReasonNoPasswordFile, packets.ErrBadUsernameOrPassword, errors.New("no password file configured"))
	}
	switch ok, known := k.passwords.verify(c.username, c.password); {
	case ok:
		return decision{identity: c.username, method: methodPassword}
	case !known:
		return refuse(ReasonUnknownUser, packets.ErrBadUsernameOrPassword, errors.New("user not in password file"))
	default:
		return refuse(ReasonBadPassword, packets.ErrBadUsernameOrPassword, errors.New("password does not match"))
	}
}

// checksPassword reports whether decide would check c against the password
// file or the user store: the attempts login throttling counts. It follows the decision table of
// doc.go; tokens are not throttled (see "Login throttling").
func (k *keys) checksPassword(c credentials) bool {
	return c.usernameFlag && c.username != "" && c.passwordFlag && c.password != "" &&
		(k.passwords != nil || k.users != nil) && !(k.jwt != nil && looksLikeJWT(c.password)) && !k.ownsMinted(c.password) &&
		ValidateUsername(c.username) == nil
}

// decideJWT verifies token; username, if not empty, must equal its sub.
func (k *keys) decideJWT(token, username string) decision {
	sub, exp, reason, err := k.jwt.verifyExp(token)
	if err != nil {
		return refuse(reason, packets.ErrBadUsernameOrPassword, err)
	}
	if username != "" && username != sub {
		return refuse(ReasonTokenUserMismatch, packets.ErrBadUsernameOrPassword, errors.New("token sub differs from mqtt username"))
	}
	return decision{identity: sub, method: methodJWT, expiresAt: exp}
}
