package e2e

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"cloudlet/appliance/identity"
	"cloudlet/images"
)

// tenants makes each project with one member user and returns an admin token and each project's
// member token.
func tenants(t *testing.T, c *Cloud, api httpAPI, projects ...string) (admin string, tokens map[string]string) {
	t.Helper()
	admin = c.D.AdminToken(t)
	const password = "canary-image-tenant-5d2e"
	tokens = map[string]string{}
	for _, p := range projects {
		tokens[p] = api.addMember(admin, p, "u-"+p, password)
	}
	return admin, tokens
}

// upload PUTs n zero bytes to an image without Content-Length (chunked) and returns the status
// and body of the answer.
func upload(t *testing.T, base, token, image string, n int64) (int, string) {
	t.Helper()
	// A raw connection: the answer is read while the body is still being sent. Go's http.Client
	// returns whichever comes first, the answer or the write error of a body the server stopped
	// reading, so it could report "connection reset" for an upload the server answered with 409.
	conn, err := net.Dial("tcp", strings.TrimPrefix(base, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	go func() {
		w := bufio.NewWriterSize(conn, 1<<20)
		fmt.Fprintf(w, "PUT /api/v1/images/%s/file HTTP/1.1\r\nHost: cloudlet\r\nAuthorization: Bearer %s\r\n"+
			"Content-Type: application/octet-stream\r\nTransfer-Encoding: chunked\r\n\r\n", image, token)
		chunk := make([]byte, 1<<20)
		for left := n; left > 0; left -= int64(len(chunk)) {
			size := min(left, int64(len(chunk)))
			fmt.Fprintf(w, "%x\r\n", size)
			w.Write(chunk[:size])
			if _, err := w.WriteString("\r\n"); err != nil {
				return // the server answered and closed: the rest is not wanted
			}
		}
		w.WriteString("0\r\n\r\n")
		w.Flush()
	}()
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		t.Fatalf("upload to %s: %v", image, err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(raw)
}

// Finding 5, against the daemon: a member whose image_gigabytes is full cannot add an image, and a
// chunked upload (no Content-Length) past what is left is cut with 409: the image is killed, its
// partial file is gone, and the project's usage is what it was.
func TestProbe05ImageUploadPastTheQuotaIsCutAndRemoved(t *testing.T) {
	c := newCloud(t, `{"trust_loopback": false}`)
	api := httpAPI{t: t, base: "http://" + c.D.Listen}
	admin, tokens := tenants(t, c, api, "pa")
	member := tokens["pa"]
	setLimit := func(gib int) {
		t.Helper()
		body := map[string]any{"limits": map[string]int{identity.QuotaImageGigabytes: gib}}
		if code := api.call("PUT", "/api/v1/quotas/pa", admin, body, nil); code != 200 {
			t.Fatalf("set pa's image_gigabytes = %d", code)
		}
	}
	setLimit(0)
	status, body := postImage(t, api, member, `{"name":"none","disk_format":"raw"}`)
	if status != 409 || !strings.Contains(body, "quota exceeded for image_gigabytes") {
		t.Errorf("create with a full image quota = %d %s, want 409 naming image_gigabytes", status, body)
	}

	setLimit(1)
	var img images.Image
	if code := api.call("POST", "/api/v1/images", member, map[string]any{"name": "big", "disk_format": "raw"}, &img); code != 201 {
		t.Fatalf("create = %d", code)
	}
	status, body = upload(t, api.base, member, img.ID, 1<<30+64<<20)
	if status != 409 || !strings.Contains(body, "quota exceeded for image_gigabytes: limit 1") {
		t.Errorf("upload past the quota = %d %s, want 409 naming image_gigabytes", status, body)
	}
	var got images.Image
	if code := api.call("GET", "/api/v1/images/big", member, nil, &got); code != 200 || got.Status != images.StatusKilled {
		t.Errorf("the cut image = %d %+v, want killed", code, got)
	}
	if _, err := os.Stat(filepath.Join(c.D.DataDir, "images", img.ID)); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("the cut image's directory: %v, want it gone", err)
	}
	var r identity.QuotaReport
	if code := api.call("GET", "/api/v1/quotas/pa", member, nil, &r); code != 200 || r.Quotas[identity.QuotaImageGigabytes].InUse != 0 {
		t.Errorf("pa's quota report = %d %+v, want no image bytes in use", code, r.Quotas[identity.QuotaImageGigabytes])
	}
}

func postImage(t *testing.T, api httpAPI, token, body string) (int, string) {
	t.Helper()
	req, err := http.NewRequest("POST", api.base+"/api/v1/images", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(raw)
}

// Findings 6 and 13, against the daemon: a member cannot publish; another project's debian12 never
// makes a lookup of debian12 a 409; a share names a real project (404 otherwise), stays pending
// until the recipient accepts it, and then wins over the public image of the same name.
func TestProbe06PublicImageNamesAreNotShadowed(t *testing.T) {
	c := newCloud(t, `{"trust_loopback": false}`)
	api := httpAPI{t: t, base: "http://" + c.D.Listen}
	admin, tokens := tenants(t, c, api, "pa", "pb")
	pa, pb := tokens["pa"], tokens["pb"]
	create := func(token, body string) string {
		t.Helper()
		status, out := postImage(t, api, token, body)
		if status != 201 {
			t.Fatalf("POST /api/v1/images %s = %d %s", body, status, out)
		}
		return out[strings.Index(out, `"id":"`)+6:][:36]
	}
	public := create(admin, `{"name":"debian12","disk_format":"raw","visibility":"public"}`)
	if status, body := postImage(t, api, pa, `{"name":"debian12","disk_format":"raw","visibility":"public"}`); status != 403 {
		t.Errorf("member's public image = %d %s, want 403", status, body)
	}
	mine := create(pa, `{"name":"debian12","disk_format":"raw"}`)
	lookup := func(token string) string {
		t.Helper()
		var img images.Image
		if code := api.call("GET", "/api/v1/images/debian12", token, nil, &img); code != 200 {
			t.Fatalf("GET /api/v1/images/debian12 = %d, want 200", code)
		}
		return img.ID
	}
	if got := lookup(pa); got != mine {
		t.Errorf("pa's debian12 = %s, want its own %s", got, mine)
	}
	if got := lookup(pb); got != public {
		t.Errorf("pb's debian12 = %s, want the public %s", got, public)
	}

	members := "/api/v1/images/" + mine + "/members"
	if code := api.call("POST", members, pa, map[string]string{"project": "nonexistproj"}, nil); code != 404 {
		t.Errorf("share with nonexistproj = %d, want 404", code)
	}
	if code := api.call("POST", members, pa, map[string]string{"project": "pb"}, nil); code != 200 {
		t.Fatalf("share with pb = %d", code)
	}
	if got := lookup(pb); got != public {
		t.Errorf("pb's debian12 while the share is pending = %s, want the public %s", got, public)
	}
	var m struct{ Status string }
	if code := api.call("PUT", members+"/pb", pb, map[string]string{"status": "accepted"}, &m); code != 200 || m.Status != "accepted" {
		t.Fatalf("pb accepts = %d %+v", code, m)
	}
	if got := lookup(pb); got != mine {
		t.Errorf("pb's debian12 after accepting = %s, want pa's shared %s", got, mine)
	}
	var seen []map[string]string
	if code := api.call("GET", members, pb, nil, &seen); code != 200 || len(seen) != 1 || seen[0]["status"] != "accepted" {
		t.Errorf("pb's view of the members = %d %v, want only its own membership", code, seen)
	}
}
