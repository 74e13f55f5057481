package images

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"cloudlet/appliance/fault"
)

// A source that grows or shrinks between open and copy is refused, and stage leaves no temporary
// file behind.
func TestStageSourceChangedSize(t *testing.T) {
	for _, size := range []int64{10, 30} {
		dir, src := t.TempDir(), filepath.Join(t.TempDir(), "disk")
		if err := os.WriteFile(src, make([]byte, 20), 0o600); err != nil {
			t.Fatal(err)
		}
		s, err := openSource(importRoot{dir: filepath.Dir(src)}, fileDisk, src, 1<<20)
		if err != nil {
			t.Fatal(err)
		}
		s.size = size // as if the file had this size when it was opened
		_, err = (&Service{}).stage(context.Background(), s, dir)
		s.Close()
		checkErr(t, err, ErrInvalid, fault.Invalid, "changed size while it was copied")
		if ents, _ := os.ReadDir(dir); len(ents) != 0 {
			t.Errorf("stage left %v behind", ents)
		}
	}
}
