package e2e

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/vishvananda/netlink"

	"cloudlet/appliance/compute"
	"cloudlet/appliance/network"
	"cloudlet/appliance/network/link"
	"cloudlet/appliance/qemu"
	"cloudlet/appliance/qemu/qmp"
	"cloudlet/store"
)

// soakSettleWait bounds how long every instance may take to settle after a restart: a start the
// kill interrupted is finished or undone, under TCG on a loaded machine (as bootWait).
const soakSettleWait = bootWait

// checkWhileDown runs the checks that need the daemon gone: the catalog is opened read-only (the
// daemon holds it locked while it runs) and QEMU's monitors are free to answer.
func (s *soak) checkWhileDown() {
	db, err := store.Open(filepath.Join(s.c.D.DataDir, "catalog.db"), store.Options{ReadOnly: true})
	if err != nil {
		s.t.Fatalf("open the catalog after the kill: %v", err)
	}
	defer db.Close()
	s.catalogPassesItsCheck(db)
	s.qemuRunStateAgreesWithTheRecord(db)
}

// catalogPassesItsCheck: the store's own consistency check, on the file the kill left.
func (s *soak) catalogPassesItsCheck(db *store.DB) {
	if err := db.Check(); err != nil {
		s.t.Errorf("the catalog fails its check after the kill: %v", err)
	}
}

// qemuRunStateAgreesWithTheRecord: an instance recorded active/running (or paused) with no task has a
// live QEMU whose run state says the same. A paused one may be in "postmigrate": a suspend of a paused
// guest rolled back after its state was saved leaves QEMU there, and cont resumes it from there too.
func (s *soak) qemuRunStateAgreesWithTheRecord(db *store.DB) {
	kind := store.NewKind[compute.Instance](store.BucketInstances, store.ScopeProject)
	var recs []*compute.Instance
	if err := db.View(func(tx *store.Tx) error {
		return kind.ForEach(tx, func(i *compute.Instance) error { recs = append(recs, i); return nil })
	}); err != nil {
		s.t.Fatalf("read the instances from the catalog: %v", err)
	}
	for _, inst := range recs {
		want := map[compute.VMState]string{compute.VMActive: "running", compute.VMPaused: "paused"}[inst.VMState]
		if inst.TaskState != "" || want == "" {
			continue
		}
		if got := s.runState(inst.ID); got != want && !(want == "paused" && got == "postmigrate") {
			s.orphan("instance %s is recorded %s/%s with pid %d, QEMU says %q", inst.Name, inst.VMState,
				inst.PowerState, inst.PID, got)
		}
	}
}

// runState asks the instance's QEMU for its run state over its monitor ("" when none answers).
func (s *soak) runState(id string) string {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	mon, err := qmp.Dial(ctx, filepath.Join(s.c.D.RunDir, "instances", id, "qmp.sock"))
	if err != nil {
		return ""
	}
	defer mon.Close()
	st, err := mon.QueryStatus(ctx)
	if err != nil {
		return ""
	}
	return st.Status
}

// checkAfterRestart waits for everything to settle, then checks that nothing was lost and nothing is
// left without its record.
func (s *soak) checkAfterRestart() {
	insts := s.everyInstanceSettles()
	s.nothingLostNothingCameBack(insts)
	s.everyInstanceHasItsOwnQEMUOrAReason(insts)
	s.noQEMUWithoutRecord(insts)
	s.noRunFilesWithoutQEMU(insts)
	vols := s.everyVolumeSettles()
	s.noVolumeReservedOrAttachedToAGoneInstance(vols, insts)
	s.keptVolumesAreRecordsWithTheirReason(vols)
	s.everyBootVolumeIsNamedByItsInstanceOrKept(insts, vols)
	s.noFilesWithoutRecord(insts, vols)
	var nets []network.Network
	var ports []network.Port
	var fips []network.FloatingIP
	var pfs []network.PortForward
	var sgs []network.SecurityGroup
	for path, out := range map[string]any{"networks": &nets, "ports": &ports, "floating-ips": &fips, "port-forwards": &pfs,
		"security-groups": &sgs} {
		if err := s.c.Do("GET", "/api/v1/"+path, nil, out); err != nil {
			s.t.Fatalf("list %s: %v", path, err)
		}
	}
	s.everyInstanceHasItsPortsAndBootVolume(insts, ports, vols)
	s.noLinkWithoutRecord(nets, ports)
	s.noFirewallRuleWithoutRecord(nets, ports, sgs, fips, pfs)
	s.noFloatingAddressWithoutRecord(fips)
}

// everyInstanceSettles waits until no instance has a task (a deleting one is gone or failed with a
// reason) and returns them.
func (s *soak) everyInstanceSettles() []compute.Instance {
	deadline := time.Now().Add(soakSettleWait)
	for {
		var insts []compute.Instance
		if err := s.c.Do("GET", "/api/v1/instances", nil, &insts); err != nil {
			s.t.Fatalf("list instances after the restart: %v", err)
		}
		i := slices.IndexFunc(insts, func(i compute.Instance) bool { return i.TaskState != "" || i.VMState == compute.VMBuilding })
		if i < 0 {
			return insts
		}
		if time.Now().After(deadline) {
			s.t.Fatalf("instance %s never settled after the restart: %s/%s task %q fault %q", insts[i].Name,
				insts[i].VMState, insts[i].PowerState, insts[i].TaskState, insts[i].Fault)
		}
		sleepPoll()
	}
}

// nothingLostNothingCameBack: every instance the client was told exists still does; every accepted
// delete finished (or failed, with the instance in error saying why).
func (s *soak) nothingLostNothingCameBack(insts []compute.Instance) {
	byID := map[string]compute.Instance{}
	for _, i := range insts {
		byID[i.ID] = i
		if s.pending[i.Name] { // its create's answer was lost: the client learns of it now
			s.tracked[i.ID] = &soakInstance{name: i.Name}
		}
	}
	clear(s.pending)
	for id, tr := range s.tracked {
		inst, there := byID[id]
		switch {
		case !there && (tr.deleting || tr.unsure):
			s.gone[id] = tr.bootVolume
			delete(s.tracked, id)
		case !there:
			s.lost++
			s.t.Errorf("instance %s (%s) is lost: the client never deleted it", tr.name, id)
		case tr.deleting && (inst.VMState != compute.VMError || inst.Fault == ""):
			s.lost++
			s.t.Errorf("instance %s came back after its delete was accepted: %s/%s", tr.name, inst.VMState, inst.PowerState)
		default:
			tr.deleting, tr.unsure = false, false // a failed delete (error, with its reason) may be sent again
		}
		if there && inst.BootVolumeID != "" {
			tr.bootVolume = inst.BootVolumeID
		}
	}
	for _, i := range insts {
		if s.tracked[i.ID] == nil {
			s.orphans++
			s.t.Errorf("instance %s (%s) exists but the client never created it", i.Name, i.ID)
		}
	}
}

// everyInstanceHasItsOwnQEMUOrAReason: active and paused instances run their own QEMU; the others run
// none; an instance in error says why; a suspended one has its saved state.
func (s *soak) everyInstanceHasItsOwnQEMUOrAReason(insts []compute.Instance) {
	for _, i := range insts {
		running := i.VMState == compute.VMActive || i.VMState == compute.VMPaused
		switch {
		case running && (!processAlive(i.PID) || !strings.Contains(cmdline(i.PID), i.ID)):
			s.t.Errorf("instance %s is %s but pid %d is not its QEMU", i.Name, i.VMState, i.PID)
		case !running && i.PID != 0 && processAlive(i.PID) && strings.Contains(cmdline(i.PID), i.ID):
			s.orphans++
			s.t.Errorf("instance %s is %s but its QEMU pid %d runs", i.Name, i.VMState, i.PID)
		case i.VMState == compute.VMError && i.Fault == "":
			s.t.Errorf("instance %s is in error without a reason", i.Name)
		case i.VMState == compute.VMSuspended && !fileExists(filepath.Join(s.c.D.DataDir, "instances", i.ID, "suspend.state")):
			s.t.Errorf("instance %s is suspended without its saved state", i.Name)
		case !slices.Contains([]compute.VMState{compute.VMActive, compute.VMPaused, compute.VMStopped, compute.VMSuspended, compute.VMError}, i.VMState):
			s.t.Errorf("instance %s settled in %s", i.Name, i.VMState)
		}
	}
}

// noQEMUWithoutRecord: every QEMU under the daemon's run dir is the recorded QEMU of an instance that
// should run, and no instance has two.
func (s *soak) noQEMUWithoutRecord(insts []compute.Instance) {
	found, err := qemu.Scan(filepath.Join(s.c.D.RunDir, "instances"))
	if err != nil {
		s.t.Fatal(err)
	}
	for _, f := range found {
		i := slices.IndexFunc(insts, func(i compute.Instance) bool { return i.ID == f.UUID })
		if i < 0 || insts[i].PID != f.PID {
			s.orphans++
			s.t.Errorf("QEMU pid %d (uuid %s) runs without a record naming it", f.PID, f.UUID)
		}
	}
}

// noRunFilesWithoutQEMU: an instance that runs no QEMU has no pidfile, socket or pidfile temp (one
// in error over a QEMU that stopped answering keeps it, and its record names it).
func (s *soak) noRunFilesWithoutQEMU(insts []compute.Instance) {
	for _, i := range insts {
		if i.VMState == compute.VMActive || i.VMState == compute.VMPaused || i.VMState == compute.VMError && i.PID != 0 {
			continue
		}
		for _, name := range runDirFiles(s.c, i.ID) {
			if name == "qemu.pid" || strings.HasSuffix(name, ".sock") || strings.HasPrefix(name, ".qemu.pid-") {
				s.orphans++
				s.t.Errorf("instance %s is %s but its run dir holds %s", i.Name, i.VMState, name)
			}
		}
	}
}

// everyVolumeSettles waits until no volume has a task or a passing status, and returns them all.
func (s *soak) everyVolumeSettles() []soakVolume {
	deadline := time.Now().Add(soakSettleWait)
	for {
		var vols []soakVolume
		if err := s.c.Do("GET", "/api/v1/volumes", nil, &vols); err != nil {
			s.t.Fatalf("list volumes after the restart: %v", err)
		}
		i := slices.IndexFunc(vols, func(v soakVolume) bool {
			return v.Task != "" || !slices.Contains([]string{"available", "in-use", "error", "reserved"}, v.Status)
		})
		if i < 0 {
			return vols
		}
		if time.Now().After(deadline) {
			s.t.Fatalf("volume %s never settled after the restart: %s task %q fault %q", vols[i].Name, vols[i].Status,
				vols[i].Task, vols[i].Fault)
		}
		sleepPoll()
	}
}

// noVolumeReservedOrAttachedToAGoneInstance: attachments name instances that exist; error says why; a
// volume stays reserved after a restart only as the boot volume of an instance whose spawn the kill
// interrupted (its delete or rebuild settles it), never for an attach no one waits for.
func (s *soak) noVolumeReservedOrAttachedToAGoneInstance(vols []soakVolume, insts []compute.Instance) {
	for _, v := range vols {
		if v.Status == "error" && v.Fault == "" {
			s.t.Errorf("volume %s is in error without a reason", v.Name)
		}
		if v.Status == "reserved" && (v.Attachment == nil || !v.Attachment.Boot) {
			s.orphan("volume %s is still reserved after the restart: %+v", v.Name, v.Attachment)
		}
		if v.Attachment == nil {
			continue
		}
		if !slices.ContainsFunc(insts, func(i compute.Instance) bool { return i.ID == v.Attachment.InstanceID }) {
			s.orphans++
			s.t.Errorf("volume %s is %s for instance %s, which is gone", v.Name, v.Status, v.Attachment.InstanceID)
		}
	}
}

// noFilesWithoutRecord: every instance dir (state and run) and volume dir has its record, and no temp
// file is left anywhere under the daemon's dirs.
func (s *soak) noFilesWithoutRecord(insts []compute.Instance, vols []soakVolume) {
	ids := map[string]bool{}
	for _, i := range insts {
		ids[i.ID] = true
	}
	for _, v := range vols {
		ids[v.ID] = true
	}
	for _, dir := range []string{filepath.Join(s.c.D.DataDir, "instances"), filepath.Join(s.c.D.RunDir, "instances"),
		filepath.Join(s.c.D.DataDir, "pools", "default")} {
		entries, _ := os.ReadDir(dir)
		for _, e := range entries {
			if !ids[e.Name()] {
				s.orphans++
				s.t.Errorf("%s has no record", filepath.Join(dir, e.Name()))
			}
		}
	}
	for _, root := range []string{s.c.D.DataDir, s.c.D.RunDir} {
		filepath.WalkDir(root, func(path string, e fs.DirEntry, err error) error {
			if err == nil && isTempName(e.Name()) {
				s.orphans++
				s.t.Errorf("temp file left: %s", path)
			}
			return nil
		})
	}
}

// isTempName matches the names the daemon writes under before a rename.
func isTempName(name string) bool {
	return strings.HasSuffix(name, ".tmp") || strings.HasPrefix(name, ".qemu.pid-") ||
		strings.HasPrefix(name, ".tmp-") || strings.HasPrefix(name, ".secret-")
}

// everyInstanceHasItsPortsAndBootVolume: the ports and boot volume an instance names exist, and every
// port bound to an instance is bound to one that exists.
func (s *soak) everyInstanceHasItsPortsAndBootVolume(insts []compute.Instance, ports []network.Port, vols []soakVolume) {
	for _, i := range insts {
		for _, id := range i.PortIDs {
			if !slices.ContainsFunc(ports, func(p network.Port) bool { return p.ID == id }) {
				s.t.Errorf("instance %s (%s/%s) names port %s, which is gone", i.Name, i.VMState, i.PowerState, id)
			}
		}
		if i.BootVolumeID != "" && !slices.ContainsFunc(vols, func(v soakVolume) bool { return v.ID == i.BootVolumeID }) {
			s.t.Errorf("instance %s (%s/%s) boots from volume %s, which is gone", i.Name, i.VMState, i.PowerState, i.BootVolumeID)
		}
	}
	for _, p := range ports {
		if p.DeviceID != "" && !slices.ContainsFunc(insts, func(i compute.Instance) bool { return i.ID == p.DeviceID }) {
			s.orphan("port %s is bound to instance %s, which is gone", p.Name, p.DeviceID)
		}
	}
}

// noLinkWithoutRecord: every cloudlet tap is a port's, every cloudlet bridge a network's.
func (s *soak) noLinkWithoutRecord(nets []network.Network, ports []network.Port) {
	want := map[string]bool{}
	for _, n := range nets {
		want[link.BridgeName(n.ID)] = true
	}
	for _, p := range ports {
		want[link.TapName(p.ID)] = true
	}
	for _, prefix := range []string{link.TapPrefix, link.BridgePrefix} {
		names, err := link.List(prefix)
		if err != nil {
			s.t.Fatal(err)
		}
		for _, name := range names {
			if !want[name] {
				s.orphans++
				s.t.Errorf("link %s belongs to no port or network", name)
			}
		}
	}
}

// Names in the rulesets that point at one resource.
var (
	portChainRe   = regexp.MustCompile(`\bCLOUDLET-[A-Z]-([0-9a-f]{10})\b`)
	bridgeChainRe = regexp.MustCompile(`\bport-([0-9a-f]{10})\b`)
	linkNameRe    = regexp.MustCompile(`\bcl(?:t|br)-[0-9a-f]+\b`)
	floatingRe    = regexp.MustCompile(`\b198\.51\.100\.(\d+)\b`)
	dportRe       = regexp.MustCompile(`--dport (\d+)\b|dport (\d+)\b`)
)

// noFirewallRuleWithoutRecord: every port chain, group set, link name, floating address and forwarded
// host port in iptables and nft belongs to a port, group, network, associated floating IP or
// forward of the catalog.
func (s *soak) noFirewallRuleWithoutRecord(nets []network.Network, ports []network.Port, sgs []network.SecurityGroup,
	fips []network.FloatingIP, pfs []network.PortForward) {
	chains, names, ips, hostPorts := map[string]bool{}, map[string]bool{}, map[string]bool{}, map[int]bool{}
	for _, n := range nets {
		names[link.BridgeName(n.ID)] = true
	}
	for _, p := range ports {
		chains[hash10(p.ID)], names[link.TapName(p.ID)] = true, true
	}
	for _, g := range sgs {
		chains[hash10(g.ID)] = true
	}
	for _, f := range fips {
		if f.PortID != "" {
			ips[f.IP.String()] = true
		}
	}
	for _, pf := range pfs {
		hostPorts[pf.HostPort] = true
	}
	rules := commandOutput(s, "iptables-save") + commandOutput(s, "nft", "list", "ruleset")
	for _, line := range strings.Split(rules, "\n") {
		var gone []string
		for _, m := range append(portChainRe.FindAllStringSubmatch(line, -1), bridgeChainRe.FindAllStringSubmatch(line, -1)...) {
			if !chains[m[1]] {
				gone = append(gone, "chain or set "+m[0])
			}
		}
		for _, m := range linkNameRe.FindAllString(line, -1) {
			if !names[m] {
				gone = append(gone, "link "+m)
			}
		}
		for _, m := range floatingRe.FindAllString(line, -1) {
			if !ips[m] && m != soakUplinkIP {
				gone = append(gone, "floating IP "+m)
			}
		}
		for _, m := range dportRe.FindAllStringSubmatch(line, -1) {
			p, _ := strconv.Atoi(m[1] + m[2])
			if p >= soakForwardBase && p < soakForwardBase+1000 && !hostPorts[p] {
				gone = append(gone, "forward of host port "+strconv.Itoa(p))
			}
		}
		if len(gone) > 0 {
			s.orphans++
			s.t.Errorf("a rule of a gone resource (%s): %s", strings.Join(gone, ", "), line)
		}
	}
}

// noFloatingAddressWithoutRecord: the uplink holds its own address and the associated floating IPs.
func (s *soak) noFloatingAddressWithoutRecord(fips []network.FloatingIP) {
	l, err := netlink.LinkByName(soakUplink)
	if err != nil {
		s.t.Fatal(err)
	}
	addrs, err := netlink.AddrList(l, netlink.FAMILY_V4)
	if err != nil {
		s.t.Fatal(err)
	}
	for _, a := range addrs {
		ip := a.IP.String()
		if ip != soakUplinkIP && !slices.ContainsFunc(fips, func(f network.FloatingIP) bool { return f.PortID != "" && f.IP.String() == ip }) {
			s.orphans++
			s.t.Errorf("%s holds %s, no associated floating IP", soakUplink, a.IPNet)
		}
	}
}

// hash10 is the 10 hex digits the firewall names a port's chains with.
func hash10(id string) string {
	sum := sha256.Sum256([]byte(id))
	return hex.EncodeToString(sum[:5])
}

func commandOutput(s *soak, name string, args ...string) string {
	out, err := exec.Command(name, args...).CombinedOutput()
	if err != nil {
		s.t.Fatalf("%s: %v: %s", name, err, out)
	}
	return string(out)
}

// orphan counts and reports something left without its record (or disagreeing with it).
func (s *soak) orphan(format string, args ...any) {
	s.orphans++
	s.t.Errorf(format, args...)
}

func fileExists(path string) bool { _, err := os.Stat(path); return err == nil }

func sleepPoll() { time.Sleep(soakPoll) }
