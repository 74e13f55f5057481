package images

import (
	"fmt"

	"cloudlet/appliance/fault"
)

// The errors the service returns for callers' mistakes and for states that forbid an action. Test
// for them with errors.Is; each carries a fault kind (fault.KindOf) that web maps to an HTTP status.
// Messages are complete on their own ("image "web" not found"); the sentinel only classifies.
// Failures of the host (disk, catalog, qemu-img missing) are plain wrapped errors naming the
// operation, kind fault.Internal. Catalog errors about names (taken, malformed) pass through from
// store with their own kinds.
var (
	// ErrNotFound: no image with that ID or name is visible to the project. A private image of
	// another project gives exactly this error too. Kind not_found.
	ErrNotFound error = &fault.Error{Kind: fault.NotFound, Msg: "image not found"}

	// ErrInvalid: a request field is malformed or out of bounds, or a source file cannot be read
	// as one. Kind invalid.
	ErrInvalid error = &fault.Error{Kind: fault.Invalid, Msg: "invalid image request"}

	// ErrUnsafe: the image file was rejected by inspection: wrong format, a backing or external
	// data file, the corrupt bit, unknown incompatible features, encryption, or a virtual size
	// over the host cap. Kind invalid.
	ErrUnsafe error = &fault.Error{Kind: fault.Invalid, Msg: "image rejected by inspection"}

	// ErrProtected: Delete of a protected image. Kind conflict.
	ErrProtected error = &fault.Error{Kind: fault.Conflict, Msg: "image is protected"}

	// ErrAmbiguous: a name matches several public images of other projects; use the ID. Kind conflict.
	ErrAmbiguous error = &fault.Error{Kind: fault.Conflict, Msg: "image name is ambiguous"}

	// ErrNotActive: the image exists but is not active (still importing, or being deleted), so it
	// cannot boot. Kind conflict.
	ErrNotActive error = &fault.Error{Kind: fault.Conflict, Msg: "image is not active"}

	// ErrNotOwner: Delete, a member change or an upload on a public or shared image that belongs to
	// another project. Kind forbidden.
	ErrNotOwner error = &fault.Error{Kind: fault.Forbidden, Msg: "image belongs to another project"}

	// ErrInvalidState: the image's status forbids the action, e.g. a second upload to an image that
	// is no longer queued, or a member change on a public image. Kind conflict.
	ErrInvalidState error = &fault.Error{Kind: fault.Conflict, Msg: "image is in the wrong state"}

	// ErrInUse: the delete of an image that something (a volume, an instance) still uses (see
	// UsedBy); the message names the user. Kind conflict.
	ErrInUse error = &fault.Error{Kind: fault.Conflict, Msg: "image is in use"}

	// ErrTooLarge: an upload or a download longer than its byte cap. Kind too_large.
	ErrTooLarge error = &fault.Error{Kind: fault.TooLarge, Msg: "image data is over the size cap"}

	// ErrQuota: the image's bytes would take its project past its image_gigabytes quota (an
	// import is refused, a stream is cut where the quota ends). Kind quota (409).
	ErrQuota error = &fault.Error{Kind: fault.Quota, Msg: "image quota exceeded"}

	// ErrNoSpace: the image store's filesystem is full (or its quota reached). Kind no_capacity.
	ErrNoSpace error = &fault.Error{Kind: fault.NoCapacity, Msg: "no space left for images"}

	// ErrBlockedAddress: a URL import would connect to an address or port cloudlet never fetches
	// from (loopback, link-local, multicast, unspecified, the host's own, denied; private or outside
	// the allowed ranges unless allowed; a port not allowed). Kind invalid. Only the log sees it:
	// callers get ErrUnreachable.
	ErrBlockedAddress error = &fault.Error{Kind: fault.Invalid, Msg: "address refused for image import"}

	// ErrUnreachable: a URL import could not connect, or was not allowed to; one error for both,
	// so it tells nothing about the network behind. Kind invalid.
	ErrUnreachable error = &fault.Error{Kind: fault.Invalid, Msg: "image import could not connect"}

	// ErrTooSlow: an upload or a URL import's download came slower than the minimum rate
	// (ImportOptions.MinRate). Kind invalid.
	ErrTooSlow error = &fault.Error{Kind: fault.Invalid, Msg: "image data came too slowly"}

	// ErrClosed: the service is shutting down and starts no new import. Kind unavailable.
	ErrClosed error = &fault.Error{Kind: fault.Unavailable, Msg: "image service is shutting down"}
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

// UsedBy is the error that refuses the delete of img while user (e.g. "volume web-root") uses it:
// ErrInUse, naming both.
func UsedBy(img *Image, user string) error {
	return faultf(ErrInUse, "image %s is used by %s", img.Name, user)
}
