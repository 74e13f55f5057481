package store

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"runtime/debug"
	"syscall"
	"time"

	"go.etcd.io/bbolt"
	bberrors "go.etcd.io/bbolt/errors"
)

// openAttempts bounds the retries when the file is replaced (by Restore) while Open waits for it.
const openAttempts = 3

// openWith is Open with an explicit migration list, so tests can bring their own.
func openWith(path string, opts Options, migs []migration) (*DB, error) {
	if err := validMigrations(migs); err != nil {
		return nil, fmt.Errorf("open catalog %s: %w", path, err)
	}
	if opts.LockTimeout <= 0 {
		opts.LockTimeout = DefaultLockTimeout
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	for attempt := 1; ; attempt++ {
		bdb, err := openBolt(path, opts)
		if errors.Is(err, errReplaced) && attempt < openAttempts {
			continue
		}
		if err != nil {
			return nil, describeOpenErr(path, err)
		}
		db := &DB{bolt: bdb, path: path, now: opts.Now, readOnly: opts.ReadOnly, latest: len(migs),
			observe: opts.ObserveWrite}
		if err := db.prepare(migs); err != nil {
			bdb.Close()
			return nil, fmt.Errorf("open catalog %s: %w", path, err)
		}
		return db, nil
	}
}

var (
	errEmpty    = errors.New("file is empty (a crash while it was created, or truncated): remove it to start a new catalog, or restore a backup")
	errReplaced = errors.New("file was replaced while waiting for its lock")
)

// openBolt opens and locks the file with bbolt. A fault or panic inside bbolt (a damaged file
// can point it outside the mapping) becomes an error, and the file is closed so its lock goes.
func openBolt(path string, opts Options) (*bbolt.DB, error) {
	o := &fileOpener{}
	bopts := &bbolt.Options{Timeout: opts.LockTimeout, ReadOnly: opts.ReadOnly, OpenFile: o.open}
	var bdb *bbolt.DB
	err := guard(func() error {
		var err error
		bdb, err = bbolt.Open(path, 0o600, bopts)
		return err
	})
	var pe *panicError
	if errors.As(err, &pe) && o.file != nil {
		o.abandon()
	}
	if err != nil {
		return nil, err
	}
	if !o.stillAt(path) {
		bdb.Close()
		return nil, errReplaced
	}
	return bdb, nil
}

// fileOpener is bbolt's OpenFile hook: it creates the file only when it does not exist
// (O_EXCL, so nothing is ever recreated) and refuses an existing empty file, which bbolt
// would otherwise silently initialise as a new database.
type fileOpener struct {
	file *os.File // the first file opened: the database itself
}

func (o *fileOpener) open(name string, flag int, perm os.FileMode) (*os.File, error) {
	if o.file != nil { // a later open by bbolt (WriteTo with WriteFlag), not the database itself
		return os.OpenFile(name, flag, perm)
	}
	f, err := os.OpenFile(name, flag&^os.O_CREATE, perm)
	if errors.Is(err, fs.ErrNotExist) && flag&os.O_CREATE != 0 {
		if f, err = os.OpenFile(name, flag|os.O_EXCL, perm); err == nil {
			o.file = f
			return f, nil
		}
	}
	if err != nil {
		return nil, err
	}
	if fi, err := f.Stat(); err != nil || fi.Size() == 0 {
		f.Close()
		return nil, errors.Join(errEmpty, err)
	}
	o.file = f
	return f, nil
}

// abandon releases the file after bbolt panicked inside Open. bbolt's mapping of the file is out
// of reach and keeps the open file description, with its lock, alive, so unlock explicitly.
func (o *fileOpener) abandon() {
	syscall.Flock(int(o.file.Fd()), syscall.LOCK_UN)
	o.file.Close()
}

// stillAt reports whether path still names the file that was opened and locked.
func (o *fileOpener) stillAt(path string) bool {
	a, err1 := o.file.Stat()
	b, err2 := os.Stat(path)
	return err1 == nil && err2 == nil && os.SameFile(a, b)
}

// describeOpenErr turns an error from bbolt.Open into one that says what to do.
func describeOpenErr(path string, err error) error {
	var errno syscall.Errno
	var pathErr *fs.PathError
	switch {
	case errors.Is(err, bberrors.ErrTimeout):
		return fmt.Errorf("open catalog %s: %w (is another cloudlet daemon running on this data dir?)", path, ErrLocked)
	case errors.Is(err, errReplaced):
		return fmt.Errorf("open catalog %s: %w", path, err)
	case errors.Is(err, errEmpty):
		return fmt.Errorf("open catalog %s: %w: %v", path, ErrCorrupt, err)
	case errors.Is(err, bberrors.ErrInvalid), errors.Is(err, bberrors.ErrVersionMismatch):
		return fmt.Errorf("open catalog %s: %w: not a cloudlet catalog, or its header is damaged: %v", path, ErrCorrupt, err)
	case errors.As(err, &pathErr), errors.As(err, &errno):
		return fmt.Errorf("open catalog %s: %w", path, err) // the OS refused: permissions, missing directory, I/O
	}
	return fmt.Errorf("open catalog %s: %w: %v", path, ErrCorrupt, err)
}

// prepare vets a freshly opened file and brings its schema up to date: refuse foreign and newer
// catalogs before writing anything, check the file before migrating it, then check the records.
func (db *DB) prepare(migs []migration) error {
	version, err := db.inspect()
	if err != nil {
		return err
	}
	if version > db.latest {
		return fmt.Errorf("%w: the catalog has schema version %d, this cloudlet knows versions up to %d; upgrade cloudlet",
			ErrNewerSchema, version, db.latest)
	}
	if err := db.check(checkPlan{structure: true}); err != nil {
		return err
	}
	if !db.readOnly && version < db.latest {
		if err := db.migrate(version, migs); err != nil {
			return err
		}
		db.created = version == 0
	}
	return db.check(checkPlan{invariants: true})
}

// inspect returns the schema version and rejects files that are bbolt databases but not catalogs.
func (db *DB) inspect() (int, error) {
	var version int
	err := guard(func() error {
		return db.bolt.View(func(tx *bbolt.Tx) error {
			var err error
			if version, err = readVersion(tx); err != nil || version > 0 {
				return err
			}
			if k, _ := tx.Cursor().First(); k != nil {
				return faultf(ErrCorrupt, "not a cloudlet catalog: a bbolt database with buckets but no schema version")
			}
			if db.readOnly {
				return faultf(ErrCorrupt, "not a cloudlet catalog: an empty bbolt database")
			}
			return nil
		})
	})
	var pe *panicError
	if errors.As(err, &pe) {
		return 0, fmt.Errorf("%w: %v", ErrCorrupt, err)
	}
	return version, err
}

// panicError is a panic (or memory fault) inside bbolt, turned into an error.
type panicError struct{ value any }

func (e *panicError) Error() string { return fmt.Sprintf("bbolt panicked: %v", e.value) }

// guard runs fn and turns a panic into a *panicError. It also makes memory faults panic instead of
// crashing the process: reading a truncated or damaged file through bbolt's mmap can touch pages
// past the end of the file (SIGBUS) or outside the mapping (SIGSEGV).
func guard(fn func() error) (err error) {
	defer debug.SetPanicOnFault(debug.SetPanicOnFault(true))
	defer func() {
		if r := recover(); r != nil {
			err = &panicError{value: r}
		}
	}()
	return fn()
}
