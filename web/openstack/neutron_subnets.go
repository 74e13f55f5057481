package openstack

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"net/http"
	"net/netip"
	"net/url"
	"strings"

	"cloudlet/appliance/network"
	"cloudlet/web/client"
)

// A cloudlet network has exactly one IPv4 subnet, inside its record. Neutron makes a network first
// and its subnets after, so a network made without a subnet carries cloudlet's automatic range
// (Subnet.Auto) and Neutron shows no subnet; creating a subnet replaces that range by the one asked
// for (a PATCH of the network's subnet, allowed while no address on it is in use), and deleting it
// marks the range automatic again. A second subnet on one network is a 409.
func (s *Server) registerSubnets() {
	s.handle(http.MethodGet, "/networking/v2.0/subnets", s.withToken(s.listSubnets))
	s.handle(http.MethodPost, "/networking/v2.0/subnets", s.withToken(s.createSubnet))
	s.handle(http.MethodGet, "/networking/v2.0/subnets/{id}", s.withToken(s.showSubnet))
	s.handle(http.MethodPut, "/networking/v2.0/subnets/{id}", s.withToken(s.updateSubnet))
	s.handle(http.MethodDelete, "/networking/v2.0/subnets/{id}", s.withToken(s.deleteSubnet))
}

// subnetID is the id Neutron shows for a network's subnet: stable, UUID-shaped, derived from the
// network's id.
func subnetID(networkID string) string {
	sum := sha256.Sum256([]byte("cloudlet subnet " + networkID))
	h := hex.EncodeToString(sum[:16])
	return h[0:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:32]
}

// subnetView is a network's subnet in Neutron's shape.
func subnetView(n network.Network) map[string]any {
	sn := n.Subnet
	pools := make([]map[string]string, 0, len(sn.Pools))
	for _, p := range sn.Pools {
		pools = append(pools, map[string]string{"start": p.Start.String(), "end": p.End.String()})
	}
	dns := make([]string, 0, len(sn.DNS))
	for _, a := range sn.DNS {
		dns = append(dns, a.String())
	}
	routes := make([]map[string]string, 0, len(sn.HostRoutes))
	for _, h := range sn.HostRoutes {
		routes = append(routes, map[string]string{"destination": h.Destination.String(), "nexthop": h.NextHop.String()})
	}
	var gw any
	if sn.Gateway.IsValid() {
		gw = sn.Gateway.String()
	}
	return with(stamps(recordMeta(n.Meta)), map[string]any{"id": subnetID(n.ID), "name": sn.Name, "network_id": n.ID,
		"ip_version": 4, "cidr": sn.CIDR.String(), "gateway_ip": gw, "enable_dhcp": sn.DHCP,
		"allocation_pools": pools, "dns_nameservers": dns, "host_routes": routes, "description": "",
		"ipv6_address_mode": nil, "ipv6_ra_mode": nil, "subnetpool_id": nil, "service_types": []string{},
		"segment_id": nil})
}

// subnetOf finds the declared subnet id among the caller's networks.
func subnetOf(r *http.Request, api *client.Client, id string) (*network.Network, error) {
	list, err := readNetworks(r, api)
	if err != nil {
		return nil, err
	}
	for _, n := range list {
		if subnetID(n.ID) == id && !n.Subnet.Auto {
			return &n, nil
		}
	}
	return nil, &client.Error{Code: http.StatusNotFound, Message: "Subnet " + id + " could not be found."}
}

// listSubnets answers the declared subnets (not automatic ranges) that pass the filters.
func (s *Server) listSubnets(w http.ResponseWriter, r *http.Request, api *client.Client) {
	list, ok := networks(w, r, api)
	if !ok {
		return
	}
	declared := []network.Network{}
	for _, n := range list {
		if !n.Subnet.Auto {
			declared = append(declared, n)
		}
	}
	writeJSON(w, http.StatusOK, map[string]any{"subnets": listOf(declared, subnetView, r.URL.Query())})
}

// showSubnet answers one declared subnet by id.
func (s *Server) showSubnet(w http.ResponseWriter, r *http.Request, api *client.Client) {
	n, err := subnetOf(r, api, r.PathValue("id"))
	if err != nil {
		neutronAPIError(w, err, subnetErrs)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"subnet": pick(subnetView(*n), r.URL.Query())})
}

// subnetBody is what a Neutron subnet create or update may say; IPv6 and subnet pools are not
// cloudlet's (only null or 4 are taken).
type subnetBody struct {
	Name         *string              `json:"name"`
	NetworkID    string               `json:"network_id"`
	IPVersion    *int                 `json:"ip_version"`
	CIDR         *string              `json:"cidr"`
	Gateway      *string              `json:"gateway_ip"`
	DHCP         *bool                `json:"enable_dhcp"`
	Pools        *[]map[string]string `json:"allocation_pools"`
	DNS          *[]string            `json:"dns_nameservers"`
	HostRoutes   *[]map[string]string `json:"host_routes"`
	Description  string               `json:"description"`
	SubnetPool   *string              `json:"subnetpool_id"`
	IPv6Address  *string              `json:"ipv6_address_mode"`
	IPv6RA       *string              `json:"ipv6_ra_mode"`
	ProjectID    string               `json:"project_id"`
	TenantID     string               `json:"tenant_id"`
	ServiceTypes []string             `json:"service_types"`
}

// apply writes the body's attributes over sn; the error names the bad one.
func (b subnetBody) apply(sn *network.Subnet) error {
	switch {
	case b.IPVersion != nil && *b.IPVersion != 4:
		return errInput("ip_version %d: cloudlet subnets are IPv4", *b.IPVersion)
	case b.SubnetPool != nil || b.IPv6Address != nil || b.IPv6RA != nil:
		return errInput("subnet pools and IPv6 modes are not supported")
	case b.Description != "" || len(b.ServiceTypes) > 0:
		return errInput("description and service_types are not supported")
	}
	if b.Name != nil {
		sn.Name = *b.Name
	}
	if b.DHCP != nil {
		sn.DHCP = *b.DHCP
	}
	if b.CIDR != nil {
		p, err := netip.ParsePrefix(*b.CIDR)
		if err != nil {
			return errInput("Invalid input for cidr: %q is not a valid IP subnet", *b.CIDR)
		}
		sn.CIDR, sn.Gateway, sn.Pools = p, netip.Addr{}, nil
	}
	if b.Gateway != nil {
		a, err := netip.ParseAddr(*b.Gateway)
		if err != nil {
			return errInput("Invalid input for gateway_ip: %q is not a valid IP address", *b.Gateway)
		}
		sn.Gateway = a
	}
	return b.applyLists(sn)
}

// applyLists writes the body's pools, DNS servers and host routes over sn.
func (b subnetBody) applyLists(sn *network.Subnet) error {
	if b.Pools != nil {
		sn.Pools = []network.Pool{}
		for _, p := range *b.Pools {
			start, err1 := netip.ParseAddr(p["start"])
			end, err2 := netip.ParseAddr(p["end"])
			if err1 != nil || err2 != nil {
				return errInput("Invalid input for allocation_pools: %v", p)
			}
			sn.Pools = append(sn.Pools, network.Pool{Start: start, End: end})
		}
	}
	if b.DNS != nil {
		sn.DNS = []netip.Addr{}
		for _, d := range *b.DNS {
			a, err := netip.ParseAddr(d)
			if err != nil {
				return errInput("Invalid input for dns_nameservers: %q", d)
			}
			sn.DNS = append(sn.DNS, a)
		}
	}
	if b.HostRoutes != nil {
		sn.HostRoutes = []network.HostRoute{}
		for _, h := range *b.HostRoutes {
			d, err1 := netip.ParsePrefix(h["destination"])
			nh, err2 := netip.ParseAddr(h["nexthop"])
			if err1 != nil || err2 != nil {
				return errInput("Invalid input for host_routes: %v", h)
			}
			sn.HostRoutes = append(sn.HostRoutes, network.HostRoute{Destination: d, NextHop: nh})
		}
	}
	return nil
}

// errInput is a 400 for a subnet's attribute.
func errInput(format string, args ...any) error {
	return &client.Error{Code: http.StatusBadRequest, Message: fmt.Sprintf(format, args...)}
}

// createSubnet declares the subnet of a network made without one, re-addressing it.
func (s *Server) createSubnet(w http.ResponseWriter, r *http.Request, api *client.Client) {
	var b subnetBody
	if !decodeResource(w, r, "subnet", &b) || !s.ownProject(w, r, b.ProjectID, b.TenantID) {
		return
	}
	if b.CIDR == nil || b.NetworkID == "" {
		badRequest(w, "Bad subnets request: network_id and cidr are required (cloudlet has no subnet pools)")
		return
	}
	n, err := getByID[network.Network](r.Context(), api, "/api/v1/networks", b.NetworkID)
	if err != nil {
		neutronAPIError(w, err, networkErrs)
		return
	}
	if !n.Subnet.Auto {
		neutronError(w, http.StatusConflict, "SubnetInUse", "Network "+n.ID+" already has its subnet "+n.Subnet.CIDR.String()+
			": a cloudlet network has exactly one subnet")
		return
	}
	sn := network.Subnet{DHCP: true}
	if err := b.apply(&sn); err != nil {
		neutronAPIError(w, err, subnetErrs)
		return
	}
	s.patchSubnet(w, r, api, n, sn, http.StatusCreated)
}

// patchSubnet gives network n subnet sn through the native API and answers the subnet.
func (s *Server) patchSubnet(w http.ResponseWriter, r *http.Request, api *client.Client, n *network.Network, sn network.Subnet, status int) {
	var out network.Network
	err := api.Do(r.Context(), http.MethodPatch, "/api/v1/networks/"+url.PathEscape(n.ID), map[string]any{"subnet": sn}, &out)
	if err != nil {
		writeSubnetError(w, err, n.ID, sn)
		return
	}
	writeJSON(w, status, map[string]any{"subnet": subnetView(out)})
}

// writeSubnetError answers a refused subnet: an overlap is Neutron's 400 with the words tempest
// looks for to try its next range; the rest as any refusal.
func writeSubnetError(w http.ResponseWriter, err error, networkID string, sn network.Subnet) {
	if status, msg := apiStatus(err); status == http.StatusConflict && strings.Contains(msg, "overlaps") {
		neutronError(w, http.StatusBadRequest, "InvalidInput", "Invalid input for operation: Requested subnet with cidr: "+
			sn.CIDR.String()+" for network: "+networkID+" overlaps with another subnet ("+msg+")")
		return
	}
	neutronAPIError(w, err, subnetErrs)
}

// updateSubnet changes a declared subnet: its name at any time, its addressing while nothing on it
// holds an address (the native API checks).
func (s *Server) updateSubnet(w http.ResponseWriter, r *http.Request, api *client.Client) {
	var b subnetBody
	if !decodeResource(w, r, "subnet", &b) {
		return
	}
	n, err := subnetOf(r, api, r.PathValue("id"))
	if err != nil {
		neutronAPIError(w, err, subnetErrs)
		return
	}
	if b.NetworkID != "" && b.NetworkID != n.ID || b.CIDR != nil && *b.CIDR != n.Subnet.CIDR.String() {
		badRequest(w, "Cannot update read-only attribute network_id or cidr")
		return
	}
	sn := n.Subnet
	if err := b.apply(&sn); err != nil {
		neutronAPIError(w, err, subnetErrs)
		return
	}
	s.patchSubnet(w, r, api, n, sn, http.StatusOK)
}

// deleteSubnet gives the network back its automatic range mark (the addresses stay until a new
// subnet is created): refused while a port has an address on it, as Neutron refuses.
func (s *Server) deleteSubnet(w http.ResponseWriter, r *http.Request, api *client.Client) {
	n, err := subnetOf(r, api, r.PathValue("id"))
	if err != nil {
		neutronAPIError(w, err, subnetErrs)
		return
	}
	var ports []network.Port
	if err := api.Do(r.Context(), http.MethodGet, "/api/v1/ports", nil, &ports); err != nil {
		neutronAPIError(w, err, subnetErrs)
		return
	}
	for _, p := range ports {
		if p.NetworkID == n.ID {
			neutronError(w, http.StatusConflict, "SubnetInUse", "Unable to complete operation on subnet "+subnetID(n.ID)+
				": port "+p.ID+" has an address on it")
			return
		}
	}
	sn := n.Subnet
	sn.Name, sn.Auto = "", true
	var out network.Network
	if err := api.Do(r.Context(), http.MethodPatch, "/api/v1/networks/"+url.PathEscape(n.ID), map[string]any{"subnet": sn}, &out); err != nil {
		neutronAPIError(w, err, subnetErrs)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}
