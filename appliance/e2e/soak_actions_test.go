package e2e

import (
	"slices"
	"strconv"

	"cloudlet/appliance/compute"
	"cloudlet/appliance/crashpoint"
	"cloudlet/appliance/identity"
	"cloudlet/appliance/network"
)

// Sizes that keep a cycle cheap under TCG: few guests, few volumes.
const (
	soakMaxInstances = 3
	soakMaxVolumes   = 3
	soakMaxPorts     = 3
	soakMaxRules     = 8
	soakMaxGiB       = 3
)

// soakVolume is what the harness reads of a volume.
type soakVolume struct {
	ID, Name, Status, Task, Fault, Path string
	SizeGiB                             int `json:"size_gib"`
	Attachment                          *struct {
		InstanceID string `json:"instance_id"`
		Boot       bool
	}
}

// reach drives the action that passes point, on an armed daemon, after making what it needs. It
// reports false when what the action needs could not be made (the point is then tried again later).
func (s *soak) reach(point string) bool {
	switch point {
	case crashpoint.CreateRecorded, crashpoint.BootDiskMade, crashpoint.QEMUExec, crashpoint.PIDFileTemp,
		crashpoint.PortTapMade:
		if !s.roomFor(identity.QuotaInstances, identity.QuotaVolumes) { // the create would stop at its boot volume
			return false
		}
		s.createInstance(true)
	case crashpoint.DeleteStopped, crashpoint.DeletePortsFreed:
		id, ok := s.readyInstance(compute.VMActive, compute.VMStopped, compute.VMError)
		if !ok {
			return false
		}
		s.deleteInstance(id)
	case crashpoint.AttachReserved:
		id, ok := s.readyInstance(compute.VMActive, compute.VMStopped)
		vol, vok := s.readyVolume("available", false)
		if !ok || !vok {
			return false
		}
		s.req("POST", "/api/v1/volumes/"+vol+"/attach", map[string]any{"instance": id}, nil)
	case crashpoint.SuspendSaved, crashpoint.SuspendCommitted:
		id, ok := s.readyInstance(compute.VMActive)
		if !ok {
			return false
		}
		s.req("POST", "/api/v1/instances/"+id+"/suspend", nil, nil)
	case crashpoint.ResumeExec:
		id, ok := s.suspendedInstance()
		if !ok {
			return false
		}
		s.req("POST", "/api/v1/instances/"+id+"/resume", nil, nil)
	case crashpoint.RebuildOldDetached, crashpoint.DeleteVolumeDetached:
		id, ok := s.freshInstance() // one whose boot volume nothing else is using or keeping
		if !ok {
			return false
		}
		if point == crashpoint.DeleteVolumeDetached {
			s.deleteInstance(id)
		} else {
			s.req("POST", "/api/v1/instances/"+id+"/rebuild", nil, nil)
		}
	case crashpoint.SnapshotActive:
		s.makeRoomForASnapshot()
		vol, ok := s.readyVolume("available", true)
		if !ok {
			return false
		}
		s.req("POST", "/api/v1/volumes/"+vol+"/snapshots", map[string]any{"name": s.name("sn")}, nil)
	default:
		s.t.Fatalf("the harness does not know how to reach crash point %s", point)
	}
	return true
}

// readyInstance returns a settled instance in one of states, creating one (and waiting for it to run)
// when there is none.
func (s *soak) readyInstance(states ...compute.VMState) (string, bool) {
	if id, ok := s.settledInstance(states...); ok {
		return id, true
	}
	id, ok := s.createInstance(true)
	if !ok {
		return "", false
	}
	inst, ok := s.waitInstance(id, bootWait)
	if ok && !slices.Contains(states, inst.VMState) { // it failed to start, saying why: the checks judge that
		s.note("instance %s settled %s/%s (%s), want one of %v", inst.Name, inst.VMState, inst.PowerState, inst.Fault, states)
		return "", false
	}
	return id, ok
}

// freshInstance creates an instance and waits for it to settle with its boot volume: a volume no
// snapshot, task or earlier cut-short action touches.
func (s *soak) freshInstance() (string, bool) {
	id, ok := s.createInstance(true)
	if !ok {
		return "", false
	}
	inst, ok := s.waitInstance(id, bootWait)
	return id, ok && inst.BootVolumeID != "" && inst.TaskState == ""
}

// suspendedInstance returns a settled suspended instance, suspending a running one (made if need be)
// when there is none.
func (s *soak) suspendedInstance() (string, bool) {
	if id, ok := s.settledInstance(compute.VMSuspended); ok {
		return id, true
	}
	id, ok := s.readyInstance(compute.VMActive)
	if !ok {
		return "", false
	}
	if _, err := s.req("POST", "/api/v1/instances/"+id+"/suspend", nil, nil); err != nil {
		return "", false
	}
	inst, ok := s.waitInstance(id, bootWait)
	return id, ok && inst.VMState == compute.VMSuspended
}

// settledInstance returns an instance with no task in one of states, if there is one.
func (s *soak) settledInstance(states ...compute.VMState) (string, bool) {
	for _, inst := range s.instances() {
		if inst.TaskState == "" && slices.Contains(states, inst.VMState) {
			return inst.ID, true
		}
	}
	return "", false
}

// readyVolume returns a data volume with status (any settled one if anyStatus), creating one when
// there is none.
func (s *soak) readyVolume(status string, anyStatus bool) (string, bool) {
	for _, v := range s.volumes() {
		if v.Task == "" && (v.Status == status || anyStatus && (v.Status == "available" || v.Status == "in-use")) {
			return v.ID, true
		}
	}
	if vols := s.volumes(); len(vols) >= soakMaxVolumes && status == "available" { // free one rather than make one
		for _, v := range vols {
			if v.Status == "in-use" && v.Task == "" {
				s.req("POST", "/api/v1/volumes/"+v.ID+"/detach", nil, nil)
				return v.ID, s.waitVolume(v.ID, "available")
			}
		}
	}
	var v soakVolume
	if _, err := s.req("POST", "/api/v1/volumes", map[string]any{"name": s.name("v"), "size_gib": 1}, &v); err != nil {
		return "", false
	}
	return v.ID, s.waitVolume(v.ID, "available")
}

// soakMaxSnapshots keeps the snapshots well under the project's quota (10), so an armed snapshot is
// never refused.
const soakMaxSnapshots = 6

// snapshots lists every snapshot (none when the daemon is down).
func (s *soak) snapshots() []struct{ ID, Status string } {
	var sns []struct{ ID, Status string }
	s.req("GET", "/api/v1/snapshots", nil, &sns)
	return sns
}

// roomFor reports whether the project has room for one more of each resource: a create is accepted
// before its boot volume is made, so one the volume quota refuses would never reach a later point.
func (s *soak) roomFor(resources ...string) bool {
	var q identity.QuotaReport
	if answered, err := s.req("GET", "/api/v1/quotas/admin", nil, &q); !answered || err != nil {
		return false
	}
	for _, r := range resources {
		if u, ok := q.Quotas[r]; ok && u.Limit >= 0 && u.InUse >= u.Limit {
			s.note("no room for one more of %s (%d of %d)", r, u.InUse, u.Limit)
			return false
		}
	}
	return true
}

// makeRoomForASnapshot deletes snapshots until one more fits under soakMaxSnapshots.
func (s *soak) makeRoomForASnapshot() {
	for sns := s.snapshots(); len(sns) >= soakMaxSnapshots; sns = sns[1:] {
		s.req("DELETE", "/api/v1/snapshots/"+sns[0].ID, nil, nil)
	}
}

// randomAction does one random instance, volume or network action and, half the time, waits for its
// task to end (the other half, the next action overlaps it).
func (s *soak) randomAction() {
	switch n := s.rng.IntN(4); {
	case n < 2:
		s.randomInstanceAction()
	case n == 2:
		s.randomVolumeAction()
	default:
		s.randomNetworkAction()
	}
}

// instanceActions are the verbs the harness sends, each with the states it is legal in.
var instanceActions = []struct {
	verb string
	from []compute.VMState
}{
	{"start", []compute.VMState{compute.VMStopped, compute.VMError}},
	{"stop", []compute.VMState{compute.VMActive, compute.VMPaused}},
	{"hard-stop", []compute.VMState{compute.VMActive, compute.VMPaused, compute.VMError}},
	{"reboot", []compute.VMState{compute.VMActive}},
	{"hard-reboot", []compute.VMState{compute.VMActive, compute.VMPaused}},
	{"pause", []compute.VMState{compute.VMActive}},
	{"unpause", []compute.VMState{compute.VMPaused}},
	{"suspend", []compute.VMState{compute.VMActive, compute.VMPaused}},
	{"resume", []compute.VMState{compute.VMSuspended}},
	{"rebuild", []compute.VMState{compute.VMActive, compute.VMStopped, compute.VMError}},
	{"delete", nil},
}

func (s *soak) randomInstanceAction() {
	insts := s.instances()
	if len(insts) < soakMaxInstances && (len(insts) == 0 || s.rng.IntN(4) == 0) {
		if id, ok := s.createInstance(s.rng.IntN(3) > 0); ok && s.rng.IntN(2) == 0 {
			s.waitInstance(id, soakActionWait)
		}
		return
	}
	if len(insts) == 0 {
		return
	}
	inst := insts[s.rng.IntN(len(insts))]
	var legal []string
	for _, a := range instanceActions {
		if a.from == nil || slices.Contains(a.from, inst.VMState) {
			legal = append(legal, a.verb)
		}
	}
	verb := legal[s.rng.IntN(len(legal))]
	if verb == "delete" {
		s.deleteInstance(inst.ID)
	} else {
		s.req("POST", "/api/v1/instances/"+inst.ID+"/"+verb, nil, nil)
	}
	if s.rng.IntN(2) == 0 {
		s.waitInstance(inst.ID, soakActionWait)
	}
}

func (s *soak) randomVolumeAction() {
	vols := s.volumes()
	if len(vols) < soakMaxVolumes && (len(vols) == 0 || s.rng.IntN(4) == 0) {
		s.req("POST", "/api/v1/volumes", map[string]any{"name": s.name("v"), "size_gib": 1}, nil)
		return
	}
	if len(vols) == 0 {
		return
	}
	v := vols[s.rng.IntN(len(vols))]
	path := "/api/v1/volumes/" + v.ID
	switch s.rng.IntN(6) {
	case 0:
		if insts := s.instances(); len(insts) > 0 {
			s.req("POST", path+"/attach", map[string]any{"instance": insts[s.rng.IntN(len(insts))].ID}, nil)
		}
	case 1:
		s.req("POST", path+"/detach", nil, nil)
	case 2: // boot volumes too: an instance whose boot volume has snapshots deletes, keeping the volume
		all := s.allVolumes()
		if len(all) > 0 && len(s.snapshots()) < soakMaxSnapshots {
			s.req("POST", "/api/v1/volumes/"+all[s.rng.IntN(len(all))].ID+"/snapshots", map[string]any{"name": s.name("sn")}, nil)
		}
	case 3:
		if v.SizeGiB < soakMaxGiB {
			s.req("POST", path+"/extend", map[string]any{"size_gib": v.SizeGiB + 1}, nil)
		}
	case 4:
		s.deleteSnapshotOf(v.ID)
	default:
		s.req("DELETE", path, nil, nil)
	}
}

// deleteSnapshotOf deletes one snapshot of the volume, if it has any.
func (s *soak) deleteSnapshotOf(volumeID string) {
	var sns []struct{ ID string }
	if _, err := s.req("GET", "/api/v1/volumes/"+volumeID+"/snapshots", nil, &sns); err == nil && len(sns) > 0 {
		s.req("DELETE", "/api/v1/snapshots/"+sns[s.rng.IntN(len(sns))].ID, nil, nil)
	}
}

func (s *soak) randomNetworkAction() {
	var ports []network.Port
	if _, err := s.req("GET", "/api/v1/ports", nil, &ports); err != nil {
		return
	}
	switch s.rng.IntN(8) {
	case 0:
		s.randomPort(ports)
	case 1:
		s.randomRule()
	case 2, 3:
		s.randomFloatingIP(ports)
	case 4, 5:
		s.randomForward(ports)
	case 6:
		s.randomSecurityGroup()
	default:
		s.randomNetwork()
	}
}

// randomPort makes a free port on the default network or deletes a free one.
func (s *soak) randomPort(ports []network.Port) {
	var free []network.Port
	for _, p := range ports {
		if p.DeviceID == "" {
			free = append(free, p)
		}
	}
	if len(free) < soakMaxPorts && s.rng.IntN(2) == 0 {
		s.req("POST", "/api/v1/ports", map[string]any{"name": s.name("p"), "network": "default"}, nil)
	} else if len(free) > 0 {
		s.req("DELETE", "/api/v1/ports/"+free[s.rng.IntN(len(free))].ID, nil, nil)
	}
}

// randomRule adds an ingress rule to the default group (the API deletes rules only with their group).
func (s *soak) randomRule() {
	var sg network.SecurityGroup
	if _, err := s.req("GET", "/api/v1/security-groups/default", nil, &sg); err != nil || len(sg.Rules) >= soakMaxRules {
		return
	}
	port := 1000 + s.rng.IntN(1000)
	s.req("POST", "/api/v1/security-groups/default/rules", map[string]any{"direction": "ingress", "protocol": "tcp",
		"port_range_min": port, "port_range_max": port}, nil)
}

// randomSecurityGroup makes a group with a rule, or deletes one of the soak's groups.
func (s *soak) randomSecurityGroup() {
	var sgs []network.SecurityGroup
	if _, err := s.req("GET", "/api/v1/security-groups", nil, &sgs); err != nil {
		return
	}
	var mine []network.SecurityGroup
	for _, g := range sgs {
		if g.Name != "default" {
			mine = append(mine, g)
		}
	}
	if len(mine) < 2 && s.rng.IntN(2) == 0 {
		name := s.name("sg")
		if _, err := s.req("POST", "/api/v1/security-groups", map[string]any{"name": name}, nil); err == nil {
			s.req("POST", "/api/v1/security-groups/"+name+"/rules", map[string]any{"direction": "ingress", "protocol": "icmp"}, nil)
		}
	} else if len(mine) > 0 {
		s.req("DELETE", "/api/v1/security-groups/"+mine[s.rng.IntN(len(mine))].ID, nil, nil)
	}
}

// randomFloatingIP allocates one (associated with a random port), re-associates, disassociates or
// releases one.
func (s *soak) randomFloatingIP(ports []network.Port) {
	var fips []network.FloatingIP
	if _, err := s.req("GET", "/api/v1/floating-ips", nil, &fips); err != nil {
		return
	}
	switch {
	case len(fips) < 2 && s.rng.IntN(2) == 0:
		req := map[string]any{"network": "soakext"}
		if len(ports) > 0 {
			req["port"] = ports[s.rng.IntN(len(ports))].ID
		}
		s.req("POST", "/api/v1/floating-ips", req, nil)
	case len(fips) == 0:
	case s.rng.IntN(3) == 0:
		s.req("DELETE", "/api/v1/floating-ips/"+fips[s.rng.IntN(len(fips))].ID, nil, nil)
	default:
		port := ""
		if len(ports) > 0 && s.rng.IntN(2) == 0 {
			port = ports[s.rng.IntN(len(ports))].ID
		}
		s.req("PUT", "/api/v1/floating-ips/"+fips[s.rng.IntN(len(fips))].ID, map[string]any{"port": port}, nil)
	}
}

// randomForward publishes a random host port to a random port, or deletes a forward.
func (s *soak) randomForward(ports []network.Port) {
	var pfs []network.PortForward
	if _, err := s.req("GET", "/api/v1/port-forwards", nil, &pfs); err != nil {
		return
	}
	if len(pfs) < 3 && len(ports) > 0 && s.rng.IntN(2) == 0 {
		s.req("POST", "/api/v1/port-forwards", map[string]any{"port": ports[s.rng.IntN(len(ports))].ID,
			"protocol": []string{"tcp", "udp"}[s.rng.IntN(2)], "host_port": soakForwardBase + s.rng.IntN(1000),
			"internal_port": 80}, nil)
	} else if len(pfs) > 0 {
		s.req("DELETE", "/api/v1/port-forwards/"+pfs[s.rng.IntN(len(pfs))].ID, nil, nil)
	}
}

// soakForwardBase is the first host port the harness forwards (up to 999 above it).
const soakForwardBase = 21000

// randomNetwork makes an isolated or NAT network or deletes one of the soak's (its ports stop that).
func (s *soak) randomNetwork() {
	var nets []network.Network
	if _, err := s.req("GET", "/api/v1/networks", nil, &nets); err != nil {
		return
	}
	var mine []network.Network
	for _, n := range nets {
		if n.Name != "default" && n.Name != "soakext" {
			mine = append(mine, n)
		}
	}
	if len(mine) < 2 && s.rng.IntN(2) == 0 {
		cidr := "10.77." + strconv.Itoa(s.rng.IntN(250)) + ".0/24"
		s.req("POST", "/api/v1/networks", map[string]any{"name": s.name("n"),
			"kind": []string{"nat", "isolated"}[s.rng.IntN(2)], "subnet": map[string]any{"cidr": cidr, "dhcp": true}}, nil)
	} else if len(mine) > 0 {
		s.req("DELETE", "/api/v1/networks/"+mine[s.rng.IntN(len(mine))].ID, nil, nil)
	}
}

// instances lists the instances the daemon has now (none when it is down).
func (s *soak) instances() []compute.Instance {
	var out []compute.Instance
	s.req("GET", "/api/v1/instances", nil, &out)
	return out
}

// allVolumes lists every volume (none when the daemon is down).
func (s *soak) allVolumes() []soakVolume {
	var all []soakVolume
	s.req("GET", "/api/v1/volumes", nil, &all)
	return all
}

// volumes lists the data volumes (boot volumes belong to their instance's actions).
func (s *soak) volumes() []soakVolume {
	var out []soakVolume
	for _, v := range s.allVolumes() {
		if v.Attachment == nil || !v.Attachment.Boot {
			out = append(out, v)
		}
	}
	return out
}

// waitVolume polls until the volume has status and no task, the daemon died, or the bound passed.
func (s *soak) waitVolume(id, status string) bool {
	for range int(soakActionWait / soakPoll) {
		if s.down() {
			return false
		}
		var v soakVolume
		if _, err := s.req("GET", "/api/v1/volumes/"+id, nil, &v); err != nil {
			return false
		}
		if v.Status == status && v.Task == "" {
			return true
		}
		sleepPoll()
	}
	return false
}
