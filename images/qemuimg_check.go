package images

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
)

// checkReport is what cloudlet takes from qemu-img check --output=json.
type checkReport struct {
	Corruptions int64 `json:"corruptions"`
	Leaks       int64 `json:"leaks"`
	CheckErrors int64 `json:"check-errors"`
}

// checkArgv is the command line of qemu-img check on path, a qcow2 file: read-only (without -r it
// repairs nothing), the format explicit, under info's rlimits.
func (q qemuImg) checkArgv(path string) []string {
	return q.limited(checkLimits, q.path, "check", "-f", FormatQcow2, "--output=json", path)
}

// check runs qemu-img check on the qcow2 file at path. It follows every L2 table and refcount
// block, which the header checks in Go do not: an image cut short in its data (a truncated
// upload) has a sound header and is refused here. Leaked clusters are only wasted space, so they
// pass.
func (q qemuImg) check(ctx context.Context, path string) error {
	out, err := q.run(ctx, checkLimits, "check -f qcow2", strings.NewReplacer(path, "image"), q.checkArgv(path))
	if err != nil {
		return err
	}
	var r checkReport
	if err := json.Unmarshal(out, &r); err != nil {
		return fmt.Errorf("parse qemu-img check output: %w", err)
	}
	switch {
	case r.Corruptions > 0:
		return faultf(ErrUnsafe, "qemu-img check found %d corruptions in the image (is it truncated?); upload it whole, or repair it with qemu-img check -r all", r.Corruptions)
	case r.CheckErrors > 0:
		return faultf(ErrUnsafe, "qemu-img check could not read the image: %d errors", r.CheckErrors)
	}
	return nil
}
