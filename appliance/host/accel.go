package host

import (
	"fmt"

	"cloudlet/appliance/fault"
)

// The accelerator modes a config may ask for.
const (
	AccelAuto = "auto"
	AccelKVM  = "kvm"
	AccelTCG  = "tcg"
)

// ValidAccel checks an accelerator mode from config or flags.
func ValidAccel(mode string) error {
	switch mode {
	case AccelAuto, AccelKVM, AccelTCG:
		return nil
	}
	return fault.New(fault.Invalid, "invalid accel %q: must be auto, kvm or tcg", mode)
}

// ChooseAccel decides the accelerator QEMU gets. auto picks KVM only when /dev/kvm is usable and the CPU
// advertises vmx/svm: nested hosts expose /dev/kvm without them and Linux guests hang there under KVM.
// The warning, when not empty, is shown by `GET /api/v1/host` and `cloudlet doctor`.
func ChooseAccel(mode string, kvmErr error, cpuVirt bool) (accel, warning string, err error) {
	if err := ValidAccel(mode); err != nil {
		return "", "", err
	}
	switch {
	case mode == AccelTCG:
		return AccelTCG, "", nil
	case mode == AccelKVM && kvmErr != nil:
		return "", "", fault.New(fault.Unavailable, "accel kvm requested but /dev/kvm is not usable: %v", kvmErr)
	case mode == AccelKVM && !cpuVirt:
		return AccelKVM, "accel kvm forced although the CPU shows no vmx/svm flag: guests may hang (nested host?)", nil
	case mode == AccelKVM:
		return AccelKVM, "", nil
	case kvmErr != nil:
		return AccelTCG, fmt.Sprintf("using TCG software emulation (slow): /dev/kvm is not usable: %v", kvmErr), nil
	case !cpuVirt:
		return AccelTCG, "using TCG software emulation (slow): /dev/kvm exists but the CPU shows no vmx/svm flag (nested virtualization without VT-x/AMD-V)", nil
	}
	return AccelKVM, "", nil
}
