package store

import (
	"fmt"
	"time"

	"go.etcd.io/bbolt"
)

// DefaultLockTimeout is how long Open waits for another process to release the catalog.
const DefaultLockTimeout = 2 * time.Second

// Options tune Open. The zero value is what the daemon uses.
type Options struct {
	// LockTimeout bounds the wait for the file lock; 0 means DefaultLockTimeout.
	LockTimeout time.Duration
	// ReadOnly opens with a shared lock, applies no migrations and refuses writes.
	ReadOnly bool
	// Now is the clock stamped on records and events; nil means time.Now.
	Now func() time.Time
	// ObserveWrite is told of every Update (stats.go); nil: none.
	ObserveWrite WriteObserver
}

// DB is an open catalog. It is safe for concurrent use; bbolt runs one writer at a time.
type DB struct {
	bolt     *bbolt.DB
	path     string
	now      func() time.Time
	created  bool
	readOnly bool
	latest   int // the newest schema version this binary knows
	events   eventSignal
	observe  WriteObserver // nil: Updates are not reported
}

// Open opens the catalog at path, creating it (mode 0600) if it does not exist.
//
// It waits at most opts.LockTimeout for another process to release the file and then fails with
// ErrLocked. It refuses a catalog written by a newer cloudlet (ErrNewerSchema) without writing to
// it, applies pending migrations in order, each in its own transaction, and runs the consistency
// check (ErrCorrupt). It never recreates, truncates or re-initialises an existing file: an empty
// or foreign file is reported, not overwritten. fsync stays on.
func Open(path string, opts Options) (*DB, error) {
	return openWith(path, opts, migrations())
}

// Close releases the catalog and its file lock.
func (db *DB) Close() error {
	if err := db.bolt.Close(); err != nil {
		return fmt.Errorf("close catalog %s: %w", db.path, err)
	}
	return nil
}

// Path returns the catalog's file name.
func (db *DB) Path() string { return db.path }

// Created reports whether this Open started a brand-new catalog (schema version 0 before the
// migrations ran): the daemon's first start, when it creates its defaults. A crash between the
// first migration and the defaults makes the next start see false, so create defaults idempotently.
func (db *DB) Created() bool { return db.created }

// SchemaVersion returns the catalog's schema version.
func (db *DB) SchemaVersion() (int, error) {
	var v int
	err := db.bolt.View(func(tx *bbolt.Tx) error {
		var err error
		v, err = readVersion(tx)
		return err
	})
	if err != nil {
		return 0, fmt.Errorf("read schema version of %s: %w", db.path, err)
	}
	return v, nil
}

// Update runs fn in a read-write transaction, committed when fn returns nil and rolled back
// otherwise. fn's error is returned unchanged.
func (db *DB) Update(fn func(*Tx) error) (err error) {
	start := time.Now()
	defer func() { db.observeWrite(start, err) }()
	var tx *Tx
	err = db.bolt.Update(func(btx *bbolt.Tx) error {
		tx = db.wrap(btx)
		return fn(tx)
	})
	if err == nil && tx != nil && tx.appended {
		db.events.fire()
	}
	return err
}

// View runs fn in a read-only transaction. fn's error is returned unchanged.
func (db *DB) View(fn func(*Tx) error) error {
	return db.bolt.View(func(btx *bbolt.Tx) error {
		return fn(db.wrap(btx))
	})
}

func (db *DB) wrap(btx *bbolt.Tx) *Tx {
	return &Tx{btx: btx, now: db.now().UTC()}
}

// Tx is a transaction. It is only valid inside the Update or View closure that received it.
type Tx struct {
	btx      *bbolt.Tx
	now      time.Time // read once, so every record written in one transaction has the same time
	appended bool      // an event was appended: readers are woken once the transaction commits
}

// Now returns the transaction's time (UTC), taken from the DB's clock when the transaction began.
func (tx *Tx) Now() time.Time { return tx.now }

// Writable reports whether tx may write.
func (tx *Tx) Writable() bool { return tx.btx.Writable() }
