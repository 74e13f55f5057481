package qemu_test

import (
	"path/filepath"
	"testing"

	"github.com/google/go-cmp/cmp"

	"cloudlet/appliance/qemu"
)

// TestScan finds each running QEMU by the run root its sockets are under, and nothing else: not
// the other root's QEMU, not a non-QEMU process naming a socket under the root.
func TestScan(t *testing.T) {
	skipShort(t)
	t.Parallel()
	root := t.TempDir()
	rootA, rootB := filepath.Join(root, "a"), filepath.Join(root, "b")
	a := start(t, testSpec(t, rootA, filepath.Join(root, "s")), qemu.StartOptions{})
	b := start(t, testSpec(t, rootB, filepath.Join(root, "s")), qemu.StartOptions{})
	startFake(t, "sh", "-c", "sleep 60; exit 0", "sh",
		"-chardev", "socket,id=qmp,path="+filepath.Join(rootA, "x", "qmp.sock"), "-uuid", "fake")

	for _, tt := range []struct {
		root string
		want []qemu.Found
	}{
		{rootA, []qemu.Found{{PID: a.PID(), UUID: a.UUID(), StartTime: a.StartTime()}}},
		{rootB, []qemu.Found{{PID: b.PID(), UUID: b.UUID(), StartTime: b.StartTime()}}},
		{rootA + "/", []qemu.Found{{PID: a.PID(), UUID: a.UUID(), StartTime: a.StartTime()}}},
		{filepath.Join(root, "s"), nil},
		{filepath.Join(root, "a-other"), nil},
	} {
		got, err := qemu.Scan(tt.root)
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(tt.want, got); diff != "" {
			t.Errorf("Scan(%s) mismatch (-want +got):\n%s", tt.root, diff)
		}
	}
}
