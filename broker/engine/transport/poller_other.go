//go:build !linux

package transport

import (
	"errors"

	"github.com/rs/zerolog"
)

// epollSupported: Config.Poller must be PollerGoroutine here.
const epollSupported = false

// poller is never created off Linux (Config.Validate refuses PollerEpoll); the
// methods keep the OS-neutral code compiling.
type poller struct{}

func pollers() int { return 1 }

func newPoller(int, zerolog.Logger) (*poller, error) { return nil, errors.New("epoll is Linux only") }

func (*poller) start()                {}
func (*poller) register(*Conn) error  { return errors.ErrUnsupported }
func (*poller) arm(*Conn, bool) error { return errors.ErrUnsupported }
func (*poller) del(*Conn)             {}
func (*poller) close(bool)            {}
func (*poller) closeFds()             {}
