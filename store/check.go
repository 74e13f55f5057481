package store

import (
	"errors"
	"fmt"
	"hash/crc32"
	"os"
	"strings"

	"go.etcd.io/bbolt"
)

// Check verifies the catalog: bbolt's own structural check (pages, free list, key order), then
// store's invariants (every names index entry points at an existing record whose scope and name
// match; every named record is indexed; the projects index matches the records' owners; event keys
// match their sequence numbers). It fails with an error wrapping ErrCorrupt that lists the first
// few problems. On a writable catalog it holds the writer lock while it runs.
func (db *DB) Check() error {
	if err := db.check(checkPlan{writable: !db.readOnly, structure: true, invariants: true}); err != nil {
		return fmt.Errorf("check catalog %s: %w", db.path, err)
	}
	return nil
}

// maxProblems bounds how many problems an error lists.
const maxProblems = 8

// problems collects what a check found.
type problems struct {
	list []string
	n    int
}

func (p *problems) add(format string, args ...any) {
	p.n++
	if len(p.list) < maxProblems {
		p.list = append(p.list, fmt.Sprintf(format, args...))
	}
}

func (p *problems) err() error {
	if p.n == 0 {
		return nil
	}
	more := ""
	if p.n > len(p.list) {
		more = fmt.Sprintf("; and %d more", p.n-len(p.list))
	}
	return fmt.Errorf("%w: %d problem(s): %s%s", ErrCorrupt, p.n, strings.Join(p.list, "; "), more)
}

// checkPlan says what check does.
type checkPlan struct {
	// writable runs the check in a writable transaction. bbolt's checker needs one to run beside
	// writers; at open time, when nobody else can write yet, a read transaction is enough and
	// leaves no writer lock behind if a damaged file makes bbolt panic.
	writable   bool
	structure  bool // bbolt's pages, free list and key order
	invariants bool // store's records and indexes; skipped on a structurally damaged file
}

// check runs the checks of plan in one transaction.
func (db *DB) check(plan checkPlan) error {
	var p problems
	err := guard(func() error {
		tx, err := db.bolt.Begin(plan.writable)
		if err != nil {
			return err
		}
		defer tx.Rollback()
		if plan.structure {
			db.checkStructure(tx, &p)
		}
		if plan.invariants && p.n == 0 {
			db.checkInvariants(tx, &p)
		}
		return nil
	})
	var pe *panicError
	if errors.As(err, &pe) {
		p.add("reading the catalog failed: %v", pe)
	} else if err != nil {
		return err
	}
	return p.err()
}

// checkStructure finds damage below the level of records. It first makes sure every page the
// catalog claims lies inside the file, and reads every key and value itself (under guard), so
// bbolt's checker, which runs in a goroutine of its own, never faults on a damaged page.
func (db *DB) checkStructure(tx *bbolt.Tx, p *problems) {
	fi, err := os.Stat(db.path)
	if err != nil {
		p.add("stat: %v", err)
		return
	}
	if fi.Size() < tx.Size() {
		p.add("file is truncated: %d bytes, its header says %d", fi.Size(), tx.Size())
		return
	}
	if err := guard(func() error { readAll(tx); return nil }); err != nil {
		p.add("reading every record failed: %v", err)
		return
	}
	for err := range tx.Check() {
		p.add("bbolt: %v", err)
	}
}

// readAll touches every key and value in the file, so a damaged page faults here.
func readAll(tx *bbolt.Tx) uint32 {
	var sum uint32
	tx.ForEach(func(name []byte, b *bbolt.Bucket) error {
		sum = crc32.Update(sum, crc32.IEEETable, name)
		sum ^= readBucket(b)
		return nil
	})
	return sum
}

func readBucket(b *bbolt.Bucket) uint32 {
	var sum uint32
	c := b.Cursor()
	for k, v := c.First(); k != nil; k, v = c.Next() {
		sum = crc32.Update(sum, crc32.IEEETable, k)
		sum = crc32.Update(sum, crc32.IEEETable, v)
		if v == nil {
			if child := b.Bucket(k); child != nil {
				sum ^= readBucket(child)
			}
		}
	}
	return sum
}
