package e2e

import (
	"strings"
	"syscall"
	"testing"
	"time"

	"cloudlet/appliance/compute"
)

// metadataOnly are the create fields (and metadataOnlyFlags the CLI flags) that keep a seed away from
// an instance, so the test guest has only the metadata service to learn from.
var (
	metadataOnly      = map[string]any{"config_drive": "none"}
	metadataOnlyFlags = []string{"--config-drive", "none"}
)

// Two test guests on one network, without a seed: each configures itself from the metadata service
// (its own hostname and key) and phones home, so `--wait ready` returns through the phone-home; each
// reads its own documents on the EC2 and the OpenStack paths, also without a default route; neither
// reads the other's, even with the other's address on its own NIC (anti-spoofing drops that source);
// and the service answers again after a daemon restart.
func TestMetadataServiceGivesEachGuestItsOwn(t *testing.T) {
	c := newCloud(t, "")
	if err := c.Do("POST", "/api/v1/networks", map[string]any{"name": "lan", "subnet": map[string]any{"cidr": "10.64.0.0/24", "dhcp": true}}, nil); err != nil {
		t.Fatal(err)
	}
	keys := map[string]string{}
	for _, name := range []string{"key-alpha", "key-beta"} {
		var k struct {
			PublicKey string `json:"public_key"`
		}
		if err := c.Do("POST", "/api/v1/keypairs", map[string]any{"name": name}, &k); err != nil {
			t.Fatal(err)
		}
		keys[name] = k.PublicKey
	}
	more := map[string]any{"networks": []string{"lan"}, "key_name": "key-beta"}
	for k, v := range metadataOnly {
		more[k] = v
	}
	beta := c.Create("beta", kernelImage, more)

	args := append([]string{"instance", "create", "alpha", "--image", kernelImage, "--network", "lan",
		"--key", "key-alpha", "--wait", "ready", "--socket", c.D.Socket}, metadataOnlyFlags...)
	out, errOut, code := cli(t, args...)
	if code != 0 || !strings.Contains(out, "phone-home") || !strings.Contains(out, "timeline.guest_ready") {
		t.Fatalf("instance create --wait ready: exit %d\n%s%s\nwant the timeline up to guest_ready, via phone-home", code, out, errOut)
	}
	alpha := c.Show("alpha")
	if alpha.ReadyAt == nil || alpha.ReadyVia != compute.ReadyViaPhoneHome {
		t.Errorf("alpha ready at %v via %q, want via phone-home", alpha.ReadyAt, alpha.ReadyVia)
	}
	c.WaitConsole(beta.ID, ready, 1, bootWait)
	insts := map[string]compute.Instance{"alpha": alpha, "beta": c.Show(beta.ID)}
	sh := map[string]*shell{}
	for name, inst := range insts {
		log := c.WaitConsole(inst.ID, ready, 1, bootWait)
		for _, want := range []string{"CLOUDLET-GUEST-SOURCE metadata", "CLOUDLET-GUEST-SSHKEYS count=1",
			"CLOUDLET-GUEST-PHONEHOME rc=0", "CLOUDLET-GUEST-READY hostname=" + name} {
			if !strings.Contains(log, want) {
				t.Errorf("%s's console lacks %q:\n%s", name, want, Tail(log, 2000))
			}
		}
		sh[name] = c.shell(inst.ID, name)
		askOwn(t, sh[name], inst, keys["key-"+name])
	}

	// beta with alpha's address as a second one, and as the source of its metadata requests.
	alphaIP, betaIP := insts["alpha"].Addresses[0].IP, insts["beta"].Addresses[0].IP
	mustRun(t, sh["beta"], "ip addr add "+alphaIP+"/32 dev eth0 && ip route replace 169.254.169.254/32 via 10.64.0.1 dev eth0 src "+alphaIP)
	if body, ok := sh["beta"].fetch("http://169.254.169.254/latest/meta-data/instance-id"); ok || strings.Contains(body, alpha.ID) {
		t.Errorf("beta asking with alpha's address got %q (ok=%v), want nothing", body, ok)
	}
	mustRun(t, sh["beta"], "ip route replace 169.254.169.254/32 via 10.64.0.1 dev eth0 src "+betaIP+" && ip addr del "+alphaIP+"/32 dev eth0")
	if body, _ := sh["beta"].fetch("http://169.254.169.254/latest/meta-data/instance-id"); body != beta.ID {
		t.Errorf("beta back on its own address reads instance-id %q, want its own %s", body, beta.ID)
	}

	// Without a default route the guest still reaches the service: DHCP routed 169.254.169.254/32.
	mustRun(t, sh["alpha"], "ip route del default")
	if body, ok := sh["alpha"].fetch("http://169.254.169.254/latest/meta-data/instance-id"); !ok || body != alpha.ID {
		t.Errorf("alpha without a default route reads instance-id %q (ok=%v), want %s; routes:\n%s", body, ok, alpha.ID,
			mustRun(t, sh["alpha"], "ip route"))
	}
	mustRun(t, sh["alpha"], "ip route add default via 10.64.0.1 dev eth0")

	if err := c.D.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	if err, exited := c.D.Wait(30 * time.Second); !exited || err != nil {
		t.Fatalf("daemon after SIGTERM: exited=%v err=%v", exited, err)
	}
	c.D.Start(t)
	c.D.WaitReady(t)
	sh["alpha"] = c.shell(insts["alpha"].ID, "alpha") // the serial console is the daemon's: the old shell ended with it
	askOwn(t, sh["alpha"], insts["alpha"], keys["key-alpha"])
}

// askOwn checks, from inside the guest, that the metadata service tells it its own id, host name,
// address and key, on the EC2 and the OpenStack paths.
func askOwn(t *testing.T, s *shell, inst compute.Instance, key string) {
	t.Helper()
	for path, want := range map[string]string{
		"/latest/meta-data/instance-id":               inst.ID,
		"/latest/meta-data/hostname":                  inst.Name,
		"/latest/meta-data/local-ipv4":                inst.Addresses[0].IP,
		"/latest/meta-data/public-keys/0/openssh-key": key,
	} {
		if body, ok := s.fetch("http://169.254.169.254" + path); !ok || body != want {
			t.Errorf("%s reads %s: %q (ok=%v), want %q", s.name, path, body, ok, want)
		}
	}
	body, ok := s.fetch("http://169.254.169.254/openstack/latest/meta_data.json")
	for _, want := range []string{`"uuid":"` + inst.ID + `"`, `"hostname":"` + inst.Name + `"`, key} {
		if !ok || !strings.Contains(body, want) {
			t.Errorf("%s reads meta_data.json: %q (ok=%v), want it to hold %s", s.name, body, ok, want)
		}
	}
}
