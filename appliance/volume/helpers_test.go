package volume

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"

	"cloudlet/appliance/fault"
	"cloudlet/internal/testkit"
	"cloudlet/store"
)

const (
	proj  = "p1"
	other = "p2"
)

var ctx = context.Background()

// env is a volume service over a real catalog in t.TempDir(), real qemu-img, a qcow2 and a raw
// test image, and a fake Live.
type env struct {
	t    *testing.T
	dir  string
	db   *store.DB
	svc  *Service
	live *fakeLive
	o    Options
	pool *Pool
	img  ImageFile // qcow2, 1 GiB virtual, 0xab in its first 64 KiB
	raw  ImageFile // raw, 64 MiB
}

func newEnv(t *testing.T) *env {
	t.Helper()
	dir := t.TempDir()
	db := testkit.Catalog(t, dir, store.Options{})
	e := &env{t: t, dir: dir, db: db, live: &fakeLive{db: db}}
	e.img = ImageFile{ID: "img-id", Path: filepath.Join(dir, "images", "img", "disk"), Format: "qcow2", VirtualSize: 1 << 30}
	e.raw = ImageFile{ID: "raw-id", Path: filepath.Join(dir, "images", "raw", "disk"), Format: "raw", VirtualSize: 64 << 20}
	testkit.ImageRecord(t, db, e.img.ID, "img", proj)
	testkit.ImageRecord(t, db, e.raw.ID, "raw", proj)
	os.MkdirAll(filepath.Dir(e.img.Path), 0o700)
	os.MkdirAll(filepath.Dir(e.raw.Path), 0o700)
	run(t, "qemu-img", "create", "-q", "-f", "qcow2", e.img.Path, "1G")
	qemuIO(t, e.img.Path, "qcow2", "write -P 0xab 0 64k")
	run(t, "qemu-img", "create", "-q", "-f", "raw", e.raw.Path, "64M")
	qemuIO(t, e.raw.Path, "raw", "write -P 0xcd 0 64k")
	e.o = Options{
		DB: db, Log: slog.New(slog.NewTextHandler(io.Discard, nil)),
		Images: func(_ context.Context, projectID, ref string) (ImageFile, error) {
			switch ref {
			case "img", e.img.ID:
				return e.img, nil
			case "raw", e.raw.ID:
				return e.raw, nil
			}
			return ImageFile{}, fault.New(fault.NotFound, "image %s not found", ref)
		},
	}
	e.start()
	var err error
	e.pool, err = e.svc.EnsureDefaultPool(ctx, filepath.Join(dir, "pools", "default"))
	if err != nil {
		t.Fatal(err)
	}
	return e
}

// start (re)creates the service over the same catalog, as a daemon restart does.
func (e *env) start() {
	e.t.Helper()
	svc, err := New(e.o)
	if err != nil {
		e.t.Fatal(err)
	}
	e.svc = svc
}

// create makes a volume and fails the test on error.
func (e *env) create(r CreateRequest) *Volume {
	e.t.Helper()
	v, err := e.svc.Create(ctx, proj, r)
	if err != nil {
		e.t.Fatalf("create %+v: %v", r, err)
	}
	return v
}

func (e *env) snapshot(volume, name string) *Snapshot {
	e.t.Helper()
	sn, err := e.createSnapshot(proj, volume, name)
	if err != nil {
		e.t.Fatalf("snapshot %s: %v", volume, err)
	}
	return sn
}

func (e *env) get(idOrName string) *Volume {
	e.t.Helper()
	v, err := e.svc.Get(ctx, proj, idOrName)
	if err != nil {
		e.t.Fatal(err)
	}
	return v
}

// attach takes a volume through reserve and attached.
func (e *env) attach(volume, instance, device string) *Volume {
	e.t.Helper()
	v, err := e.svc.Reserve(ctx, proj, volume, instance)
	if err != nil {
		e.t.Fatal(err)
	}
	if v, err = e.svc.Attached(ctx, v.ID, device, false, false); err != nil {
		e.t.Fatal(err)
	}
	return v
}

// events returns the types of the events of one record, in order.
func (e *env) events(id string) []string {
	e.t.Helper()
	all, err := e.db.EventsSince(0, 0)
	if err != nil {
		e.t.Fatal(err)
	}
	var out []string
	for _, ev := range all {
		if ev.ID == id {
			out = append(out, ev.Type)
		}
	}
	return out
}

// wantKind fails unless err has fault kind k.
func wantKind(t *testing.T, err error, k fault.Kind) {
	t.Helper()
	if err == nil {
		t.Fatalf("got no error, want %q", k)
	}
	if got := fault.KindOf(err); got != k {
		t.Fatalf("got kind %q (%v), want %q", got, err, k)
	}
}

func run(t *testing.T, name string, args ...string) string {
	t.Helper()
	out, err := exec.Command(name, args...).CombinedOutput()
	if err != nil {
		t.Fatalf("%s %s: %v: %s", name, strings.Join(args, " "), err, out)
	}
	return string(out)
}

// qemuIO runs one qemu-io command on a file (a read with -P fails on a pattern mismatch).
func qemuIO(t *testing.T, path, format, cmd string) {
	t.Helper()
	run(t, "qemu-io", "-f", format, "-c", cmd, path)
}

// readsAs reports whether the first 64 KiB of a qcow2 file hold pattern.
func readsAs(path string, pattern string) bool {
	return reads(path, "read -P "+pattern+" 0 64k")
}

// reads reports whether a qemu-io read command (with -P, a pattern check) succeeds on a qcow2 file.
func reads(path, cmd string) bool {
	return exec.Command("qemu-io", "-f", "qcow2", "-c", cmd, path).Run() == nil
}

// layer is one file of a backing chain as qemu-img reports it.
type layer struct {
	Filename    string `json:"filename"`
	Format      string `json:"format"`
	VirtualSize int64  `json:"virtual-size"`
	ActualSize  int64  `json:"actual-size"`
	Backing     string `json:"full-backing-filename"`
	BackingFmt  string `json:"backing-filename-format"`
}

// chain returns the backing chain of a qcow2 file, top first.
func chain(t *testing.T, path string) []layer {
	t.Helper()
	out := run(t, "qemu-img", "info", "-U", "-f", "qcow2", "--output=json", "--backing-chain", path)
	var ls []layer
	if err := json.Unmarshal([]byte(out), &ls); err != nil {
		t.Fatalf("parse qemu-img info: %v: %s", err, out)
	}
	return ls
}

// files lists the names in a directory.
func files(t *testing.T, dir string) []string {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		t.Fatal(err)
	}
	var out []string
	for _, e := range entries {
		out = append(out, e.Name())
	}
	return out
}

// fakeLive records the calls compute would get and can be told to fail.
type fakeLive struct {
	mu    sync.Mutex // guards the fields below
	calls []string
	err   error // returned by every call when set
	// overlays are the overlay files Snapshot was given, with their header's backing file.
	overlays map[string]string
	// db is where Stream finds the volume's active file.
	db *store.DB
}

func (f *fakeLive) record(call string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls = append(f.calls, call)
	return f.err
}

func (f *fakeLive) Resize(_ context.Context, instanceID, volumeID string, bytes int64) error {
	return f.record(strings.Join([]string{"resize", instanceID, volumeID, itoa(bytes)}, " "))
}

func (f *fakeLive) Throttle(_ context.Context, instanceID, volumeID string, q QoS) error {
	return f.record(strings.Join([]string{"throttle", instanceID, volumeID, itoa(q.ReadIOPS), itoa(q.WriteIOPS), itoa(q.ReadBytesSec), itoa(q.WriteBytesSec)}, " "))
}

func (f *fakeLive) Snapshot(_ context.Context, instanceID, volumeID, overlay string) error {
	out, err := exec.Command("qemu-img", "info", "-U", "-f", "qcow2", "--output=json", overlay).Output()
	var info layer
	if err == nil {
		err = json.Unmarshal(out, &info)
	}
	f.mu.Lock()
	if f.overlays == nil {
		f.overlays = map[string]string{}
	}
	f.overlays[overlay] = info.Backing
	f.mu.Unlock()
	if err != nil {
		return err
	}
	return f.record(strings.Join([]string{"snapshot", instanceID, volumeID, overlay}, " "))
}

// Stream does what block-stream leaves behind: the active file with its chain pulled in and no
// backing file (a safe rebase onto nothing).
func (f *fakeLive) Stream(_ context.Context, instanceID, volumeID string) error {
	if err := f.record(strings.Join([]string{"stream", instanceID, volumeID}, " ")); err != nil {
		return err
	}
	var path string
	f.db.View(func(tx *store.Tx) error {
		v, err := volumes.Get(tx, volumeID)
		if err == nil {
			path = v.Path
		}
		return err
	})
	if out, err := exec.Command("qemu-img", "rebase", "-q", "-f", "qcow2", "-b", "", path).CombinedOutput(); err != nil {
		return fmt.Errorf("qemu-img rebase: %v: %s", err, out)
	}
	return nil
}

func (f *fakeLive) Calls() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]string(nil), f.calls...)
}

func (f *fakeLive) fail(err error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.err = err
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }
