package openstack

import (
	"crypto/sha256"
	"encoding/hex"
	"net/http"
	"slices"

	"cloudlet/appliance/compute"
	"cloudlet/appliance/volume"
)

// Nova's time shapes: created/updated are RFC 3339 with Z; OS-SRV-USG:launched_at has microseconds
// and no zone (gophercloud's JSONRFC3339MilliNoZ; Terraform fails on a Z there).
const (
	novaTime      = "2006-01-02T15:04:05Z"
	novaUsageTime = "2006-01-02T15:04:05.000000"
)

// serverContext is what rendering servers needs beside the instances: network names for the
// addresses' keys, floating IPs by port, and (for detail views) the project's volumes.
type serverContext struct {
	networkNames map[string]string   // network id → name
	floating     map[string][]string // port id → its floating addresses
	volumes      []volume.Volume     // nil when not read
}

// novaStatus is Nova's status for cloudlet's three states (nova/api/openstack/common.py's table):
// the task decides it while one runs, except those Nova shows under the vm_state's own status.
func novaStatus(inst compute.Instance) string {
	switch inst.TaskState {
	case compute.TaskRebooting:
		return "REBOOT"
	case compute.TaskRebuilding:
		return "REBUILD"
	case compute.TaskResizing:
		return "RESIZE"
	}
	switch inst.VMState {
	case compute.VMBuilding:
		return "BUILD"
	case compute.VMActive:
		return "ACTIVE"
	case compute.VMStopped:
		return "SHUTOFF"
	case compute.VMPaused:
		return "PAUSED"
	case compute.VMSuspended:
		return "SUSPENDED"
	case compute.VMError:
		return "ERROR"
	case compute.VMDeleted:
		return "DELETED"
	}
	return "UNKNOWN"
}

// novaPowerState is OS-EXT-STS:power_state's number (nova/compute/power_state.py).
func novaPowerState(p compute.PowerState) int {
	switch p {
	case compute.PowerRunning:
		return 1
	case compute.PowerPaused:
		return 3
	case compute.PowerShutdown:
		return 4
	case compute.PowerCrashed:
		return 6
	case compute.PowerSuspended:
		return 7
	}
	return 0
}

// textOrNull is s, or JSON null for "".
func textOrNull(s string) any {
	if s == "" {
		return nil
	}
	return s
}

// serverLinks are a server's self and bookmark links.
func (s *Server) serverLinks(r *http.Request, id string) []map[string]string {
	return []map[string]string{{"rel": "self", "href": s.baseURL(r) + "/compute/v2.1/servers/" + id},
		{"rel": "bookmark", "href": s.baseURL(r) + "/compute/servers/" + id}}
}

// briefServer is a list item of GET /servers: id, name and links only.
func (s *Server) briefServer(r *http.Request, inst compute.Instance) map[string]any {
	return map[string]any{"id": inst.ID, "name": inst.Name, "links": s.serverLinks(r, inst.ID)}
}

// serverView is a server in Nova 2.1's detailed shape (tempest's v2_1 server schema: nothing more).
func (s *Server) serverView(r *http.Request, inst compute.Instance, sc serverContext) map[string]any {
	base := s.baseURL(r)
	v := s.briefServer(r, inst)
	v["status"], v["tenant_id"], v["user_id"] = novaStatus(inst), inst.ProjectID, inst.UserID
	v["created"], v["updated"] = inst.CreatedAt.UTC().Format(novaTime), inst.UpdatedAt.UTC().Format(novaTime)
	v["hostId"], v["progress"] = hostID(inst.ProjectID), 0
	v["image"] = ""
	if inst.ImageID != "" && !inst.BootFromVolume {
		v["image"] = map[string]any{"id": inst.ImageID,
			"links": []map[string]string{{"rel": "bookmark", "href": base + "/compute/images/" + inst.ImageID}}}
	}
	v["flavor"] = map[string]any{"id": inst.Flavor.ID,
		"links": []map[string]string{{"rel": "bookmark", "href": base + "/compute/flavors/" + inst.Flavor.ID}}}
	meta := inst.Metadata
	if meta == nil {
		meta = map[string]string{}
	}
	v["metadata"], v["addresses"] = meta, serverAddresses(inst, sc, true)
	v["accessIPv4"], v["accessIPv6"], v["OS-DCF:diskConfig"] = inst.AccessIPv4, inst.AccessIPv6, "MANUAL"
	v["key_name"], v["security_groups"] = textOrNull(inst.KeyName), serverGroups(inst)
	v["OS-EXT-STS:vm_state"], v["OS-EXT-STS:task_state"] = string(inst.VMState), textOrNull(string(inst.TaskState))
	v["OS-EXT-STS:power_state"], v["OS-EXT-AZ:availability_zone"] = novaPowerState(inst.PowerState), serverZone
	v["OS-SRV-USG:launched_at"], v["OS-SRV-USG:terminated_at"] = nil, nil
	if inst.LaunchedAt != nil {
		v["OS-SRV-USG:launched_at"] = inst.LaunchedAt.UTC().Format(novaUsageTime)
	}
	v["config_drive"] = ""
	if inst.ConfigDrive == compute.ConfigDriveOpenStack {
		v["config_drive"] = "True"
	}
	if sc.volumes != nil {
		v["os-extended-volumes:volumes_attached"] = attachedVolumeIDs(inst, sc.volumes)
	}
	if inst.VMState == compute.VMError && inst.Fault != "" {
		v["fault"] = map[string]any{"code": 500, "message": inst.Fault, "created": inst.UpdatedAt.UTC().Format(novaTime)}
	}
	return v
}

// serverZone is the one zone cloudlet has, under Nova's default name.
const serverZone = "nova"

// hostID is Nova's hostId: an opaque hash of the project and the host, the same for every server of
// a project on this one host.
func hostID(projectID string) string {
	sum := sha256.Sum224([]byte(projectID + "cloudlet"))
	return hex.EncodeToString(sum[:])
}

// serverGroups are the security groups the instance asked for, by the names it gave (Terraform
// diffs them against its configuration); none given means the project's default group.
func serverGroups(inst compute.Instance) []map[string]string {
	if len(inst.Networks) == 0 {
		return []map[string]string{}
	}
	groups := inst.SecurityGroups
	if len(groups) == 0 {
		groups = []string{"default"}
	}
	out := make([]map[string]string, 0, len(groups))
	for _, g := range groups {
		out = append(out, map[string]string{"name": g})
	}
	return out
}

// serverAddresses are the instance's addresses keyed by network name, the fixed ones then the
// floating ones mapped to them; detail adds Nova's OS-EXT-IPS keys (GET /ips shows only version
// and addr).
func serverAddresses(inst compute.Instance, sc serverContext, detail bool) map[string][]map[string]any {
	out := map[string][]map[string]any{}
	for i, a := range inst.Addresses {
		name := sc.networkNames[a.Network]
		if name == "" {
			name = a.Network
		}
		out[name] = append(out[name], addressItem(a.IP, "fixed", a.MAC, detail))
		if i < len(inst.PortIDs) {
			for _, ip := range sc.floating[inst.PortIDs[i]] {
				out[name] = append(out[name], addressItem(ip, "floating", a.MAC, detail))
			}
		}
	}
	return out
}

// addressItem is one address of a server.
func addressItem(ip, typ, mac string, detail bool) map[string]any {
	v := map[string]any{"version": 4, "addr": ip}
	if !detail {
		return v
	}
	v["OS-EXT-IPS:type"], v["OS-EXT-IPS-MAC:mac_addr"] = typ, mac
	return v
}

// attachedVolumeIDs are the volumes attached to the instance, as os-extended-volumes lists them:
// the boot volume only when the user gave it (an image's boot disk is no volume in Nova).
func attachedVolumeIDs(inst compute.Instance, vols []volume.Volume) []map[string]string {
	out := []map[string]string{}
	for _, v := range attachedVolumes(inst, vols) {
		out = append(out, map[string]string{"id": v.ID})
	}
	return out
}

// attachedVolumes are the project's volumes attached to (or being attached to) the instance, in
// the order listed, leaving out a boot volume compute made from an image.
func attachedVolumes(inst compute.Instance, vols []volume.Volume) []volume.Volume {
	var out []volume.Volume
	for _, v := range vols {
		a := v.Attachment
		if a == nil || a.InstanceID != inst.ID || (a.Boot || v.ID == inst.BootVolumeID) && !inst.BootFromVolume {
			continue
		}
		out = append(out, v)
	}
	slices.SortStableFunc(out, func(a, b volume.Volume) int {
		return boolOrder(!a.Attachment.Boot, !b.Attachment.Boot)
	})
	return out
}

// boolOrder orders false before true.
func boolOrder(a, b bool) int {
	switch {
	case a == b:
		return 0
	case !a:
		return -1
	}
	return 1
}
