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
