// Package images is cloudlet's image service (Glance's job): it owns image records in the catalog
// (bucket images, names unique per project) and the image files on disk, and it hands compute the
// paths it boots from.
//
// It imports store and appliance/fault and nothing else from the project: never web, never echo,
// never compute (compute depends on images through an interface of its own).
//
// # Files
//
//	<Dir>/<image-id>/        0700, one directory per image
//	<Dir>/<image-id>/disk    0600, the disk in the format recorded in Image.DiskFormat
//	<Dir>/<image-id>/kernel  0600, optional, for direct kernel boot
//	<Dir>/<image-id>/initrd  0600, optional
//
// Every file is written under a temporary name in its image directory and renamed when it is
// complete, so a name without a dot prefix is always a whole file.
//
// # Import, and why in this order
//
// An import validates the request and the source's header (so most bad input creates nothing),
// records its intent (status queued), copies the source into the image directory while hashing it
// (saving), inspects the copy's header in Go again (only the copy cannot change any more), only
// then lets qemu-img look at it (always with an explicit -f, never probing, under CPU and
// address-space limits), and finally renames the files into place and marks the record active. Any failure marks the record killed,
// removes the image directory and then the record, so a failed import leaves nothing behind.
// Inspection rejects what SECURITY.md's "Bad input" table lists: qcow2 backing files, external
// data files, the corrupt bit, unknown incompatible features, encryption, virtual sizes above the
// host cap, and every format outside the allow-list. A raw image is raw whatever its bytes look
// like: a qcow2 header inside it is data, and qemu-img is told -f raw.
//
// New removes what a daemon killed in the middle of an import or a delete left behind: records
// that never became active and image directories without a record.
//
// # Visibility
//
// A project sees its own images and every public one. Another project's private image is reported
// exactly like a missing one. Only the owning project may delete an image.
//
// # Caveats
//
// Without prlimit (util-linux) on the PATH, qemu-img runs with a timeout but without rlimits.
// Delete does not know which instances boot from an image; compute must guard that. Names are
// unique per project only, so a name may match several public images of other projects; such a
// lookup fails with a conflict and the caller must use the ID.
//
// # Reading the source
//
//	image.go      the Image record, statuses, formats, the catalog kind
//	errors.go     the sentinels and their fault kinds
//	service.go    Options, New, Get, List, Delete, BootFiles and the visibility rules
//	request.go    ImportFileRequest and its validation
//	import.go     ImportFile: the steps and their undo
//	files.go      copying into the image directory with a hash, temp names, renames
//	inspect.go    the qcow2 header check, in Go, before qemu-img sees a file
//	qemuimg.go    running qemu-img info under limits and checking what it reports
//	reconcile.go  the start-up sweep of interrupted imports and deletes
package images
