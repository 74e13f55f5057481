package openstack

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"golang.org/x/crypto/ssh"

	"cloudlet/appliance/compute"
	"cloudlet/appliance/network"
	"cloudlet/appliance/volume"
	"cloudlet/web/client"
)

// TestOpenStackCLIRunsAServerThroughItsLife: a member of demo boots the test guest with `openstack
// server create --image --flavor --network --key-name --user-data --wait`; the guest trusts the key
// and runs the user-data (its console log, read with `console log show`, says so); the server is
// listed, shown, stopped, started and rebooted, gets a volume and gives it back, and is deleted —
// each step checked in cloudlet's own API.
func TestOpenStackCLIRunsAServerThroughItsLife(t *testing.T) {
	addUplink(t)
	s := newSite(t)
	s.root("POST", "/api/v1/networks", map[string]any{"name": "public", "external": true, "shared": true,
		"uplink": extUplink, "subnet": map[string]any{"cidr": "198.51.100.0/24", "gateway": "198.51.100.254",
			"allocation_pools": []map[string]string{{"start": "198.51.100.10", "end": "198.51.100.20"}}}}, nil)
	member := s.as("member")
	ctx := context.Background()
	if err := member.Do(ctx, "POST", "/api/v1/networks", map[string]any{"name": "demo-net",
		"subnet": map[string]any{"cidr": "10.91.0.0/24", "dhcp": true}}, nil); err != nil {
		t.Fatalf("network for demo: %v", err)
	}
	if err := member.Do(ctx, "POST", "/api/v1/keypairs", map[string]any{"name": "k1",
		"public_key": newPublicKey(t)}, nil); err != nil {
		t.Fatalf("keypair: %v", err)
	}
	marker := "NOVA-E2E-" + randomHex(t)
	userData := filepath.Join(t.TempDir(), "user-data.sh")
	if err := os.WriteFile(userData, []byte("#!/bin/sh\necho "+marker+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}

	var created struct{ ID, Status string }
	out := s.cli("member", "server", "create", "--image", guestImage, "--flavor", "m1.tiny", "--network", "demo-net",
		"--key-name", "k1", "--user-data", userData, "--wait", "-f", "json", "vm1")
	if err := json.Unmarshal([]byte(out), &created); err != nil || created.Status != "ACTIVE" {
		t.Fatalf("server create = %s (%v), want ACTIVE", out, err)
	}
	inst := waitInstance(t, member, created.ID, "active", nil)
	if inst.Name != "vm1" || inst.KeyName != "k1" || len(inst.Addresses) != 1 {
		t.Fatalf("the API shows %+v, want vm1 with key k1 and one address", inst)
	}
	checkServerListAndShow(t, s, inst)
	inst = checkConsoleLog(t, s, member, inst, marker)

	s.cli("member", "server", "stop", "vm1")
	waitInstance(t, member, inst.ID, "stopped", nil)
	if st := serverStatus(t, s); st != "SHUTOFF" {
		t.Errorf("server show after stop: %s, want SHUTOFF", st)
	}
	s.cli("member", "server", "start", "vm1")
	ready := waitInstance(t, member, inst.ID, "active", func(i compute.Instance) bool { return i.ReadyAt != nil })
	if !ready.ReadyAt.After(*inst.ReadyAt) {
		t.Errorf("after server start the guest's ready_at %s is not after its first boot's %s", ready.ReadyAt, inst.ReadyAt)
	}
	boots := guestBoots(t, member, inst.ID)
	s.cli("member", "server", "reboot", "vm1")
	waitInstance(t, member, inst.ID, "active", func(compute.Instance) bool { return guestBoots(t, member, inst.ID) > boots })
	if st := serverStatus(t, s); st != "ACTIVE" {
		t.Errorf("server show after reboot: %s, want ACTIVE", st)
	}

	checkVolumeAttachAndDetach(t, s, member, inst)
	checkFloatingIPAddAndRemove(t, s, member, inst)

	s.cli("member", "server", "delete", "--wait", "vm1")
	var ae *client.Error
	if err := member.Do(ctx, "GET", "/api/v1/instances/"+inst.ID, nil, &inst); !errorAs(err, &ae) || ae.Code != 404 {
		t.Errorf("after server delete --wait the API answers %v, want 404", err)
	}
}

// checkFloatingIPAddAndRemove: `floating ip create public` and `server add floating ip` put a floating
// IP on the server's port (in /api/v1, and in server show's addresses); `server remove floating ip`
// takes it off.
func checkFloatingIPAddAndRemove(t *testing.T, s *site, member *client.Client, inst compute.Instance) {
	t.Helper()
	fip := cliJSON[struct {
		ID      string
		Address string `json:"floating_ip_address"`
	}](t, s, "floating", "ip", "create", "public")
	s.cli("member", "server", "add", "floating", "ip", "vm1", fip.Address)
	var native network.FloatingIP
	get(t, member, "/api/v1/floating-ips/"+fip.ID, &native)
	if native.PortID != inst.PortIDs[0] || native.FixedIP.String() != inst.Addresses[0].IP {
		t.Errorf("after server add floating ip the API shows %+v, want it on port %s (%s)", native,
			inst.PortIDs[0], inst.Addresses[0].IP)
	}
	if show := s.cli("member", "server", "show", "-f", "json", "vm1"); !strings.Contains(show, fip.Address) {
		t.Errorf("server show after add floating ip lacks %s:\n%s", fip.Address, show)
	}
	s.cli("member", "server", "remove", "floating", "ip", "vm1", fip.Address)
	get(t, member, "/api/v1/floating-ips/"+fip.ID, &native)
	if native.PortID != "" {
		t.Errorf("after server remove floating ip the API shows %+v, want it on no port", native)
	}
}

// checkServerListAndShow: the list has vm1 ACTIVE; show has its creator and its address on demo-net
// as the API has them.
func checkServerListAndShow(t *testing.T, s *site, inst compute.Instance) {
	t.Helper()
	var list []struct{ ID, Name, Status string }
	if err := json.Unmarshal([]byte(s.cli("member", "server", "list", "-f", "json")), &list); err != nil ||
		len(list) != 1 || list[0].ID != inst.ID || list[0].Status != "ACTIVE" {
		t.Errorf("server list = %+v (%v), want vm1 ACTIVE", list, err)
	}
	var shown struct {
		ID, Status string
		Addresses  any    `json:"addresses"`
		KeyName    string `json:"key_name"`
		UserID     string `json:"user_id"`
	}
	out := s.cli("member", "server", "show", "-f", "json", "vm1")
	if err := json.Unmarshal([]byte(out), &shown); err != nil {
		t.Fatalf("server show: %v\n%s", err, out)
	}
	addrs, _ := json.Marshal(shown.Addresses)
	if shown.ID != inst.ID || shown.Status != "ACTIVE" || shown.KeyName != "k1" || shown.UserID == "" || shown.UserID != inst.UserID ||
		!strings.Contains(string(addrs), "demo-net") || !strings.Contains(string(addrs), inst.Addresses[0].IP) {
		t.Errorf("server show = %s, want ACTIVE, key k1, the creator %q and address %s on demo-net", out, inst.UserID,
			inst.Addresses[0].IP)
	}
}

// checkConsoleLog: once the API says the guest is ready, `console log show` has the markers of a
// guest that, given no config drive (Nova's default), took the key and the user-data from the
// metadata service and ran the user-data; `console url show` gives cloudlet's ticketed VNC URL.
func checkConsoleLog(t *testing.T, s *site, member *client.Client, inst compute.Instance, marker string) compute.Instance {
	t.Helper()
	inst = waitInstance(t, member, inst.ID, "active", func(i compute.Instance) bool { return i.ReadyAt != nil })
	log := s.cli("member", "console", "log", "show", "vm1")
	for _, want := range []string{"CLOUDLET-GUEST-SEED none", "CLOUDLET-GUEST-SSHKEYS count=1",
		"CLOUDLET-GUEST-SOURCE metadata", "CLOUDLET-GUEST-USERDATA ran rc=0", marker,
		"CLOUDLET-GUEST-READY hostname=vm1"} {
		if !strings.Contains(log, want) {
			t.Errorf("console log show lacks %q:\n%s", want, log)
		}
	}
	var console struct{ Type, URL string }
	out := s.cli("member", "console", "url", "show", "-f", "json", "vm1")
	if err := json.Unmarshal([]byte(out), &console); err != nil || console.Type != "novnc" ||
		!strings.HasPrefix(console.URL, "http://"+s.d.Listen+"/api/v1/instances/"+inst.ID+"/vnc?ticket=") {
		t.Errorf("console url show = %s (%v), want cloudlet's ticketed VNC URL", out, err)
	}
	return inst
}

// checkVolumeAttachAndDetach: `server add volume` attaches a volume the API made (in-use, attached
// to the server), `server remove volume` gives it back (available).
func checkVolumeAttachAndDetach(t *testing.T, s *site, member *client.Client, inst compute.Instance) {
	t.Helper()
	var v volume.Volume
	if err := member.Do(context.Background(), "POST", "/api/v1/volumes", map[string]any{"name": "v1", "size_gib": 1}, &v); err != nil {
		t.Fatalf("volume: %v", err)
	}
	waitVolume(t, member, v.ID, func(v volume.Volume) bool { return v.Status == volume.StatusAvailable })
	s.cli("member", "server", "add", "volume", "vm1", "v1")
	waitVolume(t, member, v.ID, func(v volume.Volume) bool {
		return v.Status == volume.StatusInUse && v.Attachment != nil && v.Attachment.InstanceID == inst.ID
	})
	s.cli("member", "server", "remove", "volume", "vm1", "v1")
	waitVolume(t, member, v.ID, func(v volume.Volume) bool { return v.Status == volume.StatusAvailable && v.Attachment == nil })
}

// serverStatus is `server show vm1`'s status.
func serverStatus(t *testing.T, s *site) string {
	t.Helper()
	var shown struct{ Status string }
	if err := json.Unmarshal([]byte(s.cli("member", "server", "show", "-f", "json", "vm1")), &shown); err != nil {
		t.Fatalf("server show: %v", err)
	}
	return shown.Status
}

// guestBoots counts the boots the instance's console log shows through to READY.
func guestBoots(t *testing.T, c *client.Client, id string) int {
	t.Helper()
	body, err := c.Stream(context.Background(), "GET", "/api/v1/instances/"+id+"/console-log?bytes=4194304")
	if err != nil {
		t.Fatalf("console log: %v", err)
	}
	defer body.Close()
	log, err := io.ReadAll(body)
	if err != nil {
		t.Fatalf("console log: %v", err)
	}
	return strings.Count(string(log), "CLOUDLET-GUEST-READY")
}

// waitInstance polls the API until the instance is in vm_state with no task and more holds, for
// as long as a guest may take to boot.
func waitInstance(t *testing.T, c *client.Client, id, vmState string, more func(compute.Instance) bool) compute.Instance {
	t.Helper()
	var inst compute.Instance
	deadline := time.Now().Add(guestBoot)
	for time.Now().Before(deadline) {
		err := c.Do(context.Background(), "GET", "/api/v1/instances/"+id, nil, &inst)
		if err == nil && string(inst.VMState) == vmState && inst.TaskState == "" && (more == nil || more(inst)) {
			return inst
		}
		time.Sleep(time.Second)
	}
	t.Fatalf("instance %s never reached %s as wanted: %+v", id, vmState, inst)
	return inst
}

// waitVolume polls the API until the volume satisfies ok.
func waitVolume(t *testing.T, c *client.Client, id string, ok func(volume.Volume) bool) {
	t.Helper()
	var v volume.Volume
	for deadline := time.Now().Add(time.Minute); time.Now().Before(deadline); time.Sleep(500 * time.Millisecond) {
		if err := c.Do(context.Background(), "GET", "/api/v1/volumes/"+id, nil, &v); err == nil && ok(v) {
			return
		}
	}
	t.Fatalf("volume %s never reached the state wanted: %+v", id, v)
}

// newPublicKey is a fresh ed25519 public key as an authorized_keys line.
func newPublicKey(t *testing.T) string {
	t.Helper()
	pub, _, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	sp, err := ssh.NewPublicKey(pub)
	if err != nil {
		t.Fatal(err)
	}
	return strings.TrimSpace(string(ssh.MarshalAuthorizedKey(sp))) + " nova-e2e"
}

func randomHex(t *testing.T) string {
	t.Helper()
	b := make([]byte, 6)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return hex.EncodeToString(b)
}
