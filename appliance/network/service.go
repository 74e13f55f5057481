package network

import (
	"crypto/rand"
	"errors"
	"fmt"
	"net/netip"
	"sync"

	"cloudlet/store"
)

// Options configure the network service.
type Options struct {
	DB *store.DB
	// HostRoutes lists the prefixes the host already routes (its own interfaces and routes): a
	// network overlapping one is refused, naming it. nil means none.
	HostRoutes func() ([]netip.Prefix, error)
	// Firewall applies the rules derived from the catalog after every change; nil = no rules.
	Firewall Firewall
	// Quota checks the projects' limits (networks, ports, floating IPs, security groups and rules);
	// nil means no quotas.
	Quota Quota
	// MemberCIDRs are ranges members may put networks on besides PrivateRanges (config
	// network_cidrs_allowed); a request with AnyCIDR (an admin's) may use any unreserved range.
	MemberCIDRs []netip.Prefix
	// ForwardRange is where members' port forwards take host ports (config port_forward_range);
	// zero means DefaultForwardRange. A request with AnyHostPort (an admin's) may use any free port.
	ForwardRange PortRange
	// MetadataPort is where the metadata service listens on each NAT and isolated network's gateway
	// (guests' 169.254.169.254:80 is DNATed there, and DHCP routes 169.254.169.254 through the
	// gateway); 0 means no metadata service.
	MetadataPort int
}

// Service manages networks and ports in the catalog.
type Service struct {
	db         *store.DB
	hostRoutes func() ([]netip.Prefix, error)
	dp         *datapath // nil until StartDatapath: records only (unit tests)
	quota      Quota

	memberCIDRs  []netip.Prefix
	forwardRange PortRange
	metadataPort int

	fw   Firewall
	fwMu sync.Mutex // serialises syncFirewall

	leaseMu   sync.Mutex // guards leaseSubs
	leaseSubs map[chan string]struct{}
}

// New returns the service.
func New(o Options) (*Service, error) {
	if o.DB == nil {
		return nil, errors.New("network.New: DB is required")
	}
	if o.MetadataPort < 0 || o.MetadataPort > 65535 {
		return nil, fmt.Errorf("network.New: metadata port %d: want 1..65535, or 0 for none", o.MetadataPort)
	}
	if err := CheckMemberCIDRs(o.MemberCIDRs); err != nil {
		return nil, fmt.Errorf("network.New: %w", err)
	}
	s := &Service{db: o.DB, hostRoutes: o.HostRoutes, fw: o.Firewall, quota: o.Quota,
		memberCIDRs: o.MemberCIDRs, forwardRange: o.ForwardRange, metadataPort: o.MetadataPort}
	if s.forwardRange == (PortRange{}) {
		s.forwardRange = DefaultForwardRange
	}
	if s.hostRoutes == nil {
		s.hostRoutes = func() ([]netip.Prefix, error) { return nil, nil }
	}
	return s, nil
}

// newMAC returns a random MAC with OpenStack's fa:16:3e prefix (locally administered, unicast).
func newMAC() (string, error) {
	b := make([]byte, 3)
	if _, err := rand.Read(b); err != nil {
		return "", fmt.Errorf("random MAC: %w", err)
	}
	return fmt.Sprintf("fa:16:3e:%02x:%02x:%02x", b[0], b[1], b[2]), nil
}

func appendEvent(tx *store.Tx, typ, kind, id, projectID string) error {
	return store.AppendEvent(tx, &store.Event{Type: typ, Kind: kind, ID: id, ProjectID: projectID})
}
