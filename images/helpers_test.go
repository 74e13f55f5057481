package images

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"cloudlet/appliance/fault"
	"cloudlet/internal/testkit"
	"cloudlet/store"
)

const (
	projectA = "project-a"
	projectB = "project-b"
)

// env is a service over a real catalog in a temp dir, with a qemu-img that logs its arguments
// before running the real one.
type env struct {
	t   *testing.T
	db  *store.DB
	svc *Service
	dir string // Options.Dir
	src string // where tests put source files: Options.ImportDir
	log string // one line per qemu-img invocation: its arguments
}

func newEnv(t *testing.T, opts ...func(*Options)) *env {
	t.Helper()
	if _, err := exec.LookPath("qemu-img"); err != nil {
		t.Fatalf("qemu-img is required: %v", err)
	}
	root := t.TempDir()
	e := &env{t: t, dir: filepath.Join(root, "images"), src: filepath.Join(root, "src"), log: filepath.Join(root, "qemu-img.log")}
	if err := os.Mkdir(e.src, 0o755); err != nil {
		t.Fatal(err)
	}
	wrapper := filepath.Join(root, "qemu-img")
	script := "#!/bin/sh\nprintf '%s\\n' \"$*\" >> " + e.log + "\nexec qemu-img \"$@\"\n"
	if err := os.WriteFile(wrapper, []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	db := testkit.Catalog(t, root, store.Options{})
	e.db = db
	o := Options{Dir: e.dir, Import: ImportOptions{Dir: e.src}, QemuImg: wrapper}
	for _, opt := range opts {
		opt(&o)
	}
	var err error
	e.svc, err = New(db, o)
	if err != nil {
		t.Fatal(err)
	}
	return e
}

func withCap(n int64) func(*Options) { return func(o *Options) { o.MaxVirtualSize = n } }

// qcow2 makes a qcow2 source file of the given virtual size with the real qemu-img, passing extra
// create options; it returns the file's path.
func (e *env) qcow2(name, size string, extra ...string) string {
	e.t.Helper()
	path := filepath.Join(e.src, name)
	args := append(append([]string{"create", "-q", "-f", "qcow2"}, extra...), path, size)
	if out, err := exec.Command("qemu-img", args...).CombinedOutput(); err != nil {
		e.t.Fatalf("qemu-img %v: %v\n%s", args, err, out)
	}
	return path
}

func (e *env) write(name string, data []byte) string {
	e.t.Helper()
	path := filepath.Join(e.src, name)
	if err := os.WriteFile(path, data, 0o644); err != nil {
		e.t.Fatal(err)
	}
	return path
}

// patch overwrites bytes of a file at off.
func (e *env) patch(path string, off int64, b []byte) {
	e.t.Helper()
	f, err := os.OpenFile(path, os.O_WRONLY, 0)
	if err != nil {
		e.t.Fatal(err)
	}
	defer f.Close()
	if _, err := f.WriteAt(b, off); err != nil {
		e.t.Fatal(err)
	}
}

// orByte sets bits in the byte of a file at off.
func (e *env) orByte(path string, off int64, bits byte) {
	e.t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		e.t.Fatal(err)
	}
	e.patch(path, off, []byte{data[off] | bits})
}

func (e *env) request(name, path, format string) ImportFileRequest {
	return ImportFileRequest{ProjectID: projectA, Name: name, Path: path, DiskFormat: format}
}

func (e *env) mustImport(r ImportFileRequest) *Image {
	e.t.Helper()
	img, err := e.svc.ImportFile(context.Background(), r)
	if err != nil {
		e.t.Fatalf("ImportFile(%s): %v", r.Name, err)
	}
	return img
}

// records returns every image record in the catalog.
func (e *env) records() []*Image {
	e.t.Helper()
	var all []*Image
	err := e.db.View(func(tx *store.Tx) error {
		return imageRecords.ForEach(tx, func(img *Image) error { all = append(all, img); return nil })
	})
	if err != nil {
		e.t.Fatal(err)
	}
	return all
}

// dirEntries lists Options.Dir recursively, as paths relative to it.
func (e *env) dirEntries() []string {
	e.t.Helper()
	var out []string
	err := filepath.WalkDir(e.dir, func(p string, d os.DirEntry, err error) error {
		if err != nil || p == e.dir {
			return err
		}
		rel, _ := filepath.Rel(e.dir, p)
		out = append(out, rel)
		return nil
	})
	if err != nil {
		e.t.Fatal(err)
	}
	slices.Sort(out)
	return out
}

// assertNothingLeft checks that a failed import left no record and no file.
func (e *env) assertNothingLeft() {
	e.t.Helper()
	if recs := e.records(); len(recs) != 0 {
		e.t.Errorf("catalog has %d image records, want none: first %+v", len(recs), *recs[0])
	}
	if ents := e.dirEntries(); len(ents) != 0 {
		e.t.Errorf("image dir has %v, want nothing", ents)
	}
}

// qemuImgCalls returns the argument lines qemu-img was run with.
func (e *env) qemuImgCalls() []string {
	e.t.Helper()
	data, err := os.ReadFile(e.log)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		e.t.Fatal(err)
	}
	return strings.Split(strings.TrimSuffix(string(data), "\n"), "\n")
}

func sha256File(t *testing.T, path string) string {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(data)
	return hex.EncodeToString(sum[:])
}

// checkErr checks that err matches want under errors.Is, has kind, and mentions every part of msg.
func checkErr(t *testing.T, err, want error, kind fault.Kind, msg ...string) {
	t.Helper()
	if err == nil {
		t.Fatalf("got no error, want %v", want)
	}
	if want != nil && !errors.Is(err, want) {
		t.Errorf("error %q does not match %v", err, want)
	}
	if got := fault.KindOf(err); got != kind {
		t.Errorf("error %q has kind %q, want %q", err, got, kind)
	}
	for _, m := range msg {
		if !strings.Contains(err.Error(), m) {
			t.Errorf("error %q does not mention %q", err, m)
		}
	}
}

// containsFileWith reports whether any file under dir contains needle.
func containsFileWith(t *testing.T, dir string, needle []byte) bool {
	t.Helper()
	found := false
	filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err == nil && d.Type().IsRegular() {
			if data, err := os.ReadFile(p); err == nil && bytes.Contains(data, needle) {
				found = true
			}
		}
		return nil
	})
	return found
}
