package appliance

import (
	"context"
	"encoding/json"
	"fmt"
	"net/netip"
	"regexp"
	"slices"
	"strings"

	"cloudlet/appliance/compute"
	"cloudlet/appliance/fault"
	"cloudlet/appliance/guest"
	"cloudlet/appliance/network"
)

// This file is the interim wiring of the metadata service: documents rendered from what the
// catalog holds today (the port at the caller's address → its instance → name, key). The guest
// service's own renderers replace metadataDocs when they land; the listener plumbing (network) and
// the router (guest) stay.

// checkMetadata checks metadata_port: 0 turns the metadata service off.
func (c *Config) checkMetadata() error {
	if c.MetadataPort < 0 || c.MetadataPort > 65535 {
		return fmt.Errorf("config: metadata_port %d: want 1-65535, or 0 for no metadata service", c.MetadataPort)
	}
	return nil
}

// metadataGuests finds the instance behind a metadata caller: the port holding the caller's
// address on the caller's network, bound to an instance. Anything else is not found.
type metadataGuests struct {
	network *network.Service
	compute *compute.Service
}

func (m metadataGuests) instanceAt(ctx context.Context, c guest.Caller) (*compute.Instance, error) {
	p, err := m.network.PortAt(ctx, c.NetworkID, c.Addr)
	if err != nil {
		return nil, err
	}
	if p.DeviceOwner != network.OwnerInstance || p.DeviceID == "" {
		return nil, fault.New(fault.NotFound, "port %s at %s is no instance's", p.ID, c.Addr)
	}
	inst, err := m.compute.Get(ctx, "", p.DeviceID)
	if err != nil {
		return nil, fault.Wrap(fault.NotFound, err)
	}
	guest.NoteInstance(ctx, inst.ID)
	return inst, nil
}

// MarkReady marks the caller's own instance ready (its phone-home).
func (m metadataGuests) MarkReady(ctx context.Context, c guest.Caller) error {
	inst, err := m.instanceAt(ctx, c)
	if err != nil {
		return err
	}
	return m.compute.MarkGuestReady(ctx, inst.ID, compute.ReadyViaPhoneHome)
}

// metadataDocs answers the OpenStack and EC2 documents from the instance record.
type metadataDocs struct{ metadataGuests }

var errNoDocument = fault.New(fault.NotFound, "no such metadata document")

// Serve answers path for the caller's instance.
func (m metadataDocs) Serve(ctx context.Context, c guest.Caller, path string) ([]byte, string, error) {
	inst, err := m.instanceAt(ctx, c)
	if err != nil {
		return nil, "", err
	}
	if rest, ok := strings.CutPrefix(path, "/openstack"); ok {
		return openStackDocument(inst, rest)
	}
	if rest, ok := strings.CutPrefix(path, "/latest/"); ok {
		body, ok := ec2Document(inst, c.Addr, rest)
		if !ok {
			return nil, "", errNoDocument
		}
		return []byte(body), "text/plain; charset=utf-8", nil
	}
	return nil, "", errNoDocument
}

// openStackDocument answers /openstack[/], /openstack/latest/ and /openstack/latest/meta_data.json.
func openStackDocument(inst *compute.Instance, rest string) ([]byte, string, error) {
	switch rest {
	case "", "/":
		return []byte("latest\n"), "text/plain; charset=utf-8", nil
	case "/latest", "/latest/":
		return []byte("meta_data.json\n"), "text/plain; charset=utf-8", nil
	case "/latest/meta_data.json":
		md := map[string]any{"uuid": inst.ID, "name": inst.Name, "hostname": guestHostname(inst),
			"launch_index": 0, "availability_zone": "nova", "project_id": inst.ProjectID,
			"public_keys": map[string]string{}, "meta": map[string]string{}}
		if inst.KeyData != "" {
			md["public_keys"] = map[string]string{inst.KeyName: inst.KeyData}
			md["keys"] = []map[string]string{{"name": inst.KeyName, "type": "ssh", "data": inst.KeyData}}
		}
		body, err := json.Marshal(md)
		return body, "application/json", err
	}
	return nil, "", errNoDocument
}

// ec2Document answers /latest/meta-data[/...] (a listing for a directory) and /latest/user-data
// (none today: not found).
func ec2Document(inst *compute.Instance, addr netip.Addr, rest string) (string, bool) {
	if rest == "" {
		return "meta-data/\n", true
	}
	leaves := map[string]string{
		"instance-id":                 inst.ID,
		"hostname":                    guestHostname(inst),
		"local-hostname":              guestHostname(inst),
		"local-ipv4":                  addr.String(),
		"placement/availability-zone": "nova",
	}
	if inst.KeyData != "" {
		leaves["public-keys/0/openssh-key"] = inst.KeyData
	}
	key, ok := strings.CutPrefix(rest+"/", "meta-data/")
	if !ok {
		return "", false
	}
	key = strings.TrimRight(key, "/")
	if v, ok := leaves[key]; ok {
		return v, true
	}
	if key == "public-keys" && inst.KeyData != "" { // EC2 lists keys as index=name
		return "0=" + inst.KeyName + "\n", true
	}
	return listing(leaves, key)
}

// listing is the EC2 listing of directory dir ("" = meta-data/ itself): its entries, one a line,
// subdirectories with a trailing slash; false when dir holds nothing.
func listing(leaves map[string]string, dir string) (string, bool) {
	prefix := dir + "/"
	if dir == "" {
		prefix = ""
	}
	seen := map[string]bool{}
	var out []string
	for k := range leaves {
		rest, ok := strings.CutPrefix(k, prefix)
		if !ok {
			continue
		}
		entry, _, deeper := strings.Cut(rest, "/")
		if deeper {
			entry += "/"
		}
		if !seen[entry] {
			seen[entry] = true
			out = append(out, entry)
		}
	}
	if len(out) == 0 {
		return "", false
	}
	slices.Sort(out)
	return strings.Join(out, "\n") + "\n", true
}

var hostnameJunk = regexp.MustCompile(`[^a-z0-9-]+`)

// guestHostname is the instance's name as a host name label.
func guestHostname(inst *compute.Instance) string {
	h := strings.Trim(hostnameJunk.ReplaceAllString(strings.ToLower(inst.Name), "-"), "-")
	if h == "" {
		return "instance"
	}
	return h
}

// startMetadata lets the metadata service answer, now that compute is up: until here its
// listeners (opened with the networks) only queued connections.
func (a *Appliance) startMetadata() error {
	g := metadataGuests{network: a.network, compute: a.compute}
	return a.metadata.Start(metadataDocs{g}, g)
}
