package persist

import (
	"fmt"
	"strings"

	"github.com/rs/zerolog"

	"github.com/imqtt/imqtt/internal/logfield"
)

// Component names.
const (
	componentPersist = "persist"
	componentBadger  = "badger"
)

// badgerLogger writes Badger's log lines through zerolog with component=badger.
// Badger's Info is logged at Debug (it is chatty: every compaction, every replay)
// and its Debug at Trace. The format string and its arguments go to the "detail"
// field; the message is the fixed string "badger". Badger logs keys in some error
// lines (client ids, topics), never values.
type badgerLogger struct{ log zerolog.Logger }

func newBadgerLogger(log zerolog.Logger) *badgerLogger {
	return &badgerLogger{log: log.With().Str(logfield.Component, componentBadger).Logger()}
}

func (l *badgerLogger) emit(e *zerolog.Event, format string, args []any) {
	if e == nil {
		return
	}
	e.Str(logfield.Detail, strings.TrimSpace(fmt.Sprintf(format, args...))).Msg("badger")
}

// Errorf implements badger.Logger.
func (l *badgerLogger) Errorf(format string, args ...any) { l.emit(l.log.Error(), format, args) }

// Warningf implements badger.Logger.
func (l *badgerLogger) Warningf(format string, args ...any) { l.emit(l.log.Warn(), format, args) }

// Infof implements badger.Logger.
func (l *badgerLogger) Infof(format string, args ...any) { l.emit(l.log.Debug(), format, args) }

// Debugf implements badger.Logger.
func (l *badgerLogger) Debugf(format string, args ...any) { l.emit(l.log.Trace(), format, args) }
