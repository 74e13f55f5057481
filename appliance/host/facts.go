package host

import (
	"context"
	"fmt"
	"regexp"
)

// Tool is an external program cloudlet runs.
type Tool struct {
	Name    string `json:"name"`
	Path    string `json:"path,omitempty"`
	Version string `json:"version,omitempty"`
	Error   string `json:"error,omitempty"`
}

// Facts are what cloudlet learns about the host once at start.
type Facts struct {
	QEMU         Tool   `json:"qemu"`
	QEMUImg      Tool   `json:"qemu_img"`
	KVMUsable    bool   `json:"kvm_usable"`
	KVMError     string `json:"kvm_error,omitempty"`
	CPUVirt      bool   `json:"cpu_virt"`
	AccelMode    string `json:"accel_mode"`
	Accel        string `json:"accel"`
	AccelWarning string `json:"accel_warning,omitempty"`
}

// QEMU binary names cloudlet runs.
const (
	QEMUBinary    = "qemu-system-x86_64"
	QEMUImgBinary = "qemu-img"
)

// Gather probes the host. An accel mode that cannot be honoured (kvm forced without /dev/kvm) is an error.
func Gather(ctx context.Context, p Probes, accelMode string) (Facts, error) {
	f := Facts{AccelMode: accelMode}
	f.QEMU = findTool(ctx, p, QEMUBinary)
	f.QEMUImg = findTool(ctx, p, QEMUImgBinary)
	kvmErr := p.OpenKVM()
	f.KVMUsable = kvmErr == nil
	if kvmErr != nil {
		f.KVMError = kvmErr.Error()
	}
	if info, err := p.CPUInfo(); err == nil {
		f.CPUVirt = cpuHasVirt(info)
	}
	accel, warning, err := ChooseAccel(accelMode, kvmErr, f.CPUVirt)
	if err != nil {
		return f, fmt.Errorf("choose accelerator: %w", err)
	}
	f.Accel, f.AccelWarning = accel, warning
	return f, nil
}

var versionRE = regexp.MustCompile(`(?:version |\bv)(\d+\.\d+(\.\d+)?)`)

func findTool(ctx context.Context, p Probes, name string) Tool {
	t := Tool{Name: name}
	path, err := p.LookPath(name)
	if err != nil {
		t.Error = fmt.Sprintf("%s %v", name, errNotFound)
		return t
	}
	t.Path = path
	line, err := p.VersionLine(ctx, path)
	if err != nil {
		t.Error = err.Error()
		return t
	}
	if m := versionRE.FindStringSubmatch(line); m != nil {
		t.Version = m[1]
	} else {
		t.Error = fmt.Sprintf("cannot parse version from %q", line)
	}
	return t
}
