package images

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"cloudlet/appliance/fault"
	"cloudlet/store"
)

// fakeQuota applies fixed limits the way identity does; a resource it does not list is unlimited.
type fakeQuota map[string]int64

func (q fakeQuota) Check(_ *store.Tx, _, resource string, inUse, requested int64) error {
	limit, ok := q[resource]
	if !ok || requested <= 0 || inUse+requested <= limit {
		return nil
	}
	return fault.New(fault.Quota, "quota exceeded for %s: limit %d, in use %d, requested %d", resource, limit, inUse, requested)
}

func (q fakeQuota) Limit(_ *store.Tx, _, resource string) (int64, error) {
	if limit, ok := q[resource]; ok {
		return limit, nil
	}
	return -1, nil
}

func TestImageQuotaCountsTheProjectsImages(t *testing.T) {
	e := newEnv(t, func(o *Options) { o.Quota = fakeQuota{QuotaImages: 2} })
	ctx := context.Background()
	create := func(project, name string) (*Image, error) {
		return e.svc.Create(ctx, CreateRequest{ProjectID: project, Name: name, DiskFormat: "raw"})
	}
	for _, name := range []string{"a", "b"} {
		if _, err := create(projectA, name); err != nil {
			t.Fatal(err)
		}
	}
	_, err := create(projectA, "c")
	if fault.KindOf(err) != fault.Quota || !strings.Contains(err.Error(), "quota exceeded for images: limit 2, in use 2, requested 1") {
		t.Errorf("third image: %v, want the images quota", err)
	}
	// An import is refused before it copies anything.
	_, err = e.svc.ImportFile(ctx, ImportFileRequest{ProjectID: projectA, Name: "d", Path: e.qcow2("d.qcow2", "1M"), DiskFormat: "qcow2"})
	if fault.KindOf(err) != fault.Quota {
		t.Errorf("import beyond the quota: %v, want the images quota", err)
	}
	if u, err := e.svc.Usage(ctx, projectA); err != nil || u[QuotaImages] != 2 {
		t.Errorf("Usage = %v, %v; want 2 images", u, err)
	}
	if _, err := create(projectB, "a"); err != nil {
		t.Errorf("another project's first image: %v", err)
	}
	if err := e.svc.Delete(ctx, projectA, "a"); err != nil {
		t.Fatal(err)
	}
	if _, err := create(projectA, "c"); err != nil { // the delete freed its place
		t.Errorf("create after a delete: %v", err)
	}
}

// withByteQuota gives projects an image_gigabytes limit of mib MiB: the test service counts the
// quota in MiB instead of GiB, and reserves 256 KiB ahead of the data.
func withByteQuota(mib int64) func(*Options) {
	return func(o *Options) { o.Quota = fakeQuota{QuotaImageGigabytes: mib} }
}

func newQuotaEnv(t *testing.T, mib int64, opts ...func(*Options)) *env {
	e := newEnv(t, append([]func(*Options){withByteQuota(mib)}, opts...)...)
	e.svc.quotaUnit, e.svc.reserveStep = 1<<20, 256<<10
	return e
}

// unsized hides a reader's length from the service, like a chunked upload without Content-Length.
type unsized struct{ r io.Reader }

func (u unsized) Read(p []byte) (int, error) { return u.r.Read(p) }

// trickle hands out at most 256 KiB per read, like a network stream.
type trickle struct{ r io.Reader }

func (t trickle) Read(p []byte) (int, error) { return t.r.Read(p[:min(len(p), 256<<10)]) }

// Finding 5: a member whose image quota was full imported 3 GiB anyway. With image_gigabytes
// full, every way in is refused before a byte is written, and nothing is left of the attempt.
func TestProbe05FullImageQuotaRefusesEveryImport(t *testing.T) {
	e := newQuotaEnv(t, 1)
	ctx := context.Background()
	full := e.mustImport(e.request("full", e.write("full.raw", make([]byte, 1<<20)), FormatRaw))
	if u, err := e.svc.Usage(ctx, projectA); err != nil || u[QuotaImageGigabytes] != 1 {
		t.Fatalf("Usage = %v, %v; want 1 unit of image_gigabytes", u, err)
	}
	_, err := e.svc.ImportFile(ctx, e.request("more", e.write("more.raw", make([]byte, 4096)), FormatRaw))
	checkErr(t, err, ErrQuota, fault.Quota, "quota exceeded for image_gigabytes", "requested 4096 bytes more")
	_, err = e.svc.Create(ctx, CreateRequest{ProjectID: projectA, Name: "upload", DiskFormat: FormatRaw})
	checkErr(t, err, ErrQuota, fault.Quota, "quota exceeded for image_gigabytes")
	_, err = e.svc.ImportURL(ctx, ImportURLRequest{CreateRequest: CreateRequest{ProjectID: projectA, Name: "url",
		DiskFormat: FormatRaw}, URL: "http://images.example/disk.raw"})
	checkErr(t, err, ErrQuota, fault.Quota, "quota exceeded for image_gigabytes")
	if recs := e.records(); len(recs) != 1 || recs[0].ID != full.ID {
		t.Errorf("records %v, want only the image that filled the quota", names(recs))
	}
	if _, err := e.svc.Create(ctx, CreateRequest{ProjectID: projectB, Name: "upload", DiskFormat: FormatRaw}); err != nil {
		t.Errorf("another project's create: %v", err)
	}
}

// Finding 5: a stream without Content-Length wrote 12 GB in 40 s. It is cut where the project's
// quota ends: 409, the image killed, no partial file, nothing held against the quota.
func TestProbe05UploadWithoutLengthIsCutAtTheQuota(t *testing.T) {
	e := newQuotaEnv(t, 4)
	ctx := context.Background()
	e.mustImport(e.request("first", e.write("first.raw", make([]byte, 1<<20)), FormatRaw))
	var written atomic.Int64
	e.svc.wrapWriter = func(w io.Writer) io.Writer { return &countingWriter{w: w, n: &written} }
	img, err := e.upload("endless", FormatRaw, trickle{bytes.NewReader(make([]byte, 16<<20))})
	if img != nil {
		t.Errorf("Upload returned %+v", *img)
	}
	checkErr(t, err, ErrQuota, fault.Quota, "quota exceeded for image_gigabytes: limit 4 (4194304 bytes), in use 1048576 bytes")
	if written.Load() != 3<<20 {
		t.Errorf("%d bytes written before the cut, want the 3 MiB that were left", written.Load())
	}
	killed := e.byName("endless")
	if killed.Status != StatusKilled || killed.ReservedBytes != 0 || !strings.Contains(killed.Fault, "quota exceeded") {
		t.Errorf("cut image = %+v, want killed by the quota, nothing reserved", *killed)
	}
	if ents := e.dirEntries(); len(ents) != 2 { // first/ and first/disk
		t.Errorf("image dir has %v, want only the first image's files", ents)
	}
	if u, _ := e.svc.Usage(ctx, projectA); u[QuotaImageGigabytes] != 1 {
		t.Errorf("usage after the cut: %v, want 1 unit", u)
	}
	if _, err := e.upload("fits", FormatRaw, unsized{bytes.NewReader(make([]byte, 3<<20))}); err != nil {
		t.Errorf("an upload of exactly what is left: %v", err)
	}
}

// Finding 5, the same through a URL import: a chunked answer without Content-Length is cut.
func TestProbe05URLImportWithoutLengthIsCutAtTheQuota(t *testing.T) {
	e := newQuotaEnv(t, 2)
	ts := &testServer{files: map[string][]byte{}}
	ts.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		chunk := make([]byte, 64<<10)
		for i := 0; i < 256 && r.Context().Err() == nil; i++ { // 16 MiB, flushed: chunked, no length
			w.Write(chunk)
			w.(http.Flusher).Flush()
		}
	}))
	t.Cleanup(ts.Close)
	e.allow(ts)
	var written atomic.Int64
	e.svc.wrapWriter = func(w io.Writer) io.Writer { return &countingWriter{w: w, n: &written} }
	img, err := e.svc.ImportURL(context.Background(), ImportURLRequest{CreateRequest: CreateRequest{ProjectID: projectA,
		Name: "stream", DiskFormat: FormatRaw}, URL: ts.URL + "/disk.raw"})
	if err != nil {
		t.Fatal(err)
	}
	got := e.waitSettled(img.ID)
	if got.Status != StatusKilled || !strings.Contains(got.Fault, "quota exceeded for image_gigabytes") {
		t.Errorf("URL import = %+v, want killed by the quota", *got)
	}
	e.assertKilledClean("stream", "quota exceeded")
	if written.Load() > 2<<20 {
		t.Errorf("%d bytes written, more than the 2 MiB quota", written.Load())
	}
}

// Finding 5: saving images count, so parallel uploads cannot all see the same free space: of 12
// uploads of 1 MiB into a 5 MiB quota, those that finish fit together, and the rest are cut.
func TestProbe05RacingUploadsDoNotExceedTheQuota(t *testing.T) {
	e := newQuotaEnv(t, 5)
	ctx := context.Background()
	const n = 12
	for i := range n {
		e.create(fmt.Sprintf("race-%d", i), FormatRaw)
	}
	var written atomic.Int64
	e.svc.wrapWriter = func(w io.Writer) io.Writer { return &countingWriter{w: w, n: &written} }
	var wg sync.WaitGroup
	errs := make([]error, n)
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, errs[i] = e.svc.Upload(ctx, projectA, fmt.Sprintf("race-%d", i), unsized{bytes.NewReader(make([]byte, 1<<20))})
		}()
	}
	wg.Wait()
	var active, stored int64
	for _, img := range e.records() {
		if img.Status == StatusActive {
			active++
			stored += img.Size
		}
	}
	if stored > 5<<20 || active == 0 || active == n {
		t.Errorf("%d of %d uploads active with %d bytes, want some and at most 5 MiB", active, n, stored)
	}
	if written.Load() != stored { // a refused upload wrote nothing: its space was never free
		t.Errorf("%d bytes written, %d stored: refused uploads wrote data", written.Load(), stored)
	}
	for _, err := range errs {
		if err != nil && fault.KindOf(err) != fault.Quota {
			t.Errorf("a refused upload: %v, want the image quota", err)
		}
	}
}

// Finding 5: the per-image cap (config max_image_size) holds for file imports too, not only for
// uploads and URL imports.
func TestProbe05PerImageCapHoldsForFileImports(t *testing.T) {
	e := newEnv(t, func(o *Options) { o.MaxUploadBytes = 1 << 20 })
	_, err := e.svc.ImportFile(context.Background(), e.request("big", e.write("big.raw", make([]byte, 1<<20+512)), FormatRaw))
	checkErr(t, err, ErrUnsafe, fault.Invalid, "over the cap of 1048576")
	e.assertNothingLeft()
}

// A conversion that grows the data past what the import reserved is charged at activation: over
// the quota, the image is killed and its files removed.
func TestImageQuotaChargesConvertedSize(t *testing.T) {
	e := newQuotaEnv(t, 1)
	src := e.qcow2("big.qcow2", "64M")
	if out, err := exec.Command("qemu-io", "-f", "qcow2", "-c", "write -P 0x33 0 3M", src).CombinedOutput(); err != nil {
		t.Fatalf("qemu-io: %v\n%s", err, out)
	}
	vmdk := e.convertFile(src, "qcow2", "big.vmdk", "vmdk", "-o", "subformat=streamOptimized")
	if fi, _ := os.Stat(vmdk); fi.Size() >= 1<<20 {
		t.Fatalf("the compressed vmdk is %d bytes, want under 1 MiB", fi.Size())
	}
	_, err := e.upload("grows", FormatVMDK, bytes.NewReader(e.read(vmdk)))
	checkErr(t, err, ErrQuota, fault.Quota, "quota exceeded for image_gigabytes")
	e.assertKilledClean("grows", "quota exceeded")
}

// countingWriter adds the bytes written through it to n.
type countingWriter struct {
	w io.Writer
	n *atomic.Int64
}

func (c *countingWriter) Write(p []byte) (int, error) {
	n, err := c.w.Write(p)
	c.n.Add(int64(n))
	return n, err
}
