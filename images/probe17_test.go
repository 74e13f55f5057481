package images

import (
	"bytes"
	"context"
	"errors"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"testing"
	"time"

	"cloudlet/appliance/fault"
)

// trickleServer announces a 1 MB body and sends one byte every 20 ms until the client goes; its
// channel gets a value when a request ended (the client hung up).
func trickleServer(t *testing.T) (*httptest.Server, chan struct{}) {
	gone := make(chan struct{}, 10)
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		defer func() { gone <- struct{}{} }()
		w.Header().Set("Content-Length", "1000000")
		tick := time.NewTicker(20 * time.Millisecond)
		defer tick.Stop()
		for {
			select {
			case <-r.Context().Done():
				return
			case <-tick.C:
				if _, err := w.Write([]byte{0}); err != nil {
					return
				}
				w.(http.Flusher).Flush()
			}
		}
	}))
	t.Cleanup(ts.Close)
	return ts, gone
}

// withMinRate sets a minimum rate of 1 KiB/s over a 200 ms window (204 bytes a window).
func withMinRate(o *Options) { o.Import.MinRate, o.Import.RateWindow = 1024, 200*time.Millisecond }

// allowServer lets e's service fetch from ts.
func (e *env) allowServer(ts *httptest.Server) {
	e.svc.fetch.guard.Allow = netip.MustParseAddrPort(ts.Listener.Addr().String())
	e.svc.fetch.retryDelay = 10 * time.Millisecond
}

// Finding 17: a URL import trickling 1 byte every 5 s stayed saving until a restart. Now a
// download under the minimum rate fails at the end of its window: killed, the reason in its
// fault, no file left; and the server sees the connection close.
func TestProbe17TricklingURLImportFails(t *testing.T) {
	e := newEnv(t, withMinRate)
	ts, gone := trickleServer(t)
	e.allowServer(ts)
	img, err := e.importURL("slow", FormatRaw, ts.URL+"/disk.raw", "")
	if err != nil {
		t.Fatal(err)
	}
	e.waitSettled(img.ID)
	e.assertKilledClean("slow", "slower than the minimum of 1024 bytes/s over 200ms")
	<-gone
}

// A body that stops altogether (1000 bytes, then nothing) fails the same way, once the window
// after the last bytes ends, well before the idle timeout.
func TestProbe17StalledURLImportFails(t *testing.T) {
	e := newEnv(t, withMinRate)
	ts := newTestServer(t)
	e.allow(ts)
	e.svc.fetch.idleTimeout = time.Hour
	img, err := e.importURL("stalled", FormatRaw, ts.URL+"/stall", "")
	if err != nil {
		t.Fatal(err)
	}
	e.waitSettled(img.ID)
	e.assertKilledClean("stalled", "slower than the minimum")
}

// The minimum rate does not get in the way of a download or an upload that keeps up.
func TestMinRateLetsFastTransfersThrough(t *testing.T) {
	e := newEnv(t, withMinRate)
	ts := newTestServer(t)
	e.allow(ts)
	img, err := e.importURL("fast", FormatRaw, ts.put("/fast.raw", make([]byte, 1<<20)), "")
	if err != nil {
		t.Fatal(err)
	}
	if got := e.waitSettled(img.ID); got.Status != StatusActive {
		t.Errorf("fast download: %s, %s", got.Status, got.Fault)
	}
	if img, err := e.upload("up", FormatRaw, bytes.NewReader(make([]byte, 1<<20))); err != nil || img.Status != StatusActive {
		t.Errorf("fast upload: %+v, %v", img, err)
	}
}

// tricklingBody is an upload body that gives one byte every 20 ms, for ever.
type tricklingBody struct{}

func (tricklingBody) Read(p []byte) (int, error) {
	time.Sleep(20 * time.Millisecond) // the attack: a byte now and then
	p[0] = 0
	return 1, nil
}

// Finding 17, uploads: a trickling body fails with ErrTooSlow (400), killed, no file left.
func TestProbe17TricklingUploadFails(t *testing.T) {
	e := newEnv(t, withMinRate)
	_, err := e.upload("slow", FormatRaw, tricklingBody{})
	checkErr(t, err, ErrTooSlow, fault.Invalid, "upload slower than the minimum")
	e.assertKilledClean("slow", "slower than the minimum")
}

// An upload whose sender stops altogether fails too when the body can take a read deadline (the
// web layer's bodies can): the blocked read is ended at the window's end.
func TestProbe17StalledUploadFails(t *testing.T) {
	e := newEnv(t, withMinRate)
	client, server := net.Pipe()
	t.Cleanup(func() { client.Close(); server.Close() })
	go client.Write(make([]byte, 300)) // enough for the first window, then silence
	_, err := e.upload("stalled", FormatRaw, server)
	checkErr(t, err, ErrTooSlow, fault.Invalid, "upload slower than the minimum")
	e.assertKilledClean("stalled", "slower than the minimum")
}

// waitSaving polls until image name is saving and has received some bytes.
func (e *env) waitSaving(name string) *Image {
	e.t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		if img, err := e.svc.Get(context.Background(), projectA, name); err == nil && img.Status == StatusSaving && img.BytesReceived > 0 {
			return img
		}
		time.Sleep(5 * time.Millisecond)
	}
	e.t.Fatalf("image %s never got to saving with data", name)
	return nil
}

// Finding 17: a saving image could not be deleted. Now Delete cancels the download in flight,
// waits for it to clean up and deletes the image: no record, no file, the connection closed.
func TestProbe17DeleteCancelsSavingURLImport(t *testing.T) {
	e := newEnv(t)
	e.svc.progressStep = 1
	ts, gone := trickleServer(t)
	e.allowServer(ts)
	if _, err := e.importURL("slow", FormatRaw, ts.URL+"/disk.raw", ""); err != nil {
		t.Fatal(err)
	}
	e.waitSaving("slow")
	if err := e.svc.Delete(context.Background(), projectA, "slow"); err != nil {
		t.Fatalf("delete of a saving image: %v", err)
	}
	e.assertNothingLeft()
	<-gone
}

// Finding 17, uploads: Delete cancels an upload whose sender is blocked mid-body; the uploader is
// answered 409, and nothing is left.
func TestProbe17DeleteCancelsSavingUpload(t *testing.T) {
	e := newEnv(t)
	e.svc.progressStep = 1
	e.create("held", FormatRaw)
	client, server := net.Pipe()
	t.Cleanup(func() { client.Close(); server.Close() })
	go client.Write(make([]byte, 4096)) // then the sender holds the body open
	errc := make(chan error, 1)
	go func() {
		_, err := e.svc.Upload(context.Background(), projectA, "held", server)
		errc <- err
	}()
	e.waitSaving("held")
	if err := e.svc.Delete(context.Background(), projectA, "held"); err != nil {
		t.Fatalf("delete of a saving image: %v", err)
	}
	err := <-errc
	if !errors.Is(err, errDeleted) || fault.KindOf(err) != fault.Conflict {
		t.Errorf("upload answered %v, want the conflict errDeleted", err)
	}
	e.assertNothingLeft()
}

// Another project cannot cancel a saving image by deleting it.
func TestDeleteOfAnotherProjectsSavingImageCancelsNothing(t *testing.T) {
	e := newEnv(t)
	e.svc.progressStep = 1
	ts, _ := trickleServer(t)
	t.Cleanup(func() { e.svc.Close() }) // cancels the import before the server waits for it to hang up
	e.allowServer(ts)
	img, err := e.importURL("slow", FormatRaw, ts.URL+"/disk.raw", "")
	if err != nil {
		t.Fatal(err)
	}
	e.waitSaving("slow")
	if err := e.svc.Delete(context.Background(), projectB, img.ID); !errors.Is(err, ErrNotFound) {
		t.Errorf("delete by another project: %v, want not found", err)
	}
	if got := e.get(img.ID); got.Status != StatusSaving {
		t.Errorf("after another project's delete the image is %s", got.Status)
	}
}
