package volume

import (
	"os"
	"os/exec"
	"strings"
	"testing"
)

// An exported snapshot is one standalone qcow2 file with the snapshot's data, whatever its chain.
func TestExportSnapshotFlattensTheChain(t *testing.T) {
	e := newEnv(t)
	v := e.create(CreateRequest{Name: "data", SizeGiB: 1})
	qemuIO(t, v.Path, "qcow2", "write -P 0xab 0 64k")
	e.snapshot("data", "s1")
	qemuIO(t, e.get("data").Path, "qcow2", "write -P 0xcd 0 64k") // after the snapshot: not exported
	path, cleanup, err := e.svc.ExportSnapshot(ctx, proj, "s1")
	if err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command("qemu-img", "info", "-f", "qcow2", "--output=json", path).CombinedOutput()
	if err != nil || strings.Contains(string(out), "backing-filename") {
		t.Errorf("exported file has a backing file or is unreadable (%v): %s", err, out)
	}
	qemuIO(t, path, "qcow2", "read -P 0xab 0 64k")
	cleanup()
	if _, err := os.Stat(path); !os.IsNotExist(err) {
		t.Errorf("cleanup left %s", path)
	}
	if _, _, err := e.svc.ExportSnapshot(ctx, other, "s1"); err == nil {
		t.Error("another project exported the snapshot")
	}
}
