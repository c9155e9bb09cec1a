package adminapi

import "errors"

var (
	// ErrMissingDep is returned by New when a required Deps field is nil.
	ErrMissingDep = errors.New("adminapi: missing dependency")

	// ErrInvalidFilter is returned by ParseFilter for a string that is not a valid
	// MQTT topic filter (the message says why); handlers answer 400.
	ErrInvalidFilter = errors.New("invalid topic filter")

	// ErrInvalidTopic is returned by ValidTopic for a string that is not a valid
	// MQTT topic name; handlers answer 400.
	ErrInvalidTopic = errors.New("invalid topic name")

	// ErrInvalidPaging is returned by parsePage for a bad limit or cursor; handlers
	// answer 400.
	ErrInvalidPaging = errors.New("invalid paging parameter")

	// ErrNotFound is returned when the named client, session or retained message
	// does not exist; handlers answer 404.
	ErrNotFound = errors.New("not found")

	// ErrSessionOnline is returned when deleting a session whose client is
	// connected to this node; handlers answer 409.
	ErrSessionOnline = errors.New("session is online")

	// ErrNotDurable is returned when a durable delete (session, retained message)
	// could not be committed through raft; handlers answer 503.
	ErrNotDurable = errors.New("durable write failed")
)

// ErrInvalidBody is returned for a request body that does not decode or lacks
// a required field.
var ErrInvalidBody = errors.New("invalid request body")
