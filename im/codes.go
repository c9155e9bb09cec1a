package im

import (
	"errors"
	"strings"
)

// Reason codes of Outcome.Code and of the "code" field of acks and responses
// (MQTT 5 reason codes, so the hook can put them on a PUBACK unchanged).
const (
	CodeSuccess            byte = 0x00 // accepted
	CodeUnspecified        byte = 0x80 // storage unavailable, closed, internal error
	CodeImplementation     byte = 0x83 // content rejected, seq out of range, conflict
	CodeNotAuthorized      byte = 0x87 // not a member, not allowed, not authenticated
	CodeTopicNameInvalid   byte = 0x90 // bad up topic, unknown method, bad reply topic
	CodeMessageRateTooHigh byte = 0x96 // rate limited
	CodeQuotaExceeded      byte = 0x97 // too large, group full, storage full
	CodePayloadFormat      byte = 0x99 // bad JSON or field
)

// codeTable maps each refusal sentinel to its reason code.
var codeTable = []struct {
	err  error
	code byte
}{
	{ErrNotAuthenticated, CodeNotAuthorized},
	{ErrNotMember, CodeNotAuthorized},
	{ErrForbidden, CodeNotAuthorized},
	{ErrBadTopic, CodeTopicNameInvalid},
	{ErrBadReplyTopic, CodeTopicNameInvalid},
	{ErrRateLimited, CodeMessageRateTooHigh},
	{ErrTooLarge, CodeQuotaExceeded},
	{ErrGroupFull, CodeQuotaExceeded},
	{ErrStorageFull, CodeQuotaExceeded},
	{ErrBadPayload, CodePayloadFormat},
	{ErrRejected, CodeImplementation},
	{ErrOutOfRange, CodeImplementation},
	{ErrConflict, CodeImplementation},
	{ErrBlocked, CodeNotAuthorized},
	{ErrTooManyBlocks, CodeQuotaExceeded},
	{ErrNoMessage, CodeImplementation},
	{ErrTooLate, CodeImplementation},
	{ErrNotEditable, CodeImplementation},
	{ErrTooManyReactions, CodeQuotaExceeded},
	{ErrBadMedia, CodePayloadFormat},   // im/media.go
	{ErrMediaURL, CodeNotAuthorized},   // im/media.go
	{ErrMediaQuota, CodeQuotaExceeded}, // im/media.go
	{ErrMediaOff, CodeImplementation},  // im/media.go
}

// outcomeOf maps an error to the Outcome sent to the client. Storage and
// internal errors get a fixed reason: their details stay in the log.
func outcomeOf(err error) Outcome {
	if err == nil {
		return Outcome{}
	}
	for _, e := range codeTable {
		if errors.Is(err, e.err) {
			return Outcome{Code: e.code, Reason: reasonText(err)}
		}
	}
	switch {
	case errors.Is(err, ErrClosed):
		return Outcome{Code: CodeUnspecified, Reason: ErrClosed.Error()}
	case errors.Is(err, ErrStorage):
		return Outcome{Code: CodeUnspecified, Reason: ErrStorage.Error()}
	}
	return Outcome{Code: CodeUnspecified, Reason: ErrInternal.Error()}
}

// maxReasonLen bounds reason strings (they travel in every refusal).
const maxReasonLen = 200

func reasonText(err error) string {
	s := err.Error()
	if len(s) > maxReasonLen {
		s = s[:maxReasonLen]
		// Do not cut a UTF-8 sequence in half.
		for len(s) > 0 && s[len(s)-1]&0xC0 == 0x80 {
			s = s[:len(s)-1]
		}
		if len(s) > 0 && s[len(s)-1] >= 0xC0 {
			s = s[:len(s)-1]
		}
		s = strings.TrimSpace(s)
	}
	return s
}
