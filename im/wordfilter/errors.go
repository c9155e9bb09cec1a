package wordfilter

import "errors"

var (
	// ErrInvalidConfig wraps every Config.Validate failure.
	ErrInvalidConfig = errors.New("wordfilter: invalid config")
	// ErrWordList is returned when the word list cannot be read or parsed.
	ErrWordList = errors.New("wordfilter: bad word list")
)
