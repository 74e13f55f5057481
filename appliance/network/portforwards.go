package network

import (
	"context"
	"fmt"
	"net/netip"

	"cloudlet/store"
)

// PortForward publishes one host port (on one host address, or on all of them) on a port's fixed
// IP: host:HostPort/Protocol → FixedIP:InternalPort. It passes the port's security groups (it is an
// explicit publication) and goes away with the port.
type PortForward struct {
	store.Meta
	Description  string     `json:"description,omitempty"`
	PortID       string     `json:"port_id"`
	FixedIP      netip.Addr `json:"internal_ip_address"`
	Protocol     string     `json:"protocol"` // tcp | udp
	HostIP       netip.Addr `json:"host_ip"`  // invalid ("") = every address of the host
	HostPort     int        `json:"host_port"`
	InternalPort int        `json:"internal_port"`
}

var portForwards = store.NewKind[PortForward](store.BucketPortForwards, store.ScopeProject)

// CreatePortForwardRequest is POST /api/v1/port-forwards.
type CreatePortForwardRequest struct {
	Name         string     `json:"name"`        // optional
	Description  string     `json:"description"` // optional
	Port         string     `json:"port"`        // the port, by id or name
	Protocol     string     `json:"protocol"`    // tcp | udp
	HostIP       netip.Addr `json:"host_ip"`     // optional: else every host address
	HostPort     int        `json:"host_port"`
	InternalPort int        `json:"internal_port"`
	// AnyHostPort lets the forward take any free host port, not only one of the members' range
	// (Options.ForwardRange). The web layer sets it from the caller's policy
	// (port_forward:any_host_port); never from JSON.
	AnyHostPort bool `json:"-"`
}

// CreatePortForward publishes a host port on a port. Without AnyHostPort the host port must lie in
// the members' range (never below 1024: the host's system services, which a forward made while
// one is down would take over when it comes back). The host port must be free: no other forward
// holds it (a forward on every address overlaps one on any address) and, on a live host, no socket
// is bound to it (that protects the daemon's own API port, DNS, ssh, ...).
func (s *Service) CreatePortForward(ctx context.Context, projectID string, r CreatePortForwardRequest) (*PortForward, error) {
	pf, err := r.forward(projectID)
	if err != nil {
		return nil, err
	}
	if !r.AnyHostPort {
		if err := s.memberMayForward(pf.HostPort); err != nil {
			return nil, err
		}
	}
	what := fmt.Sprintf("host port %d/%s", pf.HostPort, pf.Protocol)
	if s.dp != nil {
		if err := hostPortFree(pf.Protocol, pf.HostIP, pf.HostPort); err != nil {
			return nil, fmt.Errorf("create port forward of %s: %w", what, err)
		}
	}
	err = s.db.Update(func(tx *store.Tx) error {
		if err := forwardTarget(tx, pf, r.Port); err != nil {
			return err
		}
		if err := forwardFree(tx, pf); err != nil {
			return err
		}
		if err := portForwards.Create(tx, pf); err != nil {
			return err
		}
		return appendEvent(tx, "port_forward.created", "port_forward", pf.ID, projectID)
	})
	if err != nil {
		return nil, fmt.Errorf("create port forward of %s: %w", what, err)
	}
	if err := s.publish(ctx); err != nil {
		s.db.Update(func(tx *store.Tx) error { return portForwards.Delete(tx, pf.ID) })
		s.publish(ctx)
		return nil, fmt.Errorf("create port forward of %s: %w", what, err)
	}
	return pf, nil
}

// forward builds the record from the request and checks what needs no catalog.
func (r CreatePortForwardRequest) forward(projectID string) (*PortForward, error) {
	switch {
	case r.Name != "" && store.ValidateName(r.Name) != nil:
		return nil, errInvalid("port forward name: %v", store.ValidateName(r.Name))
	case len(r.Description) > 255:
		return nil, errInvalid("description is longer than 255 bytes")
	case r.Port == "":
		return nil, errInvalid("a port forward needs the port it leads to")
	case r.Protocol != "tcp" && r.Protocol != "udp":
		return nil, errInvalid("protocol %q: must be tcp or udp", r.Protocol)
	case r.HostPort < 1 || r.HostPort > 65535:
		return nil, errInvalid("host_port %d: must be 1-65535", r.HostPort)
	case r.InternalPort < 1 || r.InternalPort > 65535:
		return nil, errInvalid("internal_port %d: must be 1-65535", r.InternalPort)
	case r.HostIP.IsValid() && !r.HostIP.IsUnspecified() && !isHostIP(r.HostIP):
		return nil, errInvalid("host_ip %s: must be an IPv4 unicast address of the host (or none for all)", r.HostIP)
	}
	pf := &PortForward{Meta: store.Meta{ID: store.NewID(), Name: r.Name, ProjectID: projectID},
		Description: r.Description, Protocol: r.Protocol, HostIP: r.HostIP, HostPort: r.HostPort, InternalPort: r.InternalPort}
	if pf.HostIP.IsUnspecified() {
		pf.HostIP = netip.Addr{}
	}
	return pf, nil
}

func isHostIP(a netip.Addr) bool {
	return a.Is4() && !a.IsLoopback() && !a.IsMulticast() && !a.IsLinkLocalUnicast() && a != netip.AddrFrom4([4]byte{255, 255, 255, 255})
}

// forwardTarget points pf at the port named by ref: one on a network with cloudlet's own bridge
// (nat or isolated), with a fixed IP.
func forwardTarget(tx *store.Tx, pf *PortForward, ref string) error {
	p, err := ports.Lookup(tx, pf.ProjectID, ref)
	if err != nil {
		return err
	}
	n, err := networks.Get(tx, p.NetworkID)
	if err != nil {
		return err
	}
	if n.Kind != KindNAT && n.Kind != KindIsolated {
		return errConflict("port %s is on %s network %s: a port forward needs a port on a nat or isolated network", p.Name, n.Kind, n.Name)
	}
	if len(p.FixedIPs) == 0 {
		return errConflict("port %s has no fixed IP to forward to", p.Name)
	}
	pf.PortID, pf.FixedIP = p.ID, p.FixedIPs[0]
	return nil
}

// forwardFree refuses a host port another forward holds with the same protocol; a forward on every
// host address overlaps a forward on any one address. Another project's forward is not described:
// a conflict says what conflicts, never whose.
func forwardFree(tx *store.Tx, pf *PortForward) error {
	return portForwards.ForEach(tx, func(o *PortForward) error {
		if o.Protocol != pf.Protocol || o.HostPort != pf.HostPort {
			return nil
		}
		if o.HostIP.IsValid() && pf.HostIP.IsValid() && o.HostIP != pf.HostIP {
			return nil
		}
		if o.ProjectID != pf.ProjectID {
			return errConflict("host port %d/%s on %s is in use", pf.HostPort, pf.Protocol, hostIPText(pf.HostIP))
		}
		return errConflict("host port %d/%s on %s is already forwarded to port %s (%s) by port forward %s",
			o.HostPort, o.Protocol, hostIPText(o.HostIP), portName(tx, o.PortID),
			netip.AddrPortFrom(o.FixedIP, uint16(o.InternalPort)), forwardName(o))
	})
}

func hostIPText(a netip.Addr) string {
	if !a.IsValid() {
		return "every host address"
	}
	return a.String()
}

func forwardName(pf *PortForward) string {
	if pf.Name != "" {
		return pf.Name + " (" + pf.ID + ")"
	}
	return pf.ID
}

// PortForwards lists the project's port forwards ("" = all).
func (s *Service) PortForwards(_ context.Context, projectID string) ([]*PortForward, error) {
	var out []*PortForward
	err := s.db.View(func(tx *store.Tx) (err error) { out, err = portForwards.List(tx, projectID); return err })
	return out, err
}

// PortForward returns one port forward of the project, by id or name.
func (s *Service) PortForward(_ context.Context, projectID, ref string) (*PortForward, error) {
	var pf *PortForward
	err := s.db.View(func(tx *store.Tx) (err error) { pf, err = portForwards.Lookup(tx, projectID, ref); return err })
	return pf, err
}

// DeletePortForward unpublishes a host port.
func (s *Service) DeletePortForward(ctx context.Context, projectID, ref string) error {
	err := s.db.Update(func(tx *store.Tx) error {
		pf, err := portForwards.Lookup(tx, projectID, ref)
		if err != nil {
			return err
		}
		if err := portForwards.Delete(tx, pf.ID); err != nil {
			return err
		}
		return appendEvent(tx, "port_forward.deleted", "port_forward", pf.ID, pf.ProjectID)
	})
	if err != nil {
		return fmt.Errorf("delete port forward %s: %w", ref, err)
	}
	return s.publish(ctx)
}
