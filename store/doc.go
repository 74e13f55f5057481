// Package store owns cloudlet's catalog: the one embedded bbolt file that holds the whole state of
// the cloud (instances, flavors, images, volumes, networks, identity, quotas, audit, events).
//
// It is the only package in the project that imports bbolt, and it must not import anything from
// the project: services build on it, never the other way round.
//
// # What it provides
//
//   - [Open] and [DB.Close]: one daemon per catalog, enforced with a file lock ([ErrLocked]);
//     schema migrations applied in order at open ([ErrNewerSchema] when the catalog is newer than
//     this binary); a consistency check at open and on demand ([DB.Check], [ErrCorrupt]).
//   - [DB.Update] and [DB.View]: closure transactions carrying an injected clock ([Tx.Now]).
//   - [Kind]: a typed table of records with unique names ([ScopeProject] or [ScopeGlobal]),
//     optimistic concurrency through [Meta.Revision], and a per-project index.
//   - [Kind.Holding], [Holders], [Seal], [Kind.SyncHolds]: records that hold records of another
//     kind (a volume its image), kept in the transaction that writes the holder, so the held
//     record's owner can refuse its delete, and forbid new holds, in one transaction of its own.
//   - [AppendEvent], [DB.EventsSince], [PruneEvents]: an append-only event log.
//   - [DB.Backup], [DB.BackupToFile] (online) and [Restore] (offline).
//   - [ValidateName] (the one name validator of cloudlet) and [NewID].
//
// # Encoding
//
// Records have exactly one encoding: a JSON object, stored under key = record ID in the
// "records" sub-bucket of the kind's top-level bucket. Every record type embeds [Meta] anonymously
// and without a json tag, so id, name, project_id, created_at, updated_at and revision are
// top-level fields of that object.
//
// # Layout
//
//	meta/                     schema_version → decimal string
//	events/                   8-byte big-endian seq → JSON Event
//	<kind>/records/           id → JSON record
//	<kind>/names/             scopeKey + "\x00" + name → id   (scopeKey: project ID, or "" for global kinds)
//	<kind>/projects/          projectID + "\x00" + id → empty
//	holds/by_holder/          holderBucket, holderID, heldBucket, heldID (NUL-separated) → empty
//	holds/by_held/            heldBucket, heldID, holderBucket, holderID → JSON {name, project_id}
//	holds/sealed/             heldBucket + "\x00" + heldID → empty   (migration 2)
//
// The kinds are listed by [Buckets]; migration 1 creates them all. Whether a kind's names are unique
// per project or across the catalog is part of the layout (see [Scope]) and changes only with a
// migration.
//
// # Caveats
//
// The consistency check reads the whole file: it runs at every open and takes time proportional to
// the catalog's size. bbolt allows one writer at a time; keep write transactions short, and never
// call QEMU or the network inside one. A damaged file can make bbolt fault or panic; store turns
// that into ErrCorrupt at open and in Check (it reads every page itself first, with faults made
// recoverable), but a record read through a Kind is trusted once the catalog has passed the check.
// Restore holds the catalog's lock only when a catalog file exists already.
//
// # Reading the source
//
//	store.go     DB, Options, Tx, Open, Close, Update, View
//	open.go      opening the file: lock, no re-initialisation, faults as errors, schema gate
//	migrate.go   the migration list and how it is applied
//	buckets.go   bucket names, their scopes, the sub-bucket layout
//	record.go    Meta, Record, Scope, index keys, the JSON encoding
//	kind.go      Kind: reads (Get, Lookup, List, ForEach, Count)
//	kind_write.go Kind: writes (Create, Update, Delete) and index maintenance
//	check.go     Check and the structural pass; invariants.go: store's own rules
//	events.go    the event log
//	holds.go     holds between records of different kinds, seals
//	backup.go    Backup, BackupToFile; restore.go: Restore
//	names.go     ValidateName; id.go: NewID, IsID; errors.go: the sentinels
package store
