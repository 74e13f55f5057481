package guest

import (
	"net"
	"slices"
	"strconv"
)

// The OpenStack documents are shaped as nova's metadata (nova/api/metadata/base.py) writes them and as
// cloud-init's DataSourceOpenStack / DataSourceConfigDrive (helpers/openstack.py) reads them.

// OpenStackVersions are the dated versions served besides "latest", oldest first; cloud-init asks for
// the newest it knows. The config drive holds the last of them and latest.
var OpenStackVersions = []string{"2012-08-10", "2013-04-04", "2013-10-17", "2015-10-15", "2016-06-30",
	"2016-10-06", "2017-02-22", "2018-08-27"}

// OpenStack document names, as under openstack/<version>/.
const (
	OpenStackMetaData    = "meta_data.json"
	OpenStackUserData    = "user_data"
	OpenStackNetworkData = "network_data.json"
	OpenStackVendorData  = "vendor_data.json"
	OpenStackVendorData2 = "vendor_data2.json"
)

// OpenStackNames are the documents under each version, in the order a listing shows them.
var OpenStackNames = []string{OpenStackMetaData, OpenStackUserData, OpenStackNetworkData,
	OpenStackVendorData, OpenStackVendorData2}

// OpenStackFile answers openstack/<version>/<name> for inst: ErrNotFound for an unknown version or
// name, and for user_data when the instance has none.
func OpenStackFile(inst Instance, version, name string) ([]byte, error) {
	if version != "latest" && !slices.Contains(OpenStackVersions, version) {
		return nil, ErrNotFound
	}
	switch name {
	case OpenStackMetaData:
		return OpenStackMetaDataJSON(inst), nil
	case OpenStackUserData:
		if len(inst.UserData) == 0 {
			return nil, ErrNotFound
		}
		return inst.UserData, nil
	case OpenStackNetworkData:
		return NetworkDataJSON(inst), nil
	case OpenStackVendorData:
		return []byte("{}"), nil
	case OpenStackVendorData2:
		// cloud-init (sources.convert_vendordata) takes the top-level "cloud-init" key as vendor-data and
		// ignores every other one: nova's usual {"<service>": {...}} nesting would never reach it.
		return mustJSON(map[string]string{"cloud-init": string(VendorData(inst))}), nil
	}
	return nil, ErrNotFound
}

// OpenStackMetaDataJSON renders meta_data.json.
func OpenStackMetaDataJSON(inst Instance) []byte {
	type key struct {
		Name string `json:"name"`
		Type string `json:"type"`
		Data string `json:"data"`
	}
	publicKeys, keys := map[string]string{}, []key{}
	for _, k := range inst.PublicKeys {
		publicKeys[k.Name] = k.Data
		keys = append(keys, key{k.Name, "ssh", k.Data})
	}
	meta := inst.Metadata
	if meta == nil {
		meta = map[string]string{}
	}
	return mustJSON(struct {
		UUID             string            `json:"uuid"`
		Name             string            `json:"name"`
		Hostname         string            `json:"hostname"`
		LaunchIndex      int               `json:"launch_index"`
		AvailabilityZone string            `json:"availability_zone"`
		ProjectID        string            `json:"project_id"`
		PublicKeys       map[string]string `json:"public_keys"`
		Keys             []key             `json:"keys"`
		Meta             map[string]string `json:"meta"`
		Devices          []any             `json:"devices"`
	}{inst.ID, inst.Name, inst.Hostname, 0, AvailabilityZone, inst.ProjectID, publicKeys, keys, meta, []any{}})
}

// NetworkDataJSON renders network_data.json as nova's netutils.get_network_metadata does: a link per
// NIC (by MAC), an ipv4 network on it with its routes, and the DNS servers as services. cloud-init's
// convert_net_json turns it into its network config; link type "bridge" is one of its physical types.
func NetworkDataJSON(inst Instance) []byte {
	type link struct {
		ID   string `json:"id"`
		VIF  string `json:"vif_id"`
		Type string `json:"type"`
		MTU  int    `json:"mtu,omitempty"`
		MAC  string `json:"ethernet_mac_address"`
	}
	links, nets, services := []link{}, []any{}, []dnsService{}
	for i, n := range inst.NICs {
		l := link{ID: "tap" + shortID(n.PortID), VIF: n.PortID, Type: "bridge", MTU: n.MTU, MAC: n.MAC}
		links = append(links, l)
		var svc []dnsService
		for _, d := range n.DNS {
			s := dnsService{"dns", d.String()}
			svc = append(svc, s)
			if !slices.Contains(services, s) {
				services = append(services, s)
			}
		}
		nets = append(nets, networkOf(i, l.ID, n, svc))
	}
	return mustJSON(map[string]any{"links": links, "networks": nets, "services": services})
}

// networkOf is one entry of network_data.json's networks: static ipv4, or ipv4_dhcp without an address.
func networkOf(i int, linkID string, n NIC, svc []dnsService) map[string]any {
	net := map[string]any{"id": "network" + strconv.Itoa(i), "link": linkID, "network_id": n.NetworkID, "type": "ipv4_dhcp"}
	if !n.Address.IsValid() {
		return net
	}
	net["type"], net["ip_address"], net["netmask"] = "ipv4", n.Address.Addr().String(), netmask(n.Address.Bits())
	routes := []map[string]string{}
	if n.Gateway.IsValid() && i == 0 {
		routes = append(routes, map[string]string{"network": "0.0.0.0", "netmask": "0.0.0.0", "gateway": n.Gateway.String()})
	}
	net["routes"] = routes
	if len(routes) > 0 {
		// Not in nova's format, but cloud-init (convert_net_json) copies a network's "gateway" into its
		// subnet, which ifupdown applies itself; the default route above it renders as "post-up route
		// add … || true", which needs net-tools and silently does nothing without them.
		net["gateway"] = n.Gateway.String()
	}
	if len(svc) > 0 {
		net["services"] = svc
	}
	return net
}

// dnsService is a DNS server in network_data.json's services.
type dnsService struct {
	Type    string `json:"type"`
	Address string `json:"address"`
}

// netmask is the dotted IPv4 mask of a prefix length.
func netmask(bits int) string { return net.IP(net.CIDRMask(bits, 32)).String() }

// shortID is a port id cut as nova names its taps (tap + the first 11 characters).
func shortID(id string) string {
	if len(id) > 11 {
		return id[:11]
	}
	return id
}
