package store

import (
	"bytes"
	"crypto/rand"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"go.etcd.io/bbolt"
)

// writeCatalog builds a real catalog with some records and returns its path.
func writeCatalog(t *testing.T, dir string) string {
	t.Helper()
	path := filepath.Join(dir, "catalog.db")
	db, err := Open(path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	for i := range 200 {
		mustUpdate(t, db, func(tx *Tx) error {
			rec := &instance{Meta: Meta{ProjectID: "p1"}, Flavor: strings.Repeat("x", 200)}
			if i%2 == 0 {
				rec.Name = "vm-" + string(rune('a'+i%26)) + string(rune('a'+i/26))
			}
			return instanceKind().Create(tx, rec)
		})
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestOpenRejectsDamagedFiles(t *testing.T) {
	tests := []struct {
		name    string
		make    func(t *testing.T, path string)
		wantMsg string
	}{
		{"random bytes", func(t *testing.T, path string) {
			writeBytes(t, path, randomBytes(64<<10))
		}, "not a cloudlet catalog"},
		{"text file", func(t *testing.T, path string) {
			writeBytes(t, path, []byte("hello, I am a text file\n"))
		}, "catalog corrupt"},
		{"empty file", func(t *testing.T, path string) {
			writeBytes(t, path, nil)
		}, "file is empty"},
		{"foreign bbolt database", func(t *testing.T, path string) {
			bdb, err := bbolt.Open(path, 0o600, nil)
			if err != nil {
				t.Fatal(err)
			}
			bdb.Update(func(tx *bbolt.Tx) error { _, err := tx.CreateBucket([]byte("widgets")); return err })
			bdb.Close()
		}, "not a cloudlet catalog: a bbolt database with buckets but no schema version"},
		{"truncated catalog", func(t *testing.T, path string) {
			src := readFile(t, writeCatalog(t, t.TempDir()))
			writeBytes(t, path, src[:len(src)/2])
		}, "catalog corrupt"},
		{"bad schema version", func(t *testing.T, path string) {
			writeBytes(t, path, readFile(t, writeCatalog(t, t.TempDir())))
			bdb, _ := bbolt.Open(path, 0o600, nil)
			bdb.Update(func(tx *bbolt.Tx) error {
				return tx.Bucket([]byte(bucketMeta)).Put([]byte(keySchemaVersion), []byte("seven"))
			})
			bdb.Close()
		}, `bad schema version "seven"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "catalog.db")
			tt.make(t, path)
			before := readFile(t, path)
			for _, readOnly := range []bool{false, true} {
				db, err := Open(path, Options{ReadOnly: readOnly})
				if err == nil {
					db.Close()
					t.Fatalf("Open (read-only %v) succeeded", readOnly)
				}
				if !errors.Is(err, ErrCorrupt) || !strings.Contains(err.Error(), tt.wantMsg) {
					t.Errorf("Open (read-only %v): %v; want ErrCorrupt mentioning %q", readOnly, err, tt.wantMsg)
				}
			}
			if !bytes.Equal(before, readFile(t, path)) {
				t.Error("Open changed a file it refused")
			}
			assertUnlocked(t, path)
		})
	}
}

// TestOpenZeroedPages zeroes each page of a real catalog in turn. Open must never crash; it either
// refuses the file with ErrCorrupt, leaving it untouched, or finds the page unused and opens a
// catalog that passes Check.
func TestOpenZeroedPages(t *testing.T) {
	orig := readFile(t, writeCatalog(t, t.TempDir()))
	const pageSize = 4096
	refused := 0
	for page := 0; page < len(orig)/pageSize; page++ {
		damaged := bytes.Clone(orig)
		clear(damaged[page*pageSize : (page+1)*pageSize])
		path := filepath.Join(t.TempDir(), "catalog.db")
		writeBytes(t, path, damaged)

		db, err := Open(path, Options{})
		switch {
		case err == nil:
			if err := db.Check(); err != nil {
				t.Errorf("page %d zeroed: Open succeeded but Check fails: %v", page, err)
			}
			db.Close()
		case errors.Is(err, ErrCorrupt):
			refused++
			if !bytes.Equal(damaged, readFile(t, path)) {
				t.Errorf("page %d zeroed: Open changed a file it refused", page)
			}
			assertUnlocked(t, path)
		default:
			t.Errorf("page %d zeroed: Open: %v, want success or ErrCorrupt", page, err)
		}
	}
	if refused == 0 {
		t.Error("no zeroed page made Open fail")
	}
	t.Logf("%d pages, %d zeroed pages refused", len(orig)/pageSize, refused)
}

// TestOpenTruncated cuts a real catalog at every page boundary below the size its header claims.
// Reading such a file through bbolt's mmap touches pages past the end of the file (SIGBUS), which
// must become ErrCorrupt, never a crash.
func TestOpenTruncated(t *testing.T) {
	orig := readFile(t, writeCatalog(t, t.TempDir()))
	const pageSize = 4096
	for size := 0; size < len(orig); size += pageSize {
		path := filepath.Join(t.TempDir(), "catalog.db")
		writeBytes(t, path, orig[:size])
		db, err := Open(path, Options{})
		if err == nil {
			if err := db.Check(); err != nil {
				t.Errorf("cut at %d bytes: Open succeeded but Check fails: %v", size, err)
			}
			db.Close()
			continue
		}
		if !errors.Is(err, ErrCorrupt) {
			t.Errorf("cut at %d bytes: Open: %v, want success or ErrCorrupt", size, err)
		}
		if !bytes.Equal(orig[:size], readFile(t, path)) {
			t.Errorf("cut at %d bytes: Open changed a file it refused", size)
		}
		assertUnlocked(t, path)
	}
}

func TestOpenMissingDirectory(t *testing.T) {
	path := filepath.Join(t.TempDir(), "no", "such", "dir", "catalog.db")
	_, err := Open(path, Options{})
	if err == nil || errors.Is(err, ErrCorrupt) || !errors.Is(err, os.ErrNotExist) {
		t.Errorf("Open in a missing directory: %v; want a not-exist error, not ErrCorrupt", err)
	}
	if _, err := Open(filepath.Join(t.TempDir(), "catalog.db"), Options{ReadOnly: true}); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("read-only Open of a missing catalog: %v; want a not-exist error", err)
	}
}

// assertUnlocked fails the test when a refused Open left the file locked.
func assertUnlocked(t *testing.T, path string) {
	t.Helper()
	unlock, err := lockFile(path)
	if err != nil {
		t.Errorf("a refused Open left %s locked: %v", path, err)
		return
	}
	unlock()
}

func writeBytes(t *testing.T, path string, b []byte) {
	t.Helper()
	if err := os.WriteFile(path, b, 0o600); err != nil {
		t.Fatal(err)
	}
}

func randomBytes(n int) []byte {
	b := make([]byte, n)
	rand.Read(b)
	return b
}
