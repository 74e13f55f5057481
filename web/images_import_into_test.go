package web

import (
	"strings"
	"testing"

	"cloudlet/images"
)

// POST /api/v1/images/{id}/import downloads a URL into a queued image with the URL import's guards:
// a loopback URL is accepted (202) and the image ends killed, saying it could not connect; an image
// that is not queued and waiting for an upload, or a file URL, is refused.
func TestImageImportIntoAQueuedImage(t *testing.T) {
	s, imgs := newImagesServer(t)
	expect(t, call(t, s, "POST", "/api/v1/images", `{"name":"lo","disk_format":"raw"}`), 201, "queued")
	expect(t, call(t, s, "POST", "/api/v1/images/lo/import", `{"url":"file:///etc/passwd"}`), 400, "only http and https")
	expect(t, call(t, s, "POST", "/api/v1/images/lo/import", `{"url":"http://127.0.0.1:9/disk"}`), 202, `"name":"lo"`)
	if img := waitImage(t, imgs, "lo"); img.Status != images.StatusKilled || !strings.Contains(img.Fault, "could not connect") {
		t.Errorf("import from loopback ended %+v", img)
	}
	expect(t, call(t, s, "POST", "/api/v1/images/lo/import", `{"url":"http://192.0.2.1/disk"}`), 409, "only once")
	expect(t, call(t, s, "POST", "/api/v1/images/nope/import", `{"url":"http://192.0.2.1/disk"}`), 404, "not found")
}
