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
// Every file is written under a temporary name (.upload-*.tmp, .download-*.tmp, .convert-*.tmp,
// ...) in its image directory and renamed when it is complete, so a name without a dot prefix is
// always a whole file.
//
// # Ways in
//
//	ImportFile  a file in the import directory (admin; see importdir.go): synchronous; a failure
//	            leaves nothing, not even the record
//	Create      a queued record, then Upload streams the data (any size, never held in memory)
//	ImportURL   a queued record, then a background download (Close cancels and waits for it)
//
// Uploads and URL imports keep their record when they fail: status killed, Fault says why, no
// file left. Their owner reads it and deletes it. While saving, BytesReceived says how far the
// data came (written at most every second or every 64 MiB). Both must keep a minimum rate
// (ImportOptions.MinRate over each RateWindow) or fail (see pace.go): a sender trickling a byte
// now and then, or stopping altogether, cannot keep an image saving. Deleting a saving image
// cancels its upload or download, waits for it to remove its files, then deletes the record
// (see flights.go).
//
// # Inspection, and why in this order
//
// An import validates the request (so most bad input creates nothing), records its intent
// (queued), receives the data into the image directory while hashing it (saving), inspects the
// copy's header in Go (only the copy cannot change any more), only then lets qemu-img look at it
// (always with an explicit -f, never probing, under CPU and address-space limits), converts vmdk,
// vhdx and vdi to qcow2 (qemu-img convert -f FMT -O qcow2, same wrapper) and inspects the result
// again as qcow2, and finally renames the files into place and marks the record active.
//
// The Go inspection rejects what SECURITY.md's "Bad input" table lists: qcow2 backing files,
// external data files, the corrupt bit, unknown incompatible features, encryption; VMDK text
// descriptors (they name host files, CVE-2022-47951) and every VMDK but a binary monolithicSparse
// or streamOptimized one without a parent; differencing VHDX and VDI images; virtual sizes above
// the host cap; polyglots (a file claiming one format that carries another's signature); and
// every format outside the allow-list. The declared format must be the real one (as in Glance since
// CVE-2024-32498): a file declared raw that carries a qcow2, vmdk, vhdx, vdi, vpc or ISO signature
// is refused, and qemu-img is always told -f. An ISO is recorded as iso and read as raw.
//
// # OVA
//
// An OVA (container format ova) is read as a tar stream, entry by entry, and never extracted by
// its names: the first entry must be the OVF descriptor (parsed with encoding/xml, which expands
// no external entity); only regular files with plain names are allowed (no "..", no absolute
// path, no link, no directory); the VMDK disks the OVF names are copied under temporary names of
// cloudlet's choosing and converted as above. The first disk becomes the image itself, each
// further one an image NAME-disk2, NAME-disk3...; min RAM and the properties ovf_vcpus and
// ovf_ram_mib come from the OVF.
//
// # URL imports
//
// Only http and https, without credentials. Every connection (redirects included, at most 5) is
// checked on the address actually connected, after DNS, so DNS rebinding gains nothing: loopback,
// link-local (169.254/16, fe80::/10: cloud metadata services), unspecified, multicast and
// broadcast addresses, and every address of the host itself (its interfaces, read at each dial),
// are always refused, also in their IPv4-mapped and NAT64 spellings; so are the denied ranges
// (ImportOptions.DeniedCIDRs). When allowed ranges are set, nothing outside them is reached;
// otherwise private addresses are refused unless Options.AllowPrivateURLs. Only the allowed ports
// are connected to (80 and 443 unless configured). A refused address or port, a closed port, no
// route, a timeout, DNS and TLS failures all end in one generic error (ErrUnreachable), retried
// alike, so the answer is no port-scan oracle; the detail goes to the debug log. No proxy is
// used. A download cut off is tried again (3 attempts), resumed with a Range request when the
// server offered ranges and a validator, restarted otherwise. An optional sha256 is checked
// before inspection. Nothing a refused or failed download received is kept: its image is killed
// and its directory removed.
//
// # Visibility
//
// A project sees its own images, every public one, and the shared ones that list it among their
// Members. Another project's private image is reported exactly like a missing one. Only the
// owning project may upload to, share, unshare or delete an image. An image in use is refused
// with UsedBy's ErrInUse, decided in Delete's own transaction from the catalog's holds (see
// inuse.go): the volume service records, in the transaction that writes a volume or a snapshot,
// that it holds the image its chain stands on; Delete refuses while any holds it (naming the
// owner's volume, and only "a volume of another project" for another's) and otherwise seals it in
// the transaction that marks it deleted, so a volume made from it afterwards is refused. Neither
// service asks the other. Making an image public is the admins' (the web layer's
// image:publicize); members share with named projects.
//
// Members are project IDs (names resolved with Options.ResolveProject; an unknown project is
// not found), each with Glance's status: pending when shared, then accepted or rejected by the
// recipient alone (SetMemberStatus). A pending or rejected image is usable by its ID but neither
// listed nor found by name; an accepted one is both. A recipient sees only its own membership,
// never who else an image is shared with.
//
// A name resolves to the caller's own image first, then to one shared with it that it accepted,
// then to a public one: another project's image of the same name never hides or blocks it. Only
// two images of one tier (two accepted shares, two public images) make a name ambiguous.
//
// # Quotas
//
// Options.Quota limits a project's images (QuotaImages) and their bytes (QuotaImageGigabytes,
// Glance's user_storage_quota). Bytes are checked in the transaction that records an image: a
// file import reserves its sources' size there; an upload or URL import needs room left, then
// reserves 64 MiB at a time ahead of the data it receives (receive.go asks holdFor before each
// write), in the transaction that counts everything else the project holds, so parallel imports
// never share the same free space; past what is left the stream is cut (ErrQuota, 409), the image
// killed and its files removed. An active image is charged its stored disk instead; a conversion
// that grows the data past the quota fails at activation. Options.MaxUploadBytes caps one image.
//
// New removes what a daemon killed in the middle of an import or a delete left behind (see
// reconcile): interrupted file imports and deletes disappear, interrupted uploads and URL imports
// become killed, queued uploads keep waiting, and image directories without a record go.
//
// # Caveats
//
// Without prlimit (util-linux) on the PATH, qemu-img runs with a timeout but without rlimits.
// A conversion (and an OVA) needs room for the received file and its converted copy at once.
// Names are unique per project only, so a name may match two public images, or two accepted
// shares, of other projects; such a lookup fails with a conflict and the caller must use the ID.
// Public images that members made before publicizing was the admins' stay public until an admin
// deletes them. The byte quota counts disks: the kernel and initrd of an admin's file import only
// while it imports. An OVA holds its tar's reservation while its disks are unpacked and charged,
// so it needs room for both. OVA manifests (.mf) and certificates are skipped, not verified.
//
// # Reading the source
//
//	image.go        the Image record, statuses, formats, sources, the catalog kind
//	errors.go       the sentinels and their fault kinds
//	service.go      Options, New, Close, Get, List, Delete, BootFiles and the visibility rules
//	records.go      catalog writes: create, modify in one transaction, events
//	request.go      CreateRequest, ImportFileRequest and their validation
//	import.go       ImportFile: the steps and their undo; kill for uploads and URL imports
//	upload.go       Create and Upload
//	urlimport.go    ImportURL and its background half
//	fetch.go        the HTTP client: redirects, retries, resume, timeouts
//	dial.go         which addresses a URL import may connect to
//	receive.go      the sink: a temporary file that hashes, caps and reports progress
//	files.go        host sources, staging, installing, directory syncs
//	importdir.go    the import directory: opening a named file beneath it, never through a symlink
//	limits.go       ImportOptions: the import directory, URL import ports and ranges, the minimum rate
//	process.go      inspect, qemu-img info, convert, activate; OVA disks as more images
//	ova.go, ovf.go  reading an OVA's tar stream and its OVF descriptor
//	inspect*.go     the header checks, in Go, before qemu-img sees a file; signature.go: polyglots, ISO, VDI
//	qemuimg.go      running qemu-img info and convert under limits and checking what they report
//	pace.go         the minimum rate of uploads and downloads
//	flights.go      the imports in flight, for Delete to cancel
//	members.go      sharing with other projects: members, their statuses, the recipient's answer
//	download.go     opening an active image's disk for download
//	inuse.go        Delete's in-use check: the catalog's holds on the image, and its seal
//	reconcile.go    the start-up sweep of interrupted imports and deletes
//	quota.go        the Quota interface, Usage, and the byte quota: reservations, the sink's holdFor, settleBytes
package images
