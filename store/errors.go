package store

import "fmt"

// The errors store returns. Test for them with errors.Is; every one also has a FaultKind() string
// method (found with errors.As through any %w wrapping) so the web layer can map it to an HTTP
// status without importing store.
var (
	// ErrNotFound: no record with that ID (or name) is visible. FaultKind "not_found".
	ErrNotFound error = &sentinel{"not found", "not_found"}

	// ErrConflict: a name is taken in its scope, an ID exists already, or a record was modified
	// since it was read (stale Revision). FaultKind "conflict".
	ErrConflict error = &sentinel{"conflict", "conflict"}

	// ErrInvalid: the caller passed something unacceptable, such as a bad name. FaultKind "invalid".
	ErrInvalid error = &sentinel{"invalid", "invalid"}

	// ErrLocked: another process (usually another cloudlet daemon) holds the catalog's file lock.
	// FaultKind "unavailable".
	ErrLocked error = &sentinel{"locked by another process", "unavailable"}

	// ErrNewerSchema: the catalog was written by a newer cloudlet; this binary refuses to touch it.
	// FaultKind "unavailable".
	ErrNewerSchema error = &sentinel{"catalog schema is newer than this cloudlet", "unavailable"}

	// ErrCorrupt: the file is not a cloudlet catalog, or it is damaged. FaultKind "unavailable".
	ErrCorrupt error = &sentinel{"catalog corrupt", "unavailable"}
)

// sentinel is the type of the exported errors; comparing pointers keeps errors.Is exact.
type sentinel struct {
	msg  string
	kind string
}

func (e *sentinel) Error() string { return e.msg }

// FaultKind names the class of failure for the web layer.
func (e *sentinel) FaultKind() string { return e.kind }

// fault is an error whose message is complete on its own but which still matches a sentinel,
// so messages read `instance name "web" already exists in project p1`, not `...: conflict`.
type fault struct {
	msg string
	err error
}

func (e *fault) Error() string { return e.msg }
func (e *fault) Unwrap() error { return e.err }

// faultf formats a message that matches sentinel under errors.Is and errors.As.
func faultf(sentinel error, format string, args ...any) error {
	return &fault{msg: fmt.Sprintf(format, args...), err: sentinel}
}
