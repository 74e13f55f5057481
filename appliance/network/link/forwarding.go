package link

import (
	"fmt"
	"os"
)

const ipForwardPath = "/proc/sys/net/ipv4/ip_forward"

// SetForwarding sets net.ipv4.ip_forward, which routes the networks' traffic to the uplink. The
// setting is per network namespace: this sets it in the calling thread's namespace only (the
// kernel resolves /proc/sys/net by the opener's namespace), never the host's when run in another.
func SetForwarding(on bool) error {
	v := "0\n"
	if on {
		v = "1\n"
	}
	if err := os.WriteFile(ipForwardPath, []byte(v), 0o644); err != nil {
		return fmt.Errorf("set net.ipv4.ip_forward=%v: %w", on, err)
	}
	return nil
}

const bridgeNetfilterPath = "/proc/sys/net/bridge/bridge-nf-call-iptables"

// ErrNoBridgeNetfilter: the br_netfilter module is not loaded, so iptables never sees traffic that
// stays on a bridge (guest to guest on one network). Loading a kernel module is the host owner's call.
var ErrNoBridgeNetfilter = fmt.Errorf("br_netfilter is not loaded (%s is missing): modprobe br_netfilter", bridgeNetfilterPath)

// SetBridgeNetfilter sets net.bridge.bridge-nf-call-iptables=1, so bridged IPv4 traffic passes the
// iptables FORWARD chain where security groups and anti-spoofing live. Like ip_forward it is per
// network namespace (kernels ≥ 5.3).
func SetBridgeNetfilter() error {
	if _, err := os.Stat(bridgeNetfilterPath); err != nil {
		return ErrNoBridgeNetfilter
	}
	if err := os.WriteFile(bridgeNetfilterPath, []byte("1\n"), 0o644); err != nil {
		return fmt.Errorf("set net.bridge.bridge-nf-call-iptables=1: %w", err)
	}
	return nil
}
