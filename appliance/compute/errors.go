package compute

import (
	"errors"

	"cloudlet/appliance/fault"
)

// Sentinels for conditions callers test with errors.Is.
var (
	// ErrBusy: the instance's supervisor has too many queued commands.
	ErrBusy = errors.New("instance is busy")
	// ErrClosed: the service is shutting down.
	ErrClosed = errors.New("compute service is closed")
)

func errInvalid(format string, args ...any) error  { return fault.New(fault.Invalid, format, args...) }
func errConflict(format string, args ...any) error { return fault.New(fault.Conflict, format, args...) }
func errNotFound(format string, args ...any) error { return fault.New(fault.NotFound, format, args...) }
func errNoCapacity(format string, args ...any) error {
	return fault.New(fault.NoCapacity, format, args...)
}
