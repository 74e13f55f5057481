package images

import (
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"hash"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"time"

	"cloudlet/store"
)

// file returns the bytes of a source file.
func (e *env) read(path string) []byte {
	e.t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		e.t.Fatal(err)
	}
	return data
}

// convertTo makes a file in format from a fresh qcow2 of size with the real qemu-img; extra are
// -o options of the target.
func (e *env) convertTo(name, format, size string, extra ...string) string {
	e.t.Helper()
	src := e.qcow2(name+".src.qcow2", size)
	if out, err := exec.Command("qemu-io", "-f", "qcow2", "-c", "write -P 0x5a 0 64k", src).CombinedOutput(); err != nil {
		e.t.Fatalf("qemu-io: %v\n%s", err, out)
	}
	path := filepath.Join(e.src, name)
	args := append([]string{"convert", "-q", "-f", "qcow2", "-O", format}, extra...)
	args = append(args, src, path)
	if out, err := exec.Command("qemu-img", args...).CombinedOutput(); err != nil {
		e.t.Fatalf("qemu-img %v: %v\n%s", args, err, out)
	}
	return path
}

// qcow2CutInData makes a qcow2 of 4 MiB with its first MiB written (by qemu-io), cut to 512 KiB:
// its header and its L1 and refcount tables are whole, its L2 table and data clusters are not.
func (e *env) qcow2CutInData(name string) string {
	e.t.Helper()
	whole := e.qcow2(name+".whole", "4M")
	if out, err := exec.Command("qemu-io", "-f", "qcow2", "-c", "write -P 0x5a 0 1M", whole).CombinedOutput(); err != nil {
		e.t.Fatalf("qemu-io: %v\n%s", err, out)
	}
	return e.write(name, e.read(whole)[:512<<10])
}

// convertFile converts src (read as srcFormat) into a new file in format with the real qemu-img.
func (e *env) convertFile(src, srcFormat, name, format string, extra ...string) string {
	e.t.Helper()
	path := filepath.Join(e.src, name)
	args := append([]string{"convert", "-q", "-f", srcFormat, "-O", format}, extra...)
	args = append(args, src, path)
	if out, err := exec.Command("qemu-img", args...).CombinedOutput(); err != nil {
		e.t.Fatalf("qemu-img %v: %v\n%s", args, err, out)
	}
	return path
}

// create records an image of projectA for upload.
func (e *env) create(name, format string) *Image {
	e.t.Helper()
	img, err := e.svc.Create(context.Background(), CreateRequest{ProjectID: projectA, Name: name, DiskFormat: format})
	if err != nil {
		e.t.Fatalf("Create(%s): %v", name, err)
	}
	return img
}

// upload creates an image and uploads data to it.
func (e *env) upload(name, format string, body io.Reader) (*Image, error) {
	e.t.Helper()
	e.create(name, format)
	return e.svc.Upload(context.Background(), projectA, name, body)
}

// get reads a record straight from the catalog.
func (e *env) get(id string) *Image {
	e.t.Helper()
	var img *Image
	err := e.db.View(func(tx *store.Tx) error {
		var err error
		img, err = imageRecords.Get(tx, id)
		return err
	})
	if err != nil {
		e.t.Fatalf("get image %s: %v", id, err)
	}
	return img
}

// byName finds projectA's record called name.
func (e *env) byName(name string) *Image {
	e.t.Helper()
	img, err := e.svc.Get(context.Background(), projectA, name)
	if err != nil {
		e.t.Fatalf("Get(%s): %v", name, err)
	}
	return img
}

// assertKilledClean checks that the only record left is name, killed with a fault mentioning
// msg, and that the image dir is empty.
func (e *env) assertKilledClean(name, msg string) {
	e.t.Helper()
	recs := e.records()
	if len(recs) != 1 || recs[0].Name != name {
		e.t.Fatalf("records %v, want only %s", names(recs), name)
	}
	img := recs[0]
	if img.Status != StatusKilled || !bytes.Contains([]byte(img.Fault), []byte(msg)) {
		e.t.Errorf("image %s is %s with fault %q, want killed with a fault mentioning %q", name, img.Status, img.Fault, msg)
	}
	if ents := e.dirEntries(); len(ents) != 0 {
		e.t.Errorf("image dir has %v, want nothing", ents)
	}
}

// waitSettled polls a record until it is active or killed.
func (e *env) waitSettled(id string) *Image {
	e.t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for time.Now().Before(deadline) {
		img := e.get(id)
		if img.Status == StatusActive || img.Status == StatusKilled {
			return img
		}
		time.Sleep(10 * time.Millisecond)
	}
	e.t.Fatalf("image %s did not settle: %+v", id, *e.get(id))
	return nil
}

// failingReader returns data, then err instead of EOF: a client cut off half-way.
type failingReader struct {
	r   io.Reader
	err error
}

func (f *failingReader) Read(p []byte) (int, error) {
	n, err := f.r.Read(p)
	if errors.Is(err, io.EOF) {
		return n, f.err
	}
	return n, err
}

// failingWriter fails every write after limit bytes with err, like a full disk.
type failingWriter struct {
	w     io.Writer
	limit int64
	err   error
}

func (f *failingWriter) Write(p []byte) (int, error) {
	if int64(len(p)) > f.limit {
		n, _ := f.w.Write(p[:f.limit])
		f.limit = 0
		return n, f.err
	}
	f.limit -= int64(len(p))
	return f.w.Write(p)
}

func sha256New() hash.Hash { return sha256.New() }
