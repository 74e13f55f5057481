package link

import "cloudlet/appliance/fault"

var (
	// ErrInvalid wraps every reason a Bridge or Tap is refused before the kernel is asked.
	ErrInvalid = fault.New(fault.Invalid, "invalid link")
	// ErrNotFound is returned when a link that must already exist does not.
	ErrNotFound = fault.New(fault.NotFound, "link not found")
	// ErrWrongKind is returned when a link with the wanted name exists but is not what cloudlet
	// would have created there (not a bridge, not a single-queue persistent tap): cloudlet never
	// repurposes or deletes a link it cannot recognise as its own kind.
	ErrWrongKind = fault.New(fault.Conflict, "link exists with another kind")
	// ErrNoVhost is returned by OpenVhost when the host has no usable /dev/vhost-net; QEMU then
	// moves packets in userspace, which works but is slower.
	ErrNoVhost = fault.New(fault.Unavailable, "no /dev/vhost-net")
)
