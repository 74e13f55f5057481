package qemu

import "fmt"

// The errors this package returns. Test for them with errors.Is; each also has a FaultKind() string
// method (found with errors.As through %w wrapping) so the web layer can map it without importing qemu.
var (
	// ErrInvalidSpec: Spec.Validate refused the spec. FaultKind "invalid".
	ErrInvalidSpec error = &sentinel{"invalid qemu spec", "invalid"}

	// ErrNotRunning: no QEMU of that instance is running (no pidfile, a stale pidfile, or it exited).
	// FaultKind "conflict".
	ErrNotRunning error = &sentinel{"qemu not running", "conflict"}

	// ErrNotOurs: the PID is alive but is no longer the instance's QEMU (PID reuse); nothing was
	// signalled. FaultKind "" (internal).
	ErrNotOurs error = &sentinel{"pid is not this instance's qemu", ""}

	// ErrRunning: Start found the instance's QEMU already running. FaultKind "conflict".
	ErrRunning error = &sentinel{"qemu already running", "conflict"}
)

// sentinel is the type of the exported errors; comparing pointers keeps errors.Is exact.
type sentinel struct {
	msg  string
	kind string
}

func (e *sentinel) Error() string { return e.msg }

// FaultKind names the class of failure for the web layer.
func (e *sentinel) FaultKind() string { return e.kind }

// specError is a Validate failure: its message is complete on its own and it matches ErrInvalidSpec.
type specError struct{ msg string }

func (e *specError) Error() string { return "invalid qemu spec: " + e.msg }
func (e *specError) Unwrap() error { return ErrInvalidSpec }

func invalidf(format string, args ...any) error {
	return &specError{msg: fmt.Sprintf(format, args...)}
}
