package network

import (
	"fmt"
	"strconv"
	"strings"

	"cloudlet/appliance/fault"
)

// PortRange is an inclusive range of host ports.
type PortRange struct{ Min, Max int }

// DefaultForwardRange is where members' port forwards take their host ports unless the admin
// configures another (config port_forward_range).
var DefaultForwardRange = PortRange{Min: 20000, Max: 29999}

// firstUnprivileged is the first port that is not a system service's (below it, only root binds).
const firstUnprivileged = 1024

// ParsePortRange reads "20000-29999" (or one port, "20000"). Members never get a port below 1024,
// so a range reaching below it is refused.
func ParsePortRange(s string) (PortRange, error) {
	lo, hi, ok := strings.Cut(s, "-")
	if !ok {
		hi = lo
	}
	var r PortRange
	var err1, err2 error
	r.Min, err1 = strconv.Atoi(strings.TrimSpace(lo))
	r.Max, err2 = strconv.Atoi(strings.TrimSpace(hi))
	switch {
	case err1 != nil || err2 != nil:
		return PortRange{}, fmt.Errorf("port range %q: want two ports like 20000-29999", s)
	case r.Min < firstUnprivileged || r.Max > 65535 || r.Max < r.Min:
		return PortRange{}, fmt.Errorf("port range %q: want %d <= first <= last <= 65535 (ports below %d are admin-only)", s, firstUnprivileged, firstUnprivileged)
	}
	return r, nil
}

func (r PortRange) String() string { return fmt.Sprintf("%d-%d", r.Min, r.Max) }

func (r PortRange) contains(port int) bool { return port >= r.Min && port <= r.Max }

// memberMayForward refuses a host port a member may not forward from (fault.Forbidden, naming the
// range): ports below 1024 are the host's system services', the rest outside the admin's range.
func (s *Service) memberMayForward(port int) error {
	switch {
	case port < firstUnprivileged:
		return fault.New(fault.Forbidden, "host port %d: ports below %d are admin-only; members forward from %s", port, firstUnprivileged, s.forwardRange)
	case !s.forwardRange.contains(port):
		return fault.New(fault.Forbidden, "host port %d is outside the range members may forward from (%s)", port, s.forwardRange)
	}
	return nil
}
