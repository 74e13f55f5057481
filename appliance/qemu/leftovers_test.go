package qemu_test

import (
	"path/filepath"
	"testing"
	"time"

	"cloudlet/appliance/qemu"
	"cloudlet/appliance/testproc"
)

// QEMU runs in a session of its own and outlives whoever started it. A test that never stops its QEMU
// (or stops at t.Fatal before it could) still leaves none: testSpec's cleanup kills it.
func TestAQEMUTheTestNeverStoppedEndsWithTheTest(t *testing.T) {
	skipShort(t)
	root := t.TempDir()
	var spec qemu.Spec
	t.Run("forgets its QEMU", func(t *testing.T) {
		spec = testSpec(t, filepath.Join(root, "r"), filepath.Join(root, "s"))
		if _, err := qemu.Start(spec, qemu.StartOptions{}); err != nil {
			t.Fatal(err)
		}
	})
	if left, err := testproc.Find(spec.Paths.RunDir); err != nil || len(left) != 0 {
		t.Errorf("after the subtest, processes naming its run dir = %v (%v), want none", left, err)
		testproc.Kill(10*time.Second, spec.Paths.RunDir)
	}
}
