package web

import (
	"maps"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"

	"cloudlet/appliance/identity"
	"cloudlet/appliance/volume"
)

// cinderVolume is the part of Cinder's volume view the tests read.
type cinderVolume struct {
	ID          string            `json:"id"`
	Name        string            `json:"name"`
	Size        int               `json:"size"`
	Status      string            `json:"status"`
	Bootable    string            `json:"bootable"`
	Description *string           `json:"description"`
	Metadata    map[string]string `json:"metadata"`
	SnapshotID  *string           `json:"snapshot_id"`
	SourceVolID *string           `json:"source_volid"`
	CreatedAt   string            `json:"created_at"`
	Attachments []map[string]any  `json:"attachments"`
}

// cinderCreate posts a Cinder volume create as cinderclient sends it (nulls for unused keys).
func cinderCreate(f *authFixture, token, fields string) (*cinderVolume, int, string) {
	f.t.Helper()
	body := `{"volume":{"snapshot_id":null,"consistencygroup_id":null,"imageRef":null,"source_volid":null,` +
		`"volume_type":null,"availability_zone":null,"description":null,"multiattach":false,"backup_id":null,` + fields + `}}`
	rec := f.osDo("POST", "/volume/v3/volumes", token, body)
	if rec.Code != http.StatusAccepted {
		return nil, rec.Code, rec.Body.String()
	}
	var out struct{ Volume cinderVolume }
	decodeInto(f.t, rec, &out)
	return &out.Volume, rec.Code, rec.Body.String()
}

func TestCinderVolumesCreateShowListUpdateExtendAndDelete(t *testing.T) {
	f := newAuthFixture(t)
	tok := f.tokens["member"]
	v, code, body := cinderCreate(f, tok, `"size":1,"name":"v1","metadata":{"Type":"Test"}`)
	if v == nil || v.Name != "v1" || v.Size != 1 || v.Status != "available" || v.Bootable != "false" ||
		v.Metadata["Type"] != "Test" || v.Description != nil || strings.HasSuffix(v.CreatedAt, "Z") || v.Attachments == nil {
		t.Fatalf("create = %d %s", code, body)
	}
	native := f.volumeNamed("member", "v1")
	if native.ID != v.ID || native.SizeGiB != 1 || native.Metadata["Type"] != "Test" {
		t.Fatalf("/api/v1 has %+v", native)
	}

	rec := f.osDo("GET", "/volume/v3/volumes/"+v.ID, tok, "")
	if rec.Code != 200 || rec.Header().Get("OpenStack-API-Version") != "volume 3.0" || !strings.Contains(rec.Body.String(), `"volume_type":"__DEFAULT__"`) {
		t.Errorf("show = %d %s (%v)", rec.Code, rec.Body, rec.Header())
	}
	pid := native.ProjectID
	if rec := f.osDo("GET", "/volume/v3/"+pid+"/volumes/"+v.ID, tok, ""); rec.Code != 200 || !strings.Contains(rec.Body.String(), "/volume/v3/"+pid+"/volumes/"+v.ID) {
		t.Errorf("show under /volume/v3/{project_id} = %d %s", rec.Code, rec.Body)
	}

	rec = f.osDo("PUT", "/volume/v3/volumes/"+v.ID, tok, `{"volume":{"name":"v2","description":"the second"}}`)
	var upd struct{ Volume cinderVolume }
	decodeInto(t, rec, &upd)
	if rec.Code != 200 || upd.Volume.Name != "v2" || upd.Volume.Description == nil || *upd.Volume.Description != "the second" || upd.Volume.Metadata["Type"] != "Test" {
		t.Fatalf("update = %d %s", rec.Code, rec.Body)
	}
	if rec := f.osDo("PUT", "/volume/v3/volumes/"+v.ID, tok, `{"volume":{"metadata":{"a":"b"}}}`); rec.Code != 200 {
		t.Fatalf("set metadata = %d %s", rec.Code, rec.Body)
	}
	if got := f.volumeNamed("member", "v2"); got.Description != "the second" || got.Metadata["a"] != "b" {
		t.Errorf("/api/v1 after the updates: %+v", got)
	}

	if rec := f.osDo("POST", "/volume/v3/volumes/"+v.ID+"/action", tok, `{"os-extend":{"new_size":2}}`); rec.Code != http.StatusAccepted {
		t.Fatalf("extend = %d %s", rec.Code, rec.Body)
	}
	if got := f.volumeNamed("member", "v2"); got.SizeGiB != 2 {
		t.Errorf("size after extend = %d, want 2", got.SizeGiB)
	}
	if rec := f.osDo("POST", "/volume/v3/volumes/"+v.ID+"/action", tok, `{"os-set_bootable":{"bootable":"True"}}`); rec.Code != 200 || !f.volumeNamed("member", "v2").Bootable {
		t.Errorf("set bootable = %d %s", rec.Code, rec.Body)
	}

	var list struct{ Volumes []map[string]any }
	decodeInto(t, f.osDo("GET", "/volume/v3/volumes", tok, ""), &list)
	if len(list.Volumes) != 1 || len(list.Volumes[0]) != 3 || list.Volumes[0]["name"] != "v2" {
		t.Errorf("brief list = %+v, want v2 with id, name and links", list.Volumes)
	}
	cinderCreate(f, tok, `"size":1,"name":"other"`)
	for query, want := range map[string]int{"": 2, "?name=v2&all_tenants=1": 1, "?status=available": 2, "?name=nope": 0, "?bootable=true": 1} {
		decodeInto(t, f.osDo("GET", "/volume/v3/volumes/detail"+query, tok, ""), &list)
		if len(list.Volumes) != want {
			t.Errorf("detail%s lists %d volumes, want %d", query, len(list.Volumes), want)
		}
	}

	var page struct{ Volumes []struct{ ID, Name string } }
	decodeInto(t, f.osDo("GET", "/volume/v3/volumes?limit=1", tok, ""), &page)
	if len(page.Volumes) != 1 {
		t.Fatalf("limit=1 gives %d volumes", len(page.Volumes))
	}
	first := page.Volumes[0]
	decodeInto(t, f.osDo("GET", "/volume/v3/volumes?limit=1&marker="+first.ID, tok, ""), &page)
	if len(page.Volumes) != 1 || page.Volumes[0].ID == first.ID {
		t.Errorf("the page after %s = %+v, want the other volume", first.Name, page.Volumes)
	}
	decodeInto(t, f.osDo("GET", "/volume/v3/volumes?marker="+page.Volumes[0].ID, tok, ""), &page)
	if len(page.Volumes) != 0 {
		t.Errorf("the page after the last = %+v, want none", page.Volumes)
	}
	if rec := f.osDo("GET", "/volume/v3/volumes?marker=nope", tok, ""); rec.Code != http.StatusBadRequest {
		t.Errorf("an unknown marker = %d, want 400", rec.Code)
	}

	if rec := f.osDo("DELETE", "/volume/v3/volumes/"+v.ID, tok, ""); rec.Code != http.StatusAccepted {
		t.Fatalf("delete = %d %s", rec.Code, rec.Body)
	}
	if rec := f.do("GET", "/api/v1/volumes/"+v.ID, tok, ""); rec.Code != http.StatusNotFound {
		t.Errorf("/api/v1 after delete = %d, want 404", rec.Code)
	}
	if rec := f.osDo("GET", "/volume/v3/volumes/"+v.ID, tok, ""); rec.Code != http.StatusNotFound || !strings.Contains(rec.Body.String(), `"itemNotFound"`) {
		t.Errorf("show after delete = %d %s, want 404 itemNotFound", rec.Code, rec.Body)
	}
}

func TestCinderSnapshotsAndVolumesMadeFromThem(t *testing.T) {
	f := newAuthFixture(t)
	tok := f.tokens["member"]
	v, code, body := cinderCreate(f, tok, `"size":1,"name":"base"`)
	if v == nil {
		t.Fatalf("create = %d %s", code, body)
	}
	rec := f.osDo("POST", "/volume/v3/snapshots", tok, `{"snapshot":{"volume_id":"`+v.ID+`","force":false,"name":"s1","description":null,"metadata":{}}}`)
	var snap struct {
		Snapshot struct {
			ID, Name, Status string
			VolumeID         string `json:"volume_id"`
			Size             int
		}
	}
	decodeInto(t, rec, &snap)
	if rec.Code != http.StatusAccepted || snap.Snapshot.Name != "s1" || snap.Snapshot.VolumeID != v.ID || snap.Snapshot.Size != 1 {
		t.Fatalf("snapshot create = %d %s", rec.Code, rec.Body)
	}
	var natives []volume.Snapshot
	decodeInto(t, f.do("GET", "/api/v1/snapshots", tok, ""), &natives)
	if len(natives) != 1 || natives[0].ID != snap.Snapshot.ID {
		t.Fatalf("/api/v1/snapshots = %+v", natives)
	}
	for _, path := range []string{"/volume/v3/snapshots", "/volume/v3/snapshots/detail?volume_id=" + v.ID, "/volume/v3/snapshots/" + snap.Snapshot.ID} {
		if rec := f.osDo("GET", path, tok, ""); rec.Code != 200 || !strings.Contains(rec.Body.String(), `"name":"s1"`) {
			t.Errorf("GET %s = %d %s", path, rec.Code, rec.Body)
		}
	}
	if rec := f.osDo("PUT", "/volume/v3/snapshots/"+snap.Snapshot.ID, tok, `{"snapshot":{"name":"s2","description":"renamed"}}`); rec.Code != 200 ||
		!strings.Contains(rec.Body.String(), `"description":"renamed"`) {
		t.Errorf("snapshot update = %d %s", rec.Code, rec.Body)
	}
	decodeInto(t, f.do("GET", "/api/v1/snapshots", tok, ""), &natives)
	if natives[0].Name != "s2" || natives[0].Description != "renamed" {
		t.Errorf("/api/v1 after snapshot update: %+v", natives[0])
	}

	fromSnap, code, body := cinderCreate(f, tok, `"size":null,"name":"fromsnap","snapshot_id":"`+snap.Snapshot.ID+`"`)
	if fromSnap == nil || fromSnap.SnapshotID == nil || *fromSnap.SnapshotID != snap.Snapshot.ID || fromSnap.Size != 1 {
		t.Fatalf("create from snapshot = %d %s", code, body)
	}
	clone, code, body := cinderCreate(f, tok, `"size":2,"source_volid":"`+v.ID+`"`)
	if clone == nil || clone.SourceVolID == nil || *clone.SourceVolID != v.ID || clone.SnapshotID != nil || !strings.HasPrefix(clone.Name, "volume-") || clone.Size != 2 {
		t.Fatalf("create a clone without a name = %d %s", code, body)
	}

	if rec := f.osDo("DELETE", "/volume/v3/snapshots/"+snap.Snapshot.ID, tok, ""); rec.Code != http.StatusBadRequest || !strings.Contains(rec.Body.String(), `"badRequest"`) {
		t.Errorf("deleting a snapshot a volume is made from = %d %s, want 400", rec.Code, rec.Body)
	}
	if rec := f.osDo("DELETE", "/volume/v3/volumes/"+fromSnap.ID, tok, ""); rec.Code != http.StatusAccepted {
		t.Fatalf("delete fromsnap = %d %s", rec.Code, rec.Body)
	}
}

func TestCinderRefusesBadInputInCindersShape(t *testing.T) {
	f := newAuthFixture(t)
	tok := f.tokens["member"]
	v, code, body := cinderCreate(f, tok, `"size":1,"name":"v1"`)
	if v == nil {
		t.Fatalf("create = %d %s", code, body)
	}
	other, _, _ := cinderCreate(f, f.tokens["memberb"], `"size":1,"name":"theirs"`)
	// Quotas and images are not wired into this fixture's volume service: the e2e test
	// (appliance/e2e/openstack/volumes_test.go) covers 413 over quota.
	for _, tc := range []struct {
		name   string
		fields string
		code   int
		fault  string
	}{
		{"size 0", `"size":0,"name":"z"`, 400, "badRequest"},
		{"no size", `"name":"z"`, 400, "badRequest"},
		{"an unknown snapshot", `"name":"z","snapshot_id":"4b0c1e7e-8f1a-4d6b-9c57-0d7f3b2a1e99"`, 404, "itemNotFound"},
		{"a snapshot name for its id", `"name":"z","snapshot_id":"s1"`, 404, "itemNotFound"},
		{"another project's volume as source", `"name":"z","source_volid":"` + other.ID + `"`, 404, "itemNotFound"},
		{"an unknown volume type", `"size":1,"name":"z","volume_type":"ssd"`, 404, "itemNotFound"},
		{"an unknown zone", `"size":1,"name":"z","availability_zone":"az9"`, 400, "badRequest"},
		{"a name cloudlet refuses", `"size":1,"name":"a/b"`, 400, "badRequest"},
		{"a duplicate name", `"size":1,"name":"v1"`, 409, "conflictingRequest"},
	} {
		if got, code, body := cinderCreate(f, tok, tc.fields); got != nil || code != tc.code || !strings.Contains(body, `"`+tc.fault+`":{"code":`) {
			t.Errorf("%s: create = %d %s, want %d %s", tc.name, code, body, tc.code, tc.fault)
		}
	}
	for _, tc := range []struct {
		name, method, path, body string
		code                     int
	}{
		{"a name for an id", "GET", "/volume/v3/volumes/v1", "", 404},
		{"another project's volume", "GET", "/volume/v3/volumes/" + other.ID, "", 404},
		{"deleting another project's volume", "DELETE", "/volume/v3/volumes/" + other.ID, "", 404},
		{"another project in the URL", "GET", "/volume/v3/" + f.volumeNamed("memberb", "theirs").ProjectID + "/volumes", "", 404},
		{"shrinking", "POST", "/volume/v3/volumes/" + v.ID + "/action", `{"os-extend":{"new_size":1}}`, 400},
		{"an unknown action", "POST", "/volume/v3/volumes/" + v.ID + "/action", `{"os-attach":{"instance_uuid":"x"}}`, 400},
		{"an update with nothing to change", "PUT", "/volume/v3/volumes/" + v.ID, `{"volume":{}}`, 400},
		{"an unknown collection", "GET", "/volume/v3/backups", "", 404},
	} {
		rec := f.osDo(tc.method, tc.path, tok, tc.body)
		if rec.Code != tc.code || !strings.Contains(rec.Body.String(), `{"code":`) {
			t.Errorf("%s: %s %s = %d %s, want %d", tc.name, tc.method, tc.path, rec.Code, rec.Body, tc.code)
		}
	}
	if rec := f.osDo("GET", "/volume/v3/volumes", tok, "", "OpenStack-API-Version", "volume 3.5"); rec.Code != http.StatusNotAcceptable ||
		!strings.Contains(rec.Body.String(), "Minimum is 3.0 and maximum is 3.0") {
		t.Errorf("microversion 3.5 = %d %s, want 406", rec.Code, rec.Body)
	}
	if rec := f.osDo("GET", "/volume/v3/volumes", tok, "", "OpenStack-API-Version", "volume 3.0"); rec.Code != 200 {
		t.Errorf("microversion 3.0 = %d %s", rec.Code, rec.Body)
	}
	if rec := f.osDo("GET", "/volume/v3/volumes", "", ""); rec.Code != http.StatusUnauthorized || !strings.Contains(rec.Body.String(), `"error":{"code":401`) {
		t.Errorf("no token = %d %s, want Keystone's 401", rec.Code, rec.Body)
	}
	if rec := f.osDo("POST", "/volume/v3/volumes", f.tokens["reader"], `{"volume":{"size":1,"name":"r"}}`); rec.Code != http.StatusForbidden || !strings.Contains(rec.Body.String(), `"forbidden"`) {
		t.Errorf("a reader's create = %d %s, want 403", rec.Code, rec.Body)
	}
}

func TestCinderTypesZonesAndLimitsAndNovaLimits(t *testing.T) {
	f := newAuthFixture(t)
	f.srv.opts.Quotas = identityQuotas{id: f.ids, usage: map[string]int64{identity.QuotaVolumes: 1, identity.QuotaInstances: 2}}
	tok := f.tokens["member"]
	for path, want := range map[string]string{
		"/volume/v3/types":                   `"name":"__DEFAULT__"`,
		"/volume/v3/types/default":           `"name":"__DEFAULT__"`,
		"/volume/v3/os-availability-zone":    `"zoneName":"nova"`,
		"/volume/v3/limits":                  `"totalVolumesUsed":1`,
		"/compute/v2.1/limits":               `"totalInstancesUsed":2`,
		"/compute/v2.1/os-availability-zone": `"zoneName":"nova"`,
	} {
		if rec := f.osDo("GET", path, tok, ""); rec.Code != 200 || !strings.Contains(rec.Body.String(), want) {
			t.Errorf("GET %s = %d %s, want %s", path, rec.Code, rec.Body, want)
		}
	}
	var limits struct {
		Limits struct {
			Absolute map[string]int64
			Rate     []any
		}
	}
	decodeInto(t, f.osDo("GET", "/compute/v2.1/limits", tok, ""), &limits)
	if a := limits.Limits.Absolute; a["maxTotalInstances"] != 10 || a["maxTotalCores"] != 20 || a["maxTotalRAMSize"] != 51200 ||
		a["maxTotalKeypairs"] != 100 || limits.Limits.Rate == nil {
		t.Errorf("compute limits = %+v, want the default quotas", limits)
	}
	var pa struct {
		ProjectID string `json:"project_id"`
	}
	decodeInto(t, f.do("GET", "/api/v1/quotas", tok, ""), &pa)
	for _, path := range []string{"/compute/v2.1/os-quota-sets/" + pa.ProjectID, "/volume/v3/os-quota-sets/" + pa.ProjectID} {
		if rec := f.osDo("GET", path, tok, ""); rec.Code != 200 || !strings.Contains(rec.Body.String(), `"id":"`+pa.ProjectID+`"`) {
			t.Errorf("GET %s = %d %s", path, rec.Code, rec.Body)
		}
	}
	if rec := f.osDo("GET", "/compute/v2.1/os-quota-sets/pb", tok, ""); rec.Code != http.StatusNotFound {
		t.Errorf("another project's quota set = %d %s, want 404", rec.Code, rec.Body)
	}
	if rec := f.osDo("GET", "/volume/v3/types/ssd", tok, ""); rec.Code != http.StatusNotFound {
		t.Errorf("an unknown type = %d, want 404", rec.Code)
	}
}

func TestCinderVolumeMetadataMergesReplacesAndDeletesKeys(t *testing.T) {
	f := newAuthFixture(t)
	tok := f.tokens["member"]
	v, code, body := cinderCreate(f, tok, `"size":1,"name":"v1","metadata":{"a":"1"}`)
	if v == nil {
		t.Fatalf("create = %d %s", code, body)
	}
	path := "/volume/v3/volumes/" + v.ID + "/metadata"
	if rec := f.osDo("POST", path, tok, `{"metadata":{"b":"2"}}`); rec.Code != 200 || !strings.Contains(rec.Body.String(), `"metadata":{"a":"1","b":"2"}`) {
		t.Errorf("merge = %d %s", rec.Code, rec.Body)
	}
	if rec := f.osDo("DELETE", path+"/a", tok, ""); rec.Code != 200 {
		t.Errorf("delete key a = %d %s", rec.Code, rec.Body)
	}
	if got := f.volumeNamed("member", "v1").Metadata; len(got) != 1 || got["b"] != "2" {
		t.Errorf("/api/v1 metadata after merge and delete = %v, want b=2", got)
	}
	if rec := f.osDo("PUT", path, tok, `{"metadata":{"c":"3"}}`); rec.Code != 200 || !strings.Contains(rec.Body.String(), `"metadata":{"c":"3"}`) {
		t.Errorf("replace = %d %s", rec.Code, rec.Body)
	}
	if rec := f.osDo("DELETE", path+"/nope", tok, ""); rec.Code != http.StatusNotFound {
		t.Errorf("delete an unknown key = %d, want 404", rec.Code)
	}
	if rec := f.osDo("GET", path, tok, ""); rec.Code != 200 || !strings.Contains(rec.Body.String(), `{"metadata":{"c":"3"}}`) {
		t.Errorf("show metadata = %d %s", rec.Code, rec.Body)
	}
}

// keysOf is the sorted keys of the object under top in a recorded answer.
func keysOf(t *testing.T, rec *httptest.ResponseRecorder, top string) string {
	t.Helper()
	var body map[string]map[string]any
	decodeInto(t, rec, &body)
	keys := slices.Sorted(maps.Keys(body[top]))
	return strings.Join(keys, " ")
}

// Tempest checks Cinder's answers against schemas that allow no other keys and require these.
func TestCinderViewsHaveExactlyTheKeysOfCindersSchemas(t *testing.T) {
	f := newAuthFixture(t)
	tok := f.tokens["member"]
	const changed = "attachments availability_zone bootable consistencygroup_id created_at description encrypted id links " +
		"metadata migration_status multiattach name replication_status size snapshot_id source_volid status updated_at user_id volume_type"
	rec := f.osDo("POST", "/volume/v3/volumes", tok, `{"volume":{"size":1,"name":"v1"}}`)
	if got := keysOf(t, rec, "volume"); got != changed {
		t.Errorf("create answers keys\n%s\nwant\n%s", got, changed)
	}
	v := f.volumeNamed("member", "v1")
	if got, want := keysOf(t, f.osDo("GET", "/volume/v3/volumes/"+v.ID, tok, ""), "volume"), strings.Replace(changed, "name ", "name os-vol-tenant-attr:tenant_id ", 1); got != want {
		t.Errorf("show answers keys\n%s\nwant\n%s", got, want)
	}
	if got := keysOf(t, f.osDo("PUT", "/volume/v3/volumes/"+v.ID, tok, `{"volume":{"description":"d"}}`), "volume"); got != changed {
		t.Errorf("update answers keys\n%s\nwant\n%s", got, changed)
	}
	const snapshot = "created_at description id metadata name size status updated_at volume_id"
	rec = f.osDo("POST", "/volume/v3/snapshots", tok, `{"snapshot":{"volume_id":"`+v.ID+`","name":"s1"}}`)
	if got := keysOf(t, rec, "snapshot"); got != snapshot {
		t.Errorf("snapshot create answers keys\n%s\nwant\n%s", got, snapshot)
	}
	var created struct{ Snapshot struct{ ID string } }
	decodeInto(t, rec, &created)
	want := "created_at description id metadata name os-extended-snapshot-attributes:progress os-extended-snapshot-attributes:project_id size status updated_at volume_id"
	if got := keysOf(t, f.osDo("GET", "/volume/v3/snapshots/"+created.Snapshot.ID, tok, ""), "snapshot"); got != want {
		t.Errorf("snapshot show answers keys\n%s\nwant\n%s", got, want)
	}
}

func TestCinderShowsTheAttachmentAndRefusesToDeleteAnAttachedVolumeWith400(t *testing.T) {
	f := newAuthFixture(t)
	tok := f.tokens["member"]
	if v, code, body := cinderCreate(f, tok, `"size":1,"name":"v1"`); v == nil {
		t.Fatalf("create = %d %s", code, body)
	}
	v := f.volumeNamed("member", "v1")
	const server = "0c7a4f1e-2b3d-4e5f-8a9b-1c2d3e4f5a6b"
	ctx := t.Context()
	if _, err := f.srv.opts.Volumes.Reserve(ctx, v.ProjectID, v.ID, server); err != nil {
		t.Fatal(err)
	}
	if _, err := f.srv.opts.Volumes.Attached(ctx, v.ID, "vdb", false, false); err != nil {
		t.Fatal(err)
	}
	var shown struct{ Volume cinderVolume }
	decodeInto(t, f.osDo("GET", "/volume/v3/volumes/"+v.ID, tok, ""), &shown)
	if a := shown.Volume.Attachments; shown.Volume.Status != "in-use" || len(a) != 1 || a[0]["server_id"] != server ||
		a[0]["device"] != "/dev/vdb" || a[0]["volume_id"] != v.ID {
		t.Errorf("attached volume = %+v, want in-use with the server and /dev/vdb", shown.Volume)
	}
	rec := f.osDo("DELETE", "/volume/v3/volumes/"+v.ID, tok, "")
	if rec.Code != http.StatusBadRequest || !strings.Contains(rec.Body.String(), `"badRequest":{"code":400,"message":"Invalid volume: `) {
		t.Errorf("deleting an attached volume = %d %s, want Cinder's 400 invalid volume", rec.Code, rec.Body)
	}
	if rec := f.do("GET", "/api/v1/volumes/"+v.ID, tok, ""); rec.Code != 200 {
		t.Errorf("the attached volume after the refused delete = %d, want still there", rec.Code)
	}
}
