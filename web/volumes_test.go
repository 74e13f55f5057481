package web

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http/httptest"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"cloudlet/appliance/compute"
	"cloudlet/appliance/fault"
	"cloudlet/appliance/network"
	"cloudlet/appliance/volume"
	"cloudlet/images"
	"cloudlet/internal/testkit"
	"cloudlet/store"
)

// volumeFixture serves the API over real volume and compute services (real catalog, real
// qemu-img) to two projects: srv acts in p1, other in p2. Every answer's body is kept in bodies,
// so a test can check what the API ever showed.
type volumeFixture struct {
	t          *testing.T
	dir        string
	vols       *volume.Service
	srv, other *Server
	bodies     []string
}

func newVolumeFixture(t *testing.T) *volumeFixture {
	t.Helper()
	dir := t.TempDir()
	db := testkit.Catalog(t, dir, store.Options{})
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	testkit.ImageRecord(t, db, "tiny-id", "tiny", "")
	vols, err := volume.New(volume.Options{DB: db, Log: log, Images: testImageSource(t, dir)})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := vols.EnsureDefaultPool(context.Background(), filepath.Join(dir, "pools", "default")); err != nil {
		t.Fatal(err)
	}
	noImages := func(context.Context, string, string) (compute.BootImage, error) {
		return compute.BootImage{}, fault.New(fault.NotFound, "no images here")
	}
	comp, err := compute.New(compute.Options{DB: db, Log: log, RunDir: filepath.Join(dir, "run"),
		StateDir: filepath.Join(dir, "state"), Images: noImages, Volumes: volumesForCompute{v: vols}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { comp.Close() })
	f := &volumeFixture{t: t, dir: dir, vols: vols}
	f.srv, f.other = f.server(comp, "p1"), f.server(comp, "p2")
	return f
}

func (f *volumeFixture) server(comp *compute.Service, project string) *Server {
	f.t.Helper()
	s, err := New(Options{
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil)), Host: testHostService(),
		Backup:  func(io.Writer) (int64, error) { return 0, nil },
		Events:  func(uint64, int) ([]json.RawMessage, error) { return nil, nil },
		Compute: comp, Images: &images.Service{}, Volumes: f.vols, Networks: &network.Service{}, // neither images nor networks are reached
		MaxBodyBytes: 1024, DefaultProject: project,
	})
	if err != nil {
		f.t.Fatal(err)
	}
	return s
}

// testImageSource resolves image "tiny" to a 64 MiB qcow2 file; any other reference is not found.
func testImageSource(t *testing.T, dir string) volume.ImageSource {
	t.Helper()
	path := filepath.Join(dir, "tiny.qcow2")
	if out, err := exec.Command("qemu-img", "create", "-q", "-f", "qcow2", path, "64M").CombinedOutput(); err != nil {
		t.Fatalf("qemu-img create: %v: %s", err, out)
	}
	return func(_ context.Context, _, ref string) (volume.ImageFile, error) {
		if ref != "tiny" {
			return volume.ImageFile{}, fault.New(fault.NotFound, "image %s not found", ref)
		}
		return volume.ImageFile{ID: "tiny-id", Path: path, Format: "qcow2", VirtualSize: 64 << 20}, nil
	}
}

// volumesForCompute is the part of appliance's adapter these tests reach (attach and detach through
// compute); the embedded nil interface panics if compute ever needs more here.
type volumesForCompute struct {
	compute.Volumes
	v *volume.Service
}

func (a volumesForCompute) Get(ctx context.Context, projectID, ref string) (compute.Volume, error) {
	return toCompute(a.v.Get(ctx, projectID, ref))
}

func (a volumesForCompute) Reserve(ctx context.Context, projectID, ref, instanceID string) (compute.Volume, error) {
	return toCompute(a.v.Reserve(ctx, projectID, ref, instanceID))
}

func (a volumesForCompute) AttachedTo(ctx context.Context, instanceID string) ([]compute.Volume, error) {
	vs, err := a.v.AttachedTo(ctx, instanceID)
	var out []compute.Volume
	for _, v := range vs {
		cv, _ := toCompute(v, nil)
		out = append(out, cv)
	}
	return out, err
}

func (a volumesForCompute) Detached(ctx context.Context, id string) error {
	_, err := a.v.Detached(ctx, id)
	return err
}

func toCompute(v *volume.Volume, err error) (compute.Volume, error) {
	if err != nil {
		return compute.Volume{}, err
	}
	cv := compute.Volume{ID: v.ID, Name: v.Name, ProjectID: v.ProjectID, Path: v.Path, Format: "qcow2"}
	if at := v.Attachment; at != nil {
		cv.InstanceID, cv.Port, cv.Boot = at.InstanceID, at.Device, at.Boot
	}
	return cv, nil
}

// do sends one request from loopback (an admin caller) to s and keeps the answer's body.
func (f *volumeFixture) do(s *Server, method, path, body string) *httptest.ResponseRecorder {
	f.t.Helper()
	var r io.Reader
	if body != "" {
		r = strings.NewReader(body)
	}
	rec := do(f.t, s, method, path, loopbackAddr, r)
	f.bodies = append(f.bodies, rec.Body.String())
	return rec
}

// apiStep is one request of a scenario and the answer it must get.
type apiStep struct {
	name         string
	method, path string
	body         string
	want         int
	contains     string
}

// run sends the steps in order to s; each sees what the steps before it did.
func (f *volumeFixture) run(s *Server, steps []apiStep) {
	f.t.Helper()
	for _, st := range steps {
		rec := f.do(s, st.method, st.path, st.body)
		if rec.Code != st.want || !strings.Contains(rec.Body.String(), st.contains) {
			f.t.Errorf("%s: %s %s %s = %d %s, want %d containing %q",
				st.name, st.method, st.path, st.body, rec.Code, rec.Body, st.want, st.contains)
		}
	}
}

// volume makes a volume through the service, for tests about other routes.
func (f *volumeFixture) volume(name string, sizeGiB int) *volume.Volume {
	f.t.Helper()
	v, err := f.vols.Create(context.Background(), "p1", volume.CreateRequest{Name: name, SizeGiB: sizeGiB})
	if err != nil {
		f.t.Fatal(err)
	}
	return v
}

// attach marks a volume attached to an instance as compute does after a hotplug.
func (f *volumeFixture) attach(name, instanceID string) {
	f.t.Helper()
	ctx := context.Background()
	v, err := f.vols.Reserve(ctx, "p1", name, instanceID)
	if err == nil {
		_, err = f.vols.Attached(ctx, v.ID, "vdb", false, false)
	}
	if err != nil {
		f.t.Fatal(err)
	}
}

func decodeAnswer[T any](t *testing.T, rec *httptest.ResponseRecorder) T {
	t.Helper()
	var v T
	if err := json.Unmarshal(rec.Body.Bytes(), &v); err != nil {
		t.Fatalf("answer %d %q: %v", rec.Code, rec.Body, err)
	}
	return v
}

func TestPoolRoutes(t *testing.T) {
	f := newVolumeFixture(t)
	fast := filepath.Join(f.dir, "fast")
	f.run(f.srv, []apiStep{
		{"list has the default pool", "GET", "/api/v1/pools", "", 200, `"name":"default"`},
		{"show with capacity", "GET", "/api/v1/pools/default", "", 200, `"capacity_bytes"`},
		{"show unknown", "GET", "/api/v1/pools/nope", "", 404, "not found"},
		{"create", "POST", "/api/v1/pools", fmt.Sprintf(`{"name":"fast","path":%q,"preallocation":"metadata"}`, fast), 201, `"preallocation":"metadata"`},
		{"create answers capacity", "POST", "/api/v1/pools", fmt.Sprintf(`{"name":"bulk","path":%q}`, fast+"2"), 201, `"free_bytes"`},
		{"create relative path", "POST", "/api/v1/pools", `{"name":"rel","path":"pools/rel"}`, 400, "absolute"},
		{"create nested path", "POST", "/api/v1/pools", fmt.Sprintf(`{"name":"nested","path":%q}`, fast+"/inner"), 409, "overlaps"},
		{"create name taken", "POST", "/api/v1/pools", fmt.Sprintf(`{"name":"fast","path":%q}`, fast+"3"), 409, ""},
		{"create bad cluster size", "POST", "/api/v1/pools", fmt.Sprintf(`{"name":"odd","path":%q,"cluster_size":1000}`, fast+"4"), 400, "power of two"},
		{"create cluster size as string", "POST", "/api/v1/pools", `{"name":"odd","path":"/x","cluster_size":"64k"}`, 400, "cluster_size"},
		{"create unknown field", "POST", "/api/v1/pools", `{"name":"odd","path":"/x","size":1}`, 400, "unknown field"},
		{"create malformed", "POST", "/api/v1/pools", `{"name":`, 400, "invalid JSON"},
		{"make fast default", "POST", "/api/v1/pools/fast/default", "", 200, `"default":true`},
		{"make default with an empty object", "POST", "/api/v1/pools/fast/default", "{}", 200, `"default":true`},
		{"make default with a body", "POST", "/api/v1/pools/fast/default", `{"pool":"x"}`, 400, "unknown field"},
		{"make unknown default", "POST", "/api/v1/pools/nope/default", "", 404, ""},
		{"a volume lands in the default pool", "POST", "/api/v1/volumes", `{"name":"data","size_gib":1}`, 201, `"status":"available"`},
		{"delete a pool holding a volume", "DELETE", "/api/v1/pools/fast", "", 409, "holds volume data"},
		{"delete an empty pool", "DELETE", "/api/v1/pools/bulk", "", 204, ""},
		{"delete it again", "DELETE", "/api/v1/pools/bulk", "", 404, ""},
	})
}

func TestVolumeRoutes(t *testing.T) {
	f := newVolumeFixture(t)
	f.run(f.srv, []apiStep{
		{"list empty", "GET", "/api/v1/volumes", "", 200, "[]"},
		{"create empty", "POST", "/api/v1/volumes", `{"name":"data","size_gib":1}`, 201, `"size_gib":1`},
		{"create in a named pool", "POST", "/api/v1/volumes", `{"name":"logs","size_gib":2,"pool":"default","bootable":true}`, 201, `"bootable":true`},
		{"create from an image", "POST", "/api/v1/volumes", `{"name":"root","image":"tiny"}`, 201, `"image_id":"tiny-id"`},
		{"create a clone", "POST", "/api/v1/volumes", `{"name":"copy","volume":"data"}`, 201, `"volume_id"`},
		{"create a full copy", "POST", "/api/v1/volumes", `{"name":"full","volume":"data","full_copy":true}`, 201, `"full_copy":true`},
		{"create without size", "POST", "/api/v1/volumes", `{"name":"nosize"}`, 400, "size_gib"},
		{"create with negative size", "POST", "/api/v1/volumes", `{"name":"neg","size_gib":-1}`, 400, "size_gib"},
		{"create too big", "POST", "/api/v1/volumes", `{"name":"huge","size_gib":99999999}`, 400, "size_gib"},
		{"create with size as string", "POST", "/api/v1/volumes", `{"name":"str","size_gib":"10"}`, 400, `size_gib\" must be int`},
		{"create with fractional size", "POST", "/api/v1/volumes", `{"name":"frac","size_gib":1.5}`, 400, "size_gib"},
		{"create a clone smaller than its source", "POST", "/api/v1/volumes", `{"name":"small","volume":"logs","size_gib":1}`, 400, "smaller"},
		{"create with a bad name", "POST", "/api/v1/volumes", `{"name":"Bad Name","size_gib":1}`, 400, "name"},
		{"create with two sources", "POST", "/api/v1/volumes", `{"name":"two","image":"tiny","volume":"data"}`, 400, "at most one"},
		{"create from an unknown image", "POST", "/api/v1/volumes", `{"name":"x","image":"nope"}`, 404, "nope"},
		{"create from an unknown snapshot", "POST", "/api/v1/volumes", `{"name":"x","snapshot":"nope"}`, 404, ""},
		{"create in an unknown pool", "POST", "/api/v1/volumes", `{"name":"x","size_gib":1,"pool":"nope"}`, 404, ""},
		{"create name taken", "POST", "/api/v1/volumes", `{"name":"data","size_gib":1}`, 409, "data"},
		{"create with an unknown field", "POST", "/api/v1/volumes", `{"name":"x","size":1}`, 400, "unknown field"},
		{"create malformed", "POST", "/api/v1/volumes", `{"name":`, 400, "invalid JSON"},
		{"create empty body", "POST", "/api/v1/volumes", ``, 400, "empty"},
		{"list", "GET", "/api/v1/volumes", "", 200, `"name":"logs"`},
		{"show by name", "GET", "/api/v1/volumes/data", "", 200, `"name":"data"`},
		{"show unknown", "GET", "/api/v1/volumes/nope", "", 404, "not found"},

		{"extend", "POST", "/api/v1/volumes/data/extend", `{"size_gib":3}`, 200, `"size_gib":3`},
		{"extend to a smaller size", "POST", "/api/v1/volumes/data/extend", `{"size_gib":2}`, 400, "only grow"},
		{"extend without size", "POST", "/api/v1/volumes/data/extend", `{}`, 400, "only grow"},
		{"extend with size as string", "POST", "/api/v1/volumes/data/extend", `{"size_gib":"4"}`, 400, "size_gib"},
		{"extend unknown", "POST", "/api/v1/volumes/nope/extend", `{"size_gib":4}`, 404, ""},

		{"set qos", "POST", "/api/v1/volumes/data/qos", `{"read_iops":500,"write_bytes_sec":1048576}`, 200, `"read_iops":500`},
		{"clear qos", "POST", "/api/v1/volumes/data/qos", `{}`, 200, `"qos":{}`},
		{"negative qos", "POST", "/api/v1/volumes/data/qos", `{"read_iops":-1}`, 400, "read_iops"},
		{"qos over the bound", "POST", "/api/v1/volumes/data/qos", `{"write_iops":1e12}`, 400, "write_iops"},
		{"qos unknown field", "POST", "/api/v1/volumes/data/qos", `{"iops":1}`, 400, "unknown field"},
		{"qos unknown volume", "POST", "/api/v1/volumes/nope/qos", `{"read_iops":1}`, 404, ""},

		{"set bootable", "POST", "/api/v1/volumes/data/bootable", `{"bootable":true}`, 200, `"bootable":true`},
		{"clear bootable", "POST", "/api/v1/volumes/data/bootable", `{"bootable":false}`, 200, `"bootable":false`},
		{"bootable missing", "POST", "/api/v1/volumes/data/bootable", `{}`, 400, "bootable"},
		{"bootable as string", "POST", "/api/v1/volumes/data/bootable", `{"bootable":"yes"}`, 400, "bootable"},
		{"bootable unknown volume", "POST", "/api/v1/volumes/nope/bootable", `{"bootable":true}`, 404, ""},

		{"delete a clone's source", "DELETE", "/api/v1/volumes/data", "", 409, "copy"},
		{"delete the clone", "DELETE", "/api/v1/volumes/copy", "", 204, ""},
		{"delete unknown", "DELETE", "/api/v1/volumes/nope", "", 404, ""},
		{"show the deleted", "GET", "/api/v1/volumes/copy", "", 404, ""},
	})
}

func TestVolumeAttachRoutes(t *testing.T) {
	f := newVolumeFixture(t)
	f.volume("data", 1)
	f.volume("used", 1)
	f.attach("used", "0c5e1d2b-gone")
	f.run(f.srv, []apiStep{
		{"attach to an unknown instance", "POST", "/api/v1/volumes/data/attach", `{"instance":"web"}`, 404, "web"},
		{"attach without an instance", "POST", "/api/v1/volumes/data/attach", `{}`, 400, "instance is required"},
		{"attach with the flag as string", "POST", "/api/v1/volumes/data/attach", `{"instance":"web","delete_on_termination":"yes"}`, 400, "delete_on_termination"},
		{"attach malformed", "POST", "/api/v1/volumes/data/attach", `{"instance":`, 400, "invalid JSON"},
		{"detach an available volume", "POST", "/api/v1/volumes/data/detach", "", 409, "not attached"},
		{"detach unknown", "POST", "/api/v1/volumes/nope/detach", "", 404, ""},
		{"detach with a body", "POST", "/api/v1/volumes/data/detach", `{"force":true}`, 400, "unknown field"},
		{"detach from a vanished instance", "POST", "/api/v1/volumes/used/detach", "{}", 404, ""},
		{"show in use", "GET", "/api/v1/volumes/used", "", 200, `"status":"in-use"`},
		{"delete in use", "DELETE", "/api/v1/volumes/used", "", 409, "0c5e1d2b-gone"},
		{"transfer in use", "POST", "/api/v1/volumes/used/transfer", "", 409, "in-use"},
		{"snapshot in use (instance stopped)", "POST", "/api/v1/volumes/used/snapshots", `{"name":"s1"}`, 201, `"status":"available"`},
		{"revert in use", "POST", "/api/v1/volumes/used/revert", `{"snapshot":"s1"}`, 409, "in-use"},
		{"extend in use (instance stopped)", "POST", "/api/v1/volumes/used/extend", `{"size_gib":2}`, 200, `"status":"in-use"`},
	})
}

func TestSnapshotRoutes(t *testing.T) {
	f := newVolumeFixture(t)
	f.volume("data", 1)
	f.volume("logs", 1)
	f.run(f.srv, []apiStep{
		{"list none", "GET", "/api/v1/snapshots", "", 200, "[]"},
		{"create", "POST", "/api/v1/volumes/data/snapshots", `{"name":"s1"}`, 201, `"name":"s1"`},
		{"create another", "POST", "/api/v1/volumes/data/snapshots", `{"name":"s2"}`, 201, `"status":"available"`},
		{"create name taken", "POST", "/api/v1/volumes/data/snapshots", `{"name":"s1"}`, 409, ""},
		{"create without name", "POST", "/api/v1/volumes/data/snapshots", `{}`, 400, "snapshot name"},
		{"create with name as number", "POST", "/api/v1/volumes/data/snapshots", `{"name":1}`, 400, "name"},
		{"create of unknown volume", "POST", "/api/v1/volumes/nope/snapshots", `{"name":"s3"}`, 404, ""},
		{"list the volume's", "GET", "/api/v1/volumes/data/snapshots", "", 200, `"name":"s2"`},
		{"list another volume's", "GET", "/api/v1/volumes/logs/snapshots", "", 200, "[]"},
		{"list an unknown volume's", "GET", "/api/v1/volumes/nope/snapshots", "", 404, ""},
		{"list all", "GET", "/api/v1/snapshots", "", 200, `"name":"s1"`},
		{"show", "GET", "/api/v1/snapshots/s1", "", 200, `"volume_id"`},
		{"show unknown", "GET", "/api/v1/snapshots/nope", "", 404, ""},
		{"volume from a snapshot", "POST", "/api/v1/volumes", `{"name":"restored","snapshot":"s1"}`, 201, `"snapshot_id"`},
		{"revert", "POST", "/api/v1/volumes/data/revert", `{"snapshot":"s1"}`, 200, `"status":"available"`},
		{"revert to another volume's snapshot", "POST", "/api/v1/volumes/logs/revert", `{"snapshot":"s1"}`, 400, "not a snapshot of volume logs"},
		{"revert to an unknown snapshot", "POST", "/api/v1/volumes/data/revert", `{"snapshot":"nope"}`, 404, ""},
		{"revert without snapshot", "POST", "/api/v1/volumes/data/revert", `{}`, 400, "snapshot is required"},
		{"revert unknown volume", "POST", "/api/v1/volumes/nope/revert", `{"snapshot":"s1"}`, 404, ""},
		{"delete a volume with snapshots", "DELETE", "/api/v1/volumes/data", "", 409, "snapshot"},
		{"delete a snapshot a volume is based on", "DELETE", "/api/v1/snapshots/s1", "", 409, "restored"},
		{"delete a snapshot", "DELETE", "/api/v1/snapshots/s2", "", 204, ""},
		{"show the deleted", "GET", "/api/v1/snapshots/s2", "", 404, ""},
		{"delete unknown", "DELETE", "/api/v1/snapshots/nope", "", 404, ""},
	})
}

func TestTransferRoutes(t *testing.T) {
	f := newVolumeFixture(t)
	f.volume("data", 1)
	f.volume("keep", 1)

	rec := f.do(f.srv, "POST", "/api/v1/volumes/data/transfer", "")
	tr := decodeAnswer[transferCreated](t, rec)
	if rec.Code != 201 || tr.TransferID == "" || tr.AuthKey == "" {
		t.Fatalf("POST transfer = %d %s", rec.Code, rec.Body)
	}
	rec = f.do(f.srv, "POST", "/api/v1/volumes/keep/transfer", "{}")
	cancel := decodeAnswer[transferCreated](t, rec)
	if rec.Code != 201 {
		t.Fatalf("POST transfer = %d %s", rec.Code, rec.Body)
	}
	accept := "/api/v1/volume-transfers/" + tr.TransferID + "/accept"
	f.run(f.srv, []apiStep{
		{"a second transfer", "POST", "/api/v1/volumes/data/transfer", "", 409, "pending transfer"},
		{"transfer unknown", "POST", "/api/v1/volumes/nope/transfer", "", 404, ""},
		{"transfer with a body", "POST", "/api/v1/volumes/data/transfer", `{"to":"p2"}`, 400, "unknown field"},
		{"show shows the transfer", "GET", "/api/v1/volumes/data", "", 200, tr.TransferID},
		{"list shows the transfer", "GET", "/api/v1/volumes", "", 200, tr.TransferID},
		{"accept into the owner's project", "POST", accept, fmt.Sprintf(`{"auth_key":%q}`, tr.AuthKey), 400, "already belongs"},
	})
	f.run(f.other, []apiStep{
		{"accept with a wrong key", "POST", accept, `{"auth_key":"00112233445566778899aabbccddeeff"}`, 403, "wrong auth key"},
		{"accept without a key", "POST", accept, `{}`, 400, "auth_key is required"},
		{"accept with the key as number", "POST", accept, `{"auth_key":42}`, 400, "auth_key"},
		{"accept unknown", "POST", "/api/v1/volume-transfers/nope/accept", fmt.Sprintf(`{"auth_key":%q}`, tr.AuthKey), 404, "nope"},
		{"accept", "POST", accept, fmt.Sprintf(`{"auth_key":%q}`, tr.AuthKey), 200, `"project_id":"p2"`},
		{"accept twice", "POST", accept, fmt.Sprintf(`{"auth_key":%q}`, tr.AuthKey), 404, ""},
		{"the new owner sees it", "GET", "/api/v1/volumes/data", "", 200, `"status":"available"`},
		{"cancel another project's transfer", "DELETE", "/api/v1/volume-transfers/" + cancel.TransferID, "", 404, ""},
	})
	f.run(f.srv, []apiStep{
		{"the old owner does not", "GET", "/api/v1/volumes/data", "", 404, ""},
		{"cancel", "DELETE", "/api/v1/volume-transfers/" + cancel.TransferID, "", 204, ""},
		{"cancel twice", "DELETE", "/api/v1/volume-transfers/" + cancel.TransferID, "", 404, ""},
		{"cancel unknown", "DELETE", "/api/v1/volume-transfers/nope", "", 404, ""},
		{"the volume is free again", "POST", "/api/v1/volumes/keep/transfer", "", 201, "auth_key"},
	})

	// No answer ever carried a key's hash, nor the field that holds it.
	sums := []string{"key_sha256"}
	for _, key := range []string{tr.AuthKey, cancel.AuthKey} {
		sum := sha256.Sum256([]byte(key))
		sums = append(sums, hex.EncodeToString(sum[:]))
	}
	for _, body := range f.bodies {
		for _, s := range sums {
			if strings.Contains(body, s) {
				t.Errorf("an answer shows %q: %s", s, body)
			}
		}
	}
}

// TestVolumeRouteAccess: pools are admin-only (they are paths on the host), everything else is for members; no route
// answers a caller without credentials.
func TestVolumeRouteAccess(t *testing.T) {
	f := newVolumeFixture(t)
	want := map[string]Access{
		"GET /api/v1/pools":              Admin,
		"GET /api/v1/pools/:id":          Admin,
		"POST /api/v1/pools":             Admin,
		"DELETE /api/v1/pools/:id":       Admin,
		"POST /api/v1/pools/:id/default": Admin,
	}
	checked := 0
	for _, r := range f.srv.Routes() {
		if !strings.HasPrefix(r.Path, "/api/v1/pools") && !strings.HasPrefix(r.Path, "/api/v1/volume") &&
			!strings.HasPrefix(r.Path, "/api/v1/snapshots") {
			continue
		}
		checked++
		key := r.Method + " " + r.Path
		access, ok := want[key]
		if !ok {
			access = Member
		}
		if r.Access != access {
			t.Errorf("%s is %s, want %s", key, r.Access, access)
		}
		path := strings.ReplaceAll(r.Path, ":id", "default")
		if rec := do(t, f.srv, r.Method, path, remoteAddr, strings.NewReader(`{}`)); rec.Code != 401 {
			t.Errorf("%s %s without credentials = %d %s, want 401", r.Method, path, rec.Code, rec.Body)
		}
	}
	if checked != 26 {
		t.Errorf("checked %d volume, pool and snapshot routes, want 26", checked)
	}
	// Nothing changed: the refused create left no pool behind.
	if rec := f.do(f.srv, "GET", "/api/v1/pools", ""); strings.Count(rec.Body.String(), `"path"`) != 1 {
		t.Errorf("pools after refused requests: %s", rec.Body)
	}
}
