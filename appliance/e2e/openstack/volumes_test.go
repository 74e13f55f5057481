package openstack

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"
)

// nativeVolume is a volume as /api/v1/volumes shows it.
type nativeVolume struct {
	ID          string            `json:"id"`
	Name        string            `json:"name"`
	SizeGiB     int               `json:"size_gib"`
	Status      string            `json:"status"`
	Bootable    bool              `json:"bootable"`
	Description string            `json:"description"`
	Metadata    map[string]string `json:"metadata"`
	Source      struct {
		ImageID    string `json:"image_id"`
		SnapshotID string `json:"snapshot_id"`
	} `json:"source"`
}

// volumesOf lists project demo's volumes in cloudlet's own API, by name, as member sees them.
func (s *site) volumesOf() map[string]nativeVolume {
	s.t.Helper()
	var list []nativeVolume
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if err := s.as("member").Do(ctx, "GET", "/api/v1/volumes", nil, &list); err != nil {
		s.t.Fatalf("GET /api/v1/volumes: %v", err)
	}
	out := map[string]nativeVolume{}
	for _, v := range list {
		out[v.Name] = v
	}
	return out
}

// cliJSON runs the CLI as member with -f json and decodes its answer into out.
func (s *site) cliJSON(out any, args ...string) {
	s.t.Helper()
	text := s.cli("member", append(args, "-f", "json")...)
	if err := json.Unmarshal([]byte(text), out); err != nil {
		s.t.Fatalf("openstack %s: %v in %q", strings.Join(args, " "), err, text)
	}
}

// cliVolume is the part of `volume show/create -f json` the test reads.
type cliVolume struct {
	ID         string            `json:"id"`
	Name       string            `json:"name"`
	Size       int               `json:"size"`
	Status     string            `json:"status"`
	Bootable   string            `json:"bootable"`
	Properties map[string]string `json:"properties"`
	SnapshotID string            `json:"snapshot_id"`
}

// TestOpenStackCLIVolumes: the real CLI (cinderclient) creates an empty volume, lists, shows,
// renames it, sets and unsets a property, extends it, makes a volume from the test guest image, snapshots a volume,
// lists and renames the snapshot and makes a volume from it, deletes them, shows the absolute limits and lists the
// volume types; each step is checked in /api/v1. Bad input: over the gigabytes quota is refused with 413 and
// makes nothing, size 0 and an unknown image are 400.
func TestOpenStackCLIVolumes(t *testing.T) {
	s := newSite(t)
	var v1 cliVolume
	s.cliJSON(&v1, "volume", "create", "--size", "1", "v1")
	if v1.Name != "v1" || v1.Size != 1 || v1.Status != "available" {
		t.Fatalf("volume create = %+v", v1)
	}
	if nv := s.volumesOf()["v1"]; nv.ID != v1.ID || nv.SizeGiB != 1 || nv.Status != "available" {
		t.Fatalf("/api/v1 v1 = %+v", nv)
	}
	var list []struct {
		ID     string `json:"ID"`
		Name   string `json:"Name"`
		Status string `json:"Status"`
		Size   int    `json:"Size"`
	}
	s.cliJSON(&list, "volume", "list")
	if len(list) != 1 || list[0].ID != v1.ID || list[0].Name != "v1" || list[0].Size != 1 {
		t.Fatalf("volume list = %+v", list)
	}

	s.cli("member", "volume", "set", "--name", "v2", "--description", "renamed", "--property", "a=b", "v1")
	var shown cliVolume
	s.cliJSON(&shown, "volume", "show", "v2")
	if shown.ID != v1.ID || shown.Properties["a"] != "b" || shown.Bootable != "false" {
		t.Fatalf("volume show v2 = %+v", shown)
	}
	if nv := s.volumesOf()["v2"]; nv.ID != v1.ID || nv.Description != "renamed" || nv.Metadata["a"] != "b" {
		t.Fatalf("/api/v1 after volume set = %+v", nv)
	}

	s.cli("member", "volume", "set", "--size", "2", "v2")
	s.cli("member", "volume", "unset", "--property", "a", "v2")
	if nv := s.volumesOf()["v2"]; nv.SizeGiB != 2 || len(nv.Metadata) != 0 {
		t.Fatalf("/api/v1 after volume set --size 2 and unset --property a = %+v", nv)
	}

	checkCLIVolumeFromImage(t, s)
	checkCLISnapshotAndVolumeFromIt(t, s, v1.ID)
	checkCLIVolumeRefusals(t, s)
	checkCLILimits(t, s)
	var types []struct {
		Name string `json:"Name"`
	}
	s.cliJSON(&types, "volume", "type", "list")
	if len(types) != 1 || types[0].Name != "__DEFAULT__" {
		t.Errorf("volume type list = %+v, want cloudlet's one type", types)
	}

	s.cli("member", "volume", "delete", "v2")
	if _, left := s.volumesOf()["v2"]; left {
		t.Errorf("v2 is still in /api/v1 after volume delete")
	}
}

// checkCLIVolumeFromImage: `volume create --image tg --size N` makes a bootable volume over the
// image, N being the image's virtual size rounded up to GiB.
func checkCLIVolumeFromImage(t *testing.T, s *site) {
	t.Helper()
	var img struct {
		ID          string `json:"id"`
		VirtualSize int64  `json:"virtual_size"`
	}
	s.root("GET", "/api/v1/images/"+guestImage, nil, &img)
	size := int((img.VirtualSize + 1<<30 - 1) >> 30)
	var vi cliVolume
	s.cliJSON(&vi, "volume", "create", "--image", guestImage, "--size", strconv.Itoa(size), "vi")
	if vi.Status != "available" || vi.Bootable != "true" || vi.Size != size {
		t.Fatalf("volume create --image = %+v, want an available bootable volume of %d GiB", vi, size)
	}
	if nv := s.volumesOf()["vi"]; nv.Source.ImageID != img.ID || !nv.Bootable {
		t.Fatalf("/api/v1 vi = %+v, want made from image %s", nv, img.ID)
	}
	s.cli("member", "volume", "delete", "vi")
}

// checkCLISnapshotAndVolumeFromIt: `volume snapshot create`, `volume snapshot set`, `volume create
// --snapshot`, and their deletes, checked in /api/v1.
func checkCLISnapshotAndVolumeFromIt(t *testing.T, s *site, volumeID string) {
	t.Helper()
	var snap struct {
		ID       string `json:"id"`
		Name     string `json:"name"`
		Status   string `json:"status"`
		VolumeID string `json:"volume_id"`
		Size     int    `json:"size"`
	}
	s.cliJSON(&snap, "volume", "snapshot", "create", "--volume", "v2", "s1")
	if snap.Name != "s1" || snap.VolumeID != volumeID || snap.Status != "available" || snap.Size != 2 {
		t.Fatalf("volume snapshot create = %+v", snap)
	}
	var natives []struct{ ID, Name string }
	if err := s.as("member").Do(context.Background(), "GET", "/api/v1/snapshots", nil, &natives); err != nil || len(natives) != 1 || natives[0].ID != snap.ID {
		t.Fatalf("/api/v1/snapshots = %+v (%v)", natives, err)
	}
	var snaps []struct {
		ID   string `json:"ID"`
		Name string `json:"Name"`
	}
	s.cliJSON(&snaps, "volume", "snapshot", "list")
	if len(snaps) != 1 || snaps[0].ID != snap.ID || snaps[0].Name != "s1" {
		t.Fatalf("volume snapshot list = %+v", snaps)
	}
	s.cli("member", "volume", "snapshot", "set", "--name", "s2", "--description", "before the change", "s1")
	var renamed []struct {
		ID          string `json:"id"`
		Name        string `json:"name"`
		Description string `json:"description"`
	}
	if err := s.as("member").Do(context.Background(), "GET", "/api/v1/snapshots", nil, &renamed); err != nil || len(renamed) != 1 ||
		renamed[0].Name != "s2" || renamed[0].Description != "before the change" {
		t.Fatalf("/api/v1/snapshots after volume snapshot set = %+v (%v)", renamed, err)
	}
	var vs cliVolume
	s.cliJSON(&vs, "volume", "create", "--snapshot", "s2", "vs")
	if vs.SnapshotID != snap.ID || vs.Size != snap.Size {
		t.Fatalf("volume create --snapshot = %+v", vs)
	}
	if nv := s.volumesOf()["vs"]; nv.Source.SnapshotID != snap.ID {
		t.Fatalf("/api/v1 vs = %+v, want made from snapshot %s", nv, snap.ID)
	}
	s.cli("member", "volume", "delete", "vs")
	s.cli("member", "volume", "snapshot", "delete", "s2")
	natives = nil
	if err := s.as("member").Do(context.Background(), "GET", "/api/v1/snapshots", nil, &natives); err != nil || len(natives) != 0 {
		t.Fatalf("/api/v1/snapshots after delete = %+v (%v)", natives, err)
	}
}

// checkCLIVolumeRefusals: over the gigabytes quota is 413 and makes nothing; size 0 is 400; an
// unknown image is Cinder's 400.
func checkCLIVolumeRefusals(t *testing.T, s *site) {
	t.Helper()
	s.root("PUT", "/api/v1/quotas/"+siteProject, map[string]any{"limits": map[string]int{"gigabytes": 5}}, nil)
	defer s.root("DELETE", "/api/v1/quotas/"+siteProject, nil, nil)
	if _, stderr, err := s.tryCLI("member", "volume", "create", "--size", "10", "big"); err == nil || !strings.Contains(stderr, "413") {
		t.Errorf("over quota: %v, stderr %q, want HTTP 413", err, stderr)
	}
	if _, made := s.volumesOf()["big"]; made {
		t.Errorf("the refused volume is in /api/v1")
	}
	if _, stderr, err := s.tryCLI("member", "volume", "create", "--size", "0", "zero"); err == nil || !strings.Contains(stderr, "400") {
		t.Errorf("size 0: %v, stderr %q, want HTTP 400", err, stderr)
	}
	// The CLI looks an image up in Glance before it asks Cinder: an unknown image is sent straight.
	var tok struct {
		ID string `json:"id"`
	}
	if err := json.Unmarshal([]byte(s.cli("member", "token", "issue", "-f", "json")), &tok); err != nil {
		t.Fatalf("token issue: %v", err)
	}
	code, body := s.cinderPost(tok.ID, `{"volume":{"size":1,"name":"noimage","imageRef":"4b0c1e7e-8f1a-4d6b-9c57-0d7f3b2a1e99"}}`)
	if code != http.StatusBadRequest || !strings.Contains(body, `"badRequest"`) {
		t.Errorf("an unknown image = %d %s, want Cinder's 400", code, body)
	}
}

// cinderPost posts body to Cinder's volumes with an X-Auth-Token and returns the status and body.
func (s *site) cinderPost(token, body string) (int, string) {
	s.t.Helper()
	req, err := http.NewRequest("POST", "http://"+s.d.Listen+"/volume/v3/volumes", strings.NewReader(body))
	if err != nil {
		s.t.Fatal(err)
	}
	req.Header.Set("X-Auth-Token", token)
	req.Header.Set("Content-Type", "application/json")
	resp, err := (&http.Client{Timeout: time.Minute}).Do(req)
	if err != nil {
		s.t.Fatalf("POST /volume/v3/volumes: %v", err)
	}
	defer resp.Body.Close()
	out, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(out)
}

// checkCLILimits: `limits show --absolute` shows Nova's and Cinder's limits from cloudlet's quotas.
func checkCLILimits(t *testing.T, s *site) {
	t.Helper()
	var limits []struct {
		Name  string `json:"Name"`
		Value int64  `json:"Value"`
	}
	s.cliJSON(&limits, "limits", "show", "--absolute")
	got := map[string]int64{}
	for _, l := range limits {
		got[l.Name] = l.Value
	}
	var q struct {
		Quotas map[string]struct {
			Limit int64 `json:"limit"`
			InUse int64 `json:"in_use"`
		} `json:"quotas"`
	}
	if err := s.as("member").Do(context.Background(), "GET", "/api/v1/quotas", nil, &q); err != nil {
		t.Fatalf("GET /api/v1/quotas: %v", err)
	}
	for name, want := range map[string]int64{"maxTotalInstances": q.Quotas["instances"].Limit, "maxTotalCores": q.Quotas["cores"].Limit,
		"maxTotalVolumes": q.Quotas["volumes"].Limit, "totalVolumesUsed": q.Quotas["volumes"].InUse,
		"maxTotalVolumeGigabytes": q.Quotas["gigabytes"].Limit} {
		if got[name] != want {
			t.Errorf("limits show: %s = %d, want %d (from /api/v1/quotas)", name, got[name], want)
		}
	}
}
