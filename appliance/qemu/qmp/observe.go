package qmp

import (
	"context"
	"errors"
	"time"
)

// Observer is told of every command a monitor ran, qmp_capabilities included: its name, how it
// ended (ResultOK, QEMU's error class, ResultTimeout, ResultCanceled, ResultDisconnected or
// ResultError) and how long the caller waited, a command already in flight included. It runs on
// the caller's goroutine after the command ended and must not block.
type Observer func(command, result string, d time.Duration)

// The results an Observer is given besides QEMU's error classes ("GenericError", …).
const (
	ResultOK           = "ok"
	ResultTimeout      = "timeout"      // the caller's deadline passed first
	ResultCanceled     = "canceled"     // the caller's context was canceled first
	ResultDisconnected = "disconnected" // the connection was gone or went away
	ResultError        = "error"        // anything else: an unencodable argument, an undecodable return
)

// DialObserved is Dial with every command the monitor runs reported to observe (nil: none).
func DialObserved(ctx context.Context, socketPath string, observe Observer) (*Monitor, error) {
	return dial(ctx, socketPath, observe)
}

// observed runs the command through run and reports it to the monitor's observer, if any.
func (m *Monitor) observed(command string, run func() error) error {
	if m.observe == nil {
		return run()
	}
	start := time.Now()
	err := run()
	m.observe(command, Result(err), time.Since(start))
	return err
}

// Result is the Observer's result for the error a command returned.
func Result(err error) string {
	var qerr *Error
	switch {
	case err == nil:
		return ResultOK
	case errors.As(err, &qerr):
		return qerr.Class
	case errors.Is(err, context.DeadlineExceeded):
		return ResultTimeout
	case errors.Is(err, context.Canceled):
		return ResultCanceled
	case errors.Is(err, ErrClosed):
		return ResultDisconnected
	}
	return ResultError
}
