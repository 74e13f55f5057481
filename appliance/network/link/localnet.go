package link

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// SetRouteLocalnet sets net.ipv4.conf.<name>.route_localnet, which lets the kernel route
// 127.0.0.0/8 to and from the link (a port forward answering on the host's loopback needs it on the
// guest's bridge). On its own it exposes the host's loopback services to everything on the link:
// turn it on only while the firewall drops 127.0.0.0/8 arriving from outside lo. Like ip_forward
// it is per network namespace, and it goes away with the link.
func SetRouteLocalnet(name string, on bool) error {
	if name == "" || name == "." || name == ".." || strings.Contains(name, "/") {
		return fmt.Errorf("set route_localnet: %q is not a link name", name)
	}
	v := "0\n"
	if on {
		v = "1\n"
	}
	path := filepath.Join("/proc/sys/net/ipv4/conf", name, "route_localnet")
	if err := os.WriteFile(path, []byte(v), 0o644); err != nil {
		return fmt.Errorf("set net.ipv4.conf.%s.route_localnet=%v: %w", name, on, err)
	}
	return nil
}
