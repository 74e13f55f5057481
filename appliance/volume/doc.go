// Package volume is cloudlet's block storage service (Cinder's job): directory pools, qcow2 volumes,
// external snapshots, attachment bookkeeping, QoS limits and ownership transfers. It owns the
// catalog's pools (global), volumes and snapshots (per project) buckets and the files under each
// pool's directory.
//
// It imports store, appliance/fault and the standard library, nothing else: never images, compute,
// web or qemu. It never talks to QEMU, and it never calls compute: images reach it through
// [ImageSource] (wired in appliance); compute calls [Service.Reserve], [Service.Attached],
// [Service.Detached] and [Service.DiskFor] around its hotplug. A disk change that a running QEMU
// may have to make (extend, QoS, snapshot, flatten) is split into steps its caller drives: the API
// layer begins it here, has compute do the live step (block_resize, block_set_io_throttle,
// block-stream, blockdev-snapshot) when the volume's instance runs or the file step here when no
// QEMU holds the file, and ends it here ([Service.BeginExtend], [Service.ResizeFile],
// [Service.EndExtend]; [Service.BeginSnapshot], [Service.MakeOverlay], [Service.EndSnapshot];
// [Service.SetQoS]).
//
// # Files
//
//	<pool>/                               0711 (QEMU's user traverses it), made by CreatePool
//	<pool>/<volume-id>/                   0700, owned by Options.Owner
//	<pool>/<volume-id>/active.qcow2              0600, a new volume's first active file
//	<pool>/<volume-id>/active-<snap-id>.qcow2    0600, the active file snapshot <snap-id> made
//	<pool>/<volume-id>/<file>.tmp                a file being written, renamed to <file> before use
//
// A file keeps its name for life: QEMU remembers the names of the files it opened (and reopens
// nodes by them, e.g. for block-stream), so no file QEMU may hold is ever renamed. A snapshot does
// not move the active file: it becomes the snapshot's file where it is (Snapshot.Path is the
// volume's Path of that moment) and the new overlay, active-<snap-id>.qcow2, becomes Volume.Path.
// Which file is active and which are snapshots is only in the records; nothing infers it from a
// name. Catalogs from before this layout (a fixed active.qcow2, snapshots renamed to
// snap-<id>.qcow2) keep working: records carry absolute paths.
//
// A volume's chain is its active file, its snapshots below it, and at the bottom maybe another
// volume's snapshot or an image's disk. Headers name the volume's own files by relative name
// and anything outside its directory by absolute path; every qemu-img call
// names each format (-f, -F) and gets only absolute paths or those relative names, never a user
// string. The records mirror the headers: Backing, BackingFormat, Depth (files below) and
// BaseImageID (the image at the bottom). A volume and a snapshot hold that image in the catalog
// (store's holds, written with the record; a volume being copied from an image holds it too), so
// the image service refuses to delete it without asking this service (see holds.go).
//
// # Operations, and how they survive a crash
//
// Every operation records its intent in the catalog before it touches a file: a new volume is
// written in status creating; a file operation on an existing volume sets its Task (snapshot,
// revert, merge, extend, copy), which also refuses a second operation (409 busy) and, on an
// available volume, shows maintenance (or extending) so nothing attaches it meanwhile. Files are
// written under temporary names (<final>.tmp) and renamed into place before anything opens them. The end of the operation and its events are one
// transaction. New runs reconcile first: creating volumes lose their files and records, deleting
// ones finish, snapshots roll forward once their new active file exists and back otherwise, snapshot
// deletes finish (a rebase run twice changes nothing), other tasks end with the record read back
// from the active file, and *.tmp files go. Directories in a pool that no record names are
// reported, not removed (a catalog restored from an older backup would otherwise lose data).
//
// # Design choices
//
//   - Volumes from an image or a snapshot are qcow2 overlays (O(1) whatever the size) unless
//     full_copy asks for qemu-img convert. Size defaults to the source's; smaller is a 400.
//   - A clone of a volume is an overlay on a new snapshot of it (named clone-<8 characters of the
//     clone's ID; the source may be in use: the API's clone then takes the snapshot live through
//     compute and makes the volume from it; [Service.Create] itself clones only a free volume), so the clone is O(1) and
//     the source keeps a snapshot it cannot delete while the clone lives. A full-copy clone copies
//     the source's whole chain and needs the source available (maintenance during the copy).
//   - Snapshots are external: the active file stays and becomes the snapshot; a new overlay,
//     active-<id>.qcow2, is written, renamed into place, and becomes the active file. For an in-use
//     volume compute then switches QEMU to it; both paths end in the same layout.
//   - Deleting a snapshot merges it out: the files on top of it are rebased (qemu-img rebase) onto
//     its backing file. Refused (409) while it is in the chain of an in-use or reserved volume, or
//     while another volume is based on it.
//   - Chains hold at most Options.MaxChain (8) files under the active one. A snapshot that would
//     exceed it flattens the volume first (its active file stands alone; older snapshots keep their
//     chains): through compute (block-stream) when its instance runs, otherwise by replacing
//     the active file with a standalone copy of its chain (no QEMU holds it then).
//   - Revert needs an available volume; snapshots newer than the target stay, on their branch.
//   - Extend, QoS and snapshots of in-use volumes do their disk step in compute; when compute
//     answers that the instance is not running, the caller runs this service's file step instead.
//   - A transfer moves the volume and its snapshots whole: refused when another volume is based on
//     one of its snapshots or it is based on another volume's snapshot. The auth key is shown once,
//     stored as SHA-256, compared in constant time.
//   - Space: a full copy or a fully preallocated volume is refused with 507 when the pool's
//     filesystem lacks the room (plus a 256 MiB margin). Preallocation applies to standalone files
//     only: qcow2 refuses it with a backing file.
//
// # Caveats
//
// Compute addresses nodes by node name (a live snapshot adds nodes above the one plugged). A
// snapshot cut short by a crash after its overlay was put in place, on an in-use volume, is kept
// in error: QEMU may have written to its file until its next start. Pool directories stay when a pool is deleted. Volume and snapshot deletes, rebases
// and copies run under Options.CopyTimeout; qemu-img's own locks stop it from writing a file a
// running QEMU holds.
//
// # Reading the source
//
//	service.go    Options, ImageSource, ImageFile, Service, New
//	errors.go     the sentinels and their fault kinds
//	pool.go       Pool, CreatePool, EnsureDefaultPool, SetDefaultPool, DeletePool; capacity.go: statfs and usage
//	volume.go     Volume, statuses, Get, List, SetBootable, the one record-change helper and events
//	task.go       tasks: the intent of a file operation, begin and end
//	create.go     Create, clones, rollback; plan.go: sources, sizes, space
//	snapshot.go   Snapshot, BeginSnapshot, MakeOverlay, EndSnapshot and the settlement; revert.go: Revert; merge.go: DeleteSnapshot
//	delete.go     Delete; extend.go: BeginExtend, ResizeFile, EndExtend; qos.go: QoS, SetQoS; transfer.go: transfers
//	attach.go     Reserve, Attached, Unreserve, Detached, AttachedTo, Disk, DiskFor
//	chain.go      the chain graph, dependents; holds.go: the images volumes hold; resync.go: reading a record back from its file
//	files.go      paths, modes, owners, renames; qemuimg.go: running qemu-img
//	reconcile.go  the start-up sweep
//	quota.go      the Quota interface and Usage: volumes, snapshots and their GiB, counted in the intent transactions
package volume
