package volume

import (
	"fmt"

	"cloudlet/appliance/fault"
)

// The errors the service returns for callers' mistakes and for states that forbid an action. Test
// for them with errors.Is; each carries a fault kind (fault.KindOf) that web maps to an HTTP
// status. Messages are complete on their own ("volume data is in-use by instance 1b4e…"); the
// sentinel only classifies. Failures of the host (disk, qemu-img) are plain wrapped errors naming
// the operation, kind fault.Internal. Catalog errors (a name taken, a record not found) pass
// through from store with their own kinds.
var (
	// ErrInvalid: a request field is malformed or out of bounds (a size, a name, a pool path, a QoS
	// value, a source that is too big for the size asked). Kind invalid (400).
	ErrInvalid error = &fault.Error{Kind: fault.Invalid, Msg: "invalid volume request"}

	// ErrNotFound: no volume, snapshot, pool or transfer with that ID or name is visible. Kind
	// not_found (404).
	ErrNotFound error = &fault.Error{Kind: fault.NotFound, Msg: "not found"}

	// ErrConflict: the state of a volume, snapshot or pool forbids the action, or something depends
	// on it; the message names the state or the dependent. Kind conflict (409).
	ErrConflict error = &fault.Error{Kind: fault.Conflict, Msg: "volume state conflict"}

	// ErrForbidden: a transfer accepted with the wrong auth key. Kind forbidden (403).
	ErrForbidden error = &fault.Error{Kind: fault.Forbidden, Msg: "wrong transfer auth key"}

	// ErrNoCapacity: the pool's filesystem lacks the space a full copy or a fully preallocated
	// volume needs. Kind no_capacity (507).
	ErrNoCapacity error = &fault.Error{Kind: fault.NoCapacity, Msg: "pool is out of space"}

	// ErrUnavailable: a collaborator is not wired: no image source for a volume made from an
	// image. Kind unavailable (503).
	ErrUnavailable error = &fault.Error{Kind: fault.Unavailable, Msg: "volume service dependency unavailable"}
)

// faultf formats a message that matches sentinel under errors.Is and has its fault kind.
func faultf(sentinel error, format string, args ...any) error {
	return &fault.Error{Kind: fault.KindOf(sentinel), Msg: fmt.Sprintf(format, args...), Err: sentinel}
}

// quoteShort quotes s for a message, cutting hostile megabyte-long input short.
func quoteShort(s string) string {
	const limit = 80
	if len(s) <= limit {
		return fmt.Sprintf("%q", s)
	}
	return fmt.Sprintf("%q...", s[:limit])
}
