package volume

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"cloudlet/appliance/fault"
	"cloudlet/store"
)

func TestDefaultPool(t *testing.T) {
	e := newEnv(t)
	p := e.pool
	if p == nil || p.Name != DefaultPoolName || !p.Default || p.Path != filepath.Join(e.dir, "pools", "default") ||
		p.ClusterSize != DefaultClusterSize || p.Preallocation != PreallocOff {
		t.Fatalf("default pool = %+v", p)
	}
	fi, err := os.Stat(p.Path)
	if err != nil || fi.Mode().Perm() != 0o711 {
		t.Fatalf("pool dir: %v %v, want mode 0711", fi, err)
	}
	again, err := e.svc.EnsureDefaultPool(ctx, "/elsewhere")
	if err != nil || again.ID != p.ID {
		t.Fatalf("second EnsureDefaultPool = %+v, %v; want the same pool", again, err)
	}
	all, _ := e.svc.Pools(ctx)
	if len(all) != 1 {
		t.Fatalf("%d pools, want 1", len(all))
	}
	if got := e.events(p.ID); len(got) != 1 || got[0] != "pool.created" {
		t.Fatalf("events %v", got)
	}
}

func TestCreatePoolBadInput(t *testing.T) {
	e := newEnv(t)
	file := filepath.Join(e.dir, "afile")
	os.WriteFile(file, nil, 0o600)
	for _, tc := range []struct {
		name string
		p    Pool
		want fault.Kind
	}{
		{"dotdot name", Pool{Meta: store.Meta{Name: "../x"}, Path: e.dir + "/a"}, fault.Invalid},
		{"comma name", Pool{Meta: store.Meta{Name: "a,b"}, Path: e.dir + "/a"}, fault.Invalid},
		{"dash name", Pool{Meta: store.Meta{Name: "-x"}, Path: e.dir + "/a"}, fault.Invalid},
		{"relative path", Pool{Meta: store.Meta{Name: "a"}, Path: "pools/a"}, fault.Invalid},
		{"unclean path", Pool{Meta: store.Meta{Name: "a"}, Path: e.dir + "/x/../a"}, fault.Invalid},
		{"comma path", Pool{Meta: store.Meta{Name: "a"}, Path: e.dir + "/a,b"}, fault.Invalid},
		{"colon path", Pool{Meta: store.Meta{Name: "a"}, Path: e.dir + "/a:b"}, fault.Invalid},
		{"root", Pool{Meta: store.Meta{Name: "a"}, Path: "/"}, fault.Invalid},
		{"file", Pool{Meta: store.Meta{Name: "a"}, Path: file}, fault.Invalid},
		{"cluster not power of two", Pool{Meta: store.Meta{Name: "a"}, Path: e.dir + "/a", ClusterSize: 3000}, fault.Invalid},
		{"cluster too small", Pool{Meta: store.Meta{Name: "a"}, Path: e.dir + "/a", ClusterSize: 256}, fault.Invalid},
		{"cluster too big", Pool{Meta: store.Meta{Name: "a"}, Path: e.dir + "/a", ClusterSize: 4 << 20}, fault.Invalid},
		{"preallocation", Pool{Meta: store.Meta{Name: "a"}, Path: e.dir + "/a", Preallocation: "falloc"}, fault.Invalid},
		{"name taken", Pool{Meta: store.Meta{Name: "default"}, Path: e.dir + "/a"}, fault.Conflict},
		{"same dir", Pool{Meta: store.Meta{Name: "a"}, Path: e.pool.Path}, fault.Conflict},
		{"nested dir", Pool{Meta: store.Meta{Name: "a"}, Path: e.pool.Path + "/inner"}, fault.Conflict},
		{"parent dir", Pool{Meta: store.Meta{Name: "a"}, Path: filepath.Dir(e.pool.Path)}, fault.Conflict},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := e.svc.CreatePool(ctx, tc.p)
			wantKind(t, err, tc.want)
		})
	}
	if all, _ := e.svc.Pools(ctx); len(all) != 1 {
		t.Errorf("%d pools after bad input, want 1", len(all))
	}
	if _, err := os.Stat(e.dir + "/a"); !os.IsNotExist(err) {
		t.Errorf("a refused pool left its directory: %v", err)
	}
	if _, err := os.Stat(e.pool.Path + "/inner"); !os.IsNotExist(err) {
		t.Errorf("a refused pool left its directory: %v", err)
	}
}

func TestPoolCreateStatsDelete(t *testing.T) {
	e := newEnv(t)
	path := filepath.Join(e.dir, "ssd", "pool")
	p, err := e.svc.CreatePool(ctx, Pool{Meta: store.Meta{Name: "ssd"}, Path: path, ClusterSize: 128 << 10, Preallocation: PreallocMetadata})
	if err != nil {
		t.Fatal(err)
	}
	if p.Default {
		t.Error("a second pool became the default")
	}
	if fi, err := os.Stat(path); err != nil || fi.Mode().Perm() != 0o711 {
		t.Fatalf("pool dir: %v %v", fi, err)
	}
	v := e.create(CreateRequest{Name: "data", Pool: "ssd", SizeGiB: 1})
	if v.PoolID != p.ID || filepath.Dir(filepath.Dir(v.Path)) != path {
		t.Fatalf("volume in %s at %s", v.PoolID, v.Path)
	}
	sparse := e.create(CreateRequest{Name: "sparse", SizeGiB: 1}) // default pool: preallocation off
	if got, off := chain(t, v.Path)[0].ActualSize, chain(t, sparse.Path)[0].ActualSize; got < 2*off {
		t.Errorf("actual size %d vs %d without preallocation: preallocation=metadata not applied", got, off)
	}
	st, err := e.svc.Pool(ctx, "ssd")
	if err != nil {
		t.Fatal(err)
	}
	if st.Volumes != 1 || st.UsedBytes <= 0 || st.CapacityBytes <= 0 || st.FreeBytes <= 0 || st.FreeBytes > st.CapacityBytes || st.Error != "" {
		t.Fatalf("stats %+v", st)
	}
	err = e.svc.DeletePool(ctx, "ssd")
	wantKind(t, err, fault.Conflict)
	if !strings.Contains(err.Error(), "volume data ("+v.ID+")") {
		t.Errorf("refusal %q does not name the volume", err)
	}
	if err := e.svc.Delete(ctx, proj, "data"); err != nil {
		t.Fatal(err)
	}
	if err := e.svc.DeletePool(ctx, "ssd"); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(path); err != nil {
		t.Errorf("the pool's directory went: %v", err)
	}
	if got := e.events(p.ID); strings.Join(got, " ") != "pool.created pool.deleted" {
		t.Errorf("events %v", got)
	}
}

func TestSetDefaultPool(t *testing.T) {
	e := newEnv(t)
	p, err := e.svc.CreatePool(ctx, Pool{Meta: store.Meta{Name: "bulk"}, Path: filepath.Join(e.dir, "bulk")})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.svc.SetDefaultPool(ctx, "bulk"); err != nil {
		t.Fatal(err)
	}
	v := e.create(CreateRequest{Name: "v", SizeGiB: 1})
	if v.PoolID != p.ID {
		t.Errorf("volume went to pool %s, want the new default %s", v.PoolID, p.ID)
	}
	all, _ := e.svc.Pools(ctx)
	n := 0
	for _, p := range all {
		if p.Default {
			n++
		}
	}
	if n != 1 {
		t.Errorf("%d default pools", n)
	}
}
