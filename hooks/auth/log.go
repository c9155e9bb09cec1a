package auth

// The component value and log messages (field names: internal/logfield). Messages are fixed lowercase strings; the
// variable parts go in fields. Passwords and tokens are never logged.
const (
	component = "auth"

	msgRefused      = "connect refused"
	msgAccepted     = "client authenticated"
	msgNoAuthMethod = "no authentication method configured: every client will be refused"
	msgLoaded       = "credentials loaded"
	msgReloadFailed = "credentials reload failed, keeping previous"
	msgConnackFail  = "send refusal connack failed"
	msgThrottled    = "login throttled"
	msgThrottleFull = "login throttle table full: new keys are not tracked"
)

// maxLoggedUserLen bounds the username copied into a log line; CONNECT allows
// 65535 bytes.
const maxLoggedUserLen = MaxUsernameLen

func logUser(u string) string {
	if len(u) > maxLoggedUserLen {
		return u[:maxLoggedUserLen] + "..."
	}
	return u
}
