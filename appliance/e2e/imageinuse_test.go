package e2e

import (
	"net/http"
	"strings"
	"testing"
)

// An image a volume stands on is not deleted (409 naming the volume), whether the daemon was
// restarted since the volume was made or not; once the volume is gone, the image goes. The image
// service decides from the catalog's holds, written with the volume's record.
func TestAnImageAVolumeStandsOnIsNotDeletedUntilTheVolumeGoes(t *testing.T) {
	c := newCloud(t, "")
	uploadImage(t, c, "gold", map[string]any{"disk_format": "raw"}, make([]byte, 1<<20))
	var vol volumeView
	if err := c.Do("POST", "/api/v1/volumes", map[string]any{"name": "root", "image": "gold", "size_gib": 1}, &vol); err != nil {
		t.Fatal(err)
	}
	refused := func(when string) {
		t.Helper()
		status, body := apiStatus(t, c, "DELETE", "/api/v1/images/gold", "")
		if status != http.StatusConflict || !strings.Contains(body, "image gold is used by volume root ("+vol.ID+")") {
			t.Fatalf("delete of the image %s = %d %s, want 409 naming volume root", when, status, body)
		}
	}
	refused("the volume stands on")
	c.D.Kill()
	c.D.Start(t)
	c.D.WaitReady(t)
	refused("after a restart")
	if err := c.Do("DELETE", "/api/v1/volumes/root", nil, nil); err != nil {
		t.Fatal(err)
	}
	if status, body := apiStatus(t, c, "DELETE", "/api/v1/images/gold", ""); status != http.StatusNoContent {
		t.Fatalf("delete of the image once the volume is gone = %d %s, want 204", status, body)
	}
}
