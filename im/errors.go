package im

import "errors"

// Sentinel errors. The refusals below are what Handle answers a client with:
// each maps to one MQTT 5 reason code (codes.go) and its text, with the context
// the handler wrapped around it, is the reason string of the ack or response.
// Callers test with errors.Is.
var (
	// ErrInvalidConfig is wrapped by every error from Config.Validate; the message
	// names the key and the offending value.
	ErrInvalidConfig = errors.New("invalid im config")
	// ErrInvalidOptions is returned by New when a required option is missing or
	// out of range.
	ErrInvalidOptions = errors.New("im: invalid options")
	// ErrClosed is returned (and answered, as 0x80) after Close.
	ErrClosed = errors.New("service closed")
	// ErrTooManyDevices is returned by Connected when the user already has
	// Config.MaxDevices devices online.
	ErrTooManyDevices = errors.New("too many devices")

	// ErrNotAuthenticated: the client has no user name usable in im (0x87).
	ErrNotAuthenticated = errors.New("not authenticated")
	// ErrNotMember: the user is not a member of the conversation or group, or the
	// group does not exist (0x87; existence is not disclosed).
	ErrNotMember = errors.New("not a member")
	// ErrForbidden: the user's role (or not being an admin) does not allow the
	// request (0x87).
	ErrForbidden = errors.New("not allowed")
	// ErrBadTopic: the topic is not an im up topic, or names an invalid user,
	// group, conversation or method (0x90).
	ErrBadTopic = errors.New("invalid topic")
	// ErrBadReplyTopic: the reply topic (MQTT 5 Response Topic or reply_to) is not
	// a topic name under the user's own im/u/{user}/ tree (0x90).
	ErrBadReplyTopic = errors.New("reply topic must be under im/u/{user}/")
	// ErrRateLimited: the RateLimiter refused the user (0x96).
	ErrRateLimited = errors.New("rate limited")
	// ErrTooLarge: the payload or body is above Config.MaxBodyBytes (0x97).
	ErrTooLarge = errors.New("too large")
	// ErrGroupFull: the group would exceed Config.GroupMaxMembers (0x97).
	ErrGroupFull = errors.New("group full")
	// ErrStorageFull: the store refused the write for lack of disk space (0x97).
	ErrStorageFull = errors.New("storage full")
	// ErrBadPayload: the payload is not the JSON the topic expects, or a field is
	// missing or invalid (0x99).
	ErrBadPayload = errors.New("invalid payload")
	// ErrRejected: the TextFilter rejected the body (0x83).
	ErrRejected = errors.New("content rejected")
	// ErrOutOfRange: a receipt seq above the conversation's last seq (0x83).
	ErrOutOfRange = errors.New("seq out of range")
	// ErrConflict: the request contradicts the group's state (the owner leaving
	// a group with other members, kicking oneself, inviting a member...) (0x83).
	ErrConflict = errors.New("conflict")
	// ErrNoMessage: an edit, recall or reaction names a seq that is not a
	// message the user can see in the conversation (0x83).
	ErrNoMessage = errors.New("no such message")
	// ErrTooLate: the edit or recall window of the message has passed
	// (Config.EditWindow, Config.RecallWindow) (0x83).
	ErrTooLate = errors.New("window passed")
	// ErrNotEditable: the message cannot be changed that way: not a text
	// message (edit), recalled already, or an event or notice (0x83).
	ErrNotEditable = errors.New("message cannot be changed")
	// ErrTooManyReactions: the message already has the most distinct
	// reactions allowed (0x97).
	ErrTooManyReactions = errors.New("too many reactions")
	// ErrNoGroup: the operator API named a group that does not exist.
	ErrNoGroup = errors.New("no such group")
	// ErrStorage: the write could not be committed or the store could not be
	// read (0x80). The reason sent to the client is fixed; the log has details.
	// The outcome of an uncommitted write is unknown: re-send with the same cid.
	ErrStorage = errors.New("storage unavailable")
	// ErrInternal: an unexpected failure (a recovered panic) (0x80).
	ErrInternal = errors.New("internal error")

	// ErrBlocked: a direct send or typing between two users one of whom
	// blocked the other (0x87; block.go).
	ErrBlocked = errors.New("blocked")
	// ErrTooManyBlocks: the user already blocked maxBlocks users (0x97).
	ErrTooManyBlocks = errors.New("block list full")
	// ErrBadMedia: an upload request or a media message body with a missing or
	// malformed field, a mime type not allowed, or a mime that does not fit
	// the message type (0x99).
	ErrBadMedia = errors.New("invalid media")
	// ErrMediaURL: a media url this server's store did not issue for that
	// file, with a bad signature, or expired (0x87).
	ErrMediaURL = errors.New("media url not issued by this server")
	// ErrMediaQuota: the upload would exceed the user's media quota (0x97).
	ErrMediaQuota = errors.New("media quota exceeded")
	// ErrMediaOff: rpc upload or a media message while im.media.backend is
	// off (0x83).
	ErrMediaOff = errors.New("media off")
)
