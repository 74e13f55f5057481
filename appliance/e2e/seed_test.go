package e2e

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"
)

// The test guest, created with user-data, a keypair and a hostname, gets them from cloudlet's NoCloud
// seed: its /init finds the cidata disk, applies local-hostname, runs the user-data script; from inside,
// its own kernel mounts the seed and reads meta-data with the key under its hyphenated name, and
// network-config with its port's MAC and address. The
// user-data is in no list, event or daemon log, and the password in none either.
func TestTheGuestGetsHostnameKeyAndUserDataFromCloudletsSeed(t *testing.T) {
	c := newCloud(t, "")
	var k struct {
		PublicKey string `json:"public_key"`
	}
	if err := c.Do("POST", "/api/v1/keypairs", map[string]any{"name": "mine"}, &k); err != nil {
		t.Fatalf("generate a keypair: %v", err)
	}
	const canary = "CANARY-ud-5e1d9"
	script := "#!/bin/sh\necho " + canary + " >/root/ud\n"
	inst := c.Create("seeded", kernelImage, map[string]any{"key_name": "mine", "hostname": "seed-host",
		"password": "CANARY-pw-77", "metadata": map[string]string{"role": "e2e"},
		"user_data": base64.StdEncoding.EncodeToString([]byte(script))})
	log := c.WaitConsole(inst.ID, "CLOUDLET-GUEST-READY", 1, 90*time.Second)
	for _, want := range []string{"CLOUDLET-GUEST-SEED found dev=/dev/vd", "CLOUDLET-GUEST-USERDATA ran rc=0",
		"CLOUDLET-GUEST-READY hostname=seed-host "} {
		if !strings.Contains(log, want) {
			t.Errorf("console lacks %q:\n%s", want, Tail(log, 2000))
		}
	}
	sh := c.shell(inst.ID, "seeded")
	if out, rc := sh.run("cat /root/ud"); rc != 0 || out != canary {
		t.Errorf("the user-data script's file: %q rc=%d", out, rc)
	}
	out, rc := sh.run(`mkdir -p /mnt/seed && for d in /dev/vd?; do mount -t iso9660 -o ro $d /mnt/seed 2>/dev/null && break; done; ls /mnt/seed; cat /mnt/seed/meta-data; cat /mnt/seed/network-config; echo; grep -c phone_home /mnt/seed/vendor-data; umount /mnt/seed`)
	shown := c.Show(inst.ID)
	if len(shown.Addresses) != 1 {
		t.Fatalf("addresses %v; want one on network default", shown.Addresses)
	}
	nic := shown.Addresses[0]
	for _, want := range []string{"meta-data", "network-config", "user-data", "vendor-data", "instance-id: \"" + inst.ID + "\"",
		"local-hostname: \"seed-host\"", k.PublicKey, `"macaddress":"` + nic.MAC + `"`, `"addresses":["` + nic.IP + `/`} {
		if rc != 0 || !strings.Contains(out, want) {
			t.Errorf("the seed as the guest's kernel reads it lacks %q (rc=%d):\n%s", want, rc, out)
		}
	}
	if shown.UserDataSize != len(script) || !shown.PasswordSet || shown.Metadata["role"] != "e2e" {
		t.Errorf("show: user_data_size %d password_set %v metadata %v", shown.UserDataSize, shown.PasswordSet, shown.Metadata)
	}
	assertNowhere(t, c, canary, "CANARY-pw-77", base64.StdEncoding.EncodeToString([]byte(script)))
}

// assertNowhere checks that no secret appears in the instance list, the event log or the daemon's log.
func assertNowhere(t *testing.T, c *Cloud, secrets ...string) {
	t.Helper()
	var list, events json.RawMessage
	if err := c.Do("GET", "/api/v1/instances", nil, &list); err != nil {
		t.Fatal(err)
	}
	if err := c.Do("GET", "/api/v1/events?since=0&limit=5000", nil, &events); err != nil {
		t.Fatal(err)
	}
	for where, text := range map[string]string{"the instance list": string(list), "the event log": string(events),
		"the daemon's log": c.D.Stdout() + c.D.Stderr()} {
		for _, s := range secrets {
			if strings.Contains(text, s) {
				t.Errorf("%q appears in %s", s, where)
			}
		}
	}
}

// config_drive none boots with no seed attached (the guest finds none), and every instance carries
// SMBIOS type 1 naming OpenStack Nova and its UUID, so cloud-init enables its OpenStack datasource.
func TestConfigDriveNoneBootsWithNoSeedAndSMBIOSNamesOpenStack(t *testing.T) {
	c := newCloud(t, "")
	inst := c.Create("noseed", kernelImage, map[string]any{"networks": []string{}, "config_drive": "none"})
	log := c.WaitConsole(inst.ID, "CLOUDLET-GUEST-READY", 1, 90*time.Second)
	if !strings.Contains(log, "CLOUDLET-GUEST-SEED none") {
		t.Errorf("the guest found a seed:\n%s", Tail(log, 2000))
	}
	running := c.Show(inst.ID)
	argv := cmdline(running.PID)
	if strings.Contains(argv, "seed.iso") {
		t.Errorf("QEMU was given a seed: %s", argv)
	}
	smbios := fmt.Sprintf("type=1,manufacturer=OpenStack Foundation,product=OpenStack Nova,serial=%s,uuid=%s", inst.ID, inst.ID)
	if !strings.Contains(argv, smbios) {
		t.Errorf("QEMU's argv lacks %q: %s", smbios, argv)
	}
	sh := c.shell(inst.ID, "noseed")
	if out, _ := sh.run("cat /sys/class/dmi/id/sys_vendor /sys/class/dmi/id/product_name /sys/class/dmi/id/product_serial"); out != "OpenStack Foundation\nOpenStack Nova\n"+inst.ID {
		t.Errorf("the guest's DMI reads %q", out)
	}
}

// Bad guest fields are 400s naming the field; nothing is made.
func TestBadGuestFieldsAre400NamingTheField(t *testing.T) {
	c := newCloud(t, "")
	big := base64.StdEncoding.EncodeToString(make([]byte, 64<<10+1))
	for _, tc := range []struct{ body, field string }{
		{`{"name":"x","image":"tg","flavor":"m1.tiny","networks":[],"user_data":"%%%"}`, "user_data"},
		{`{"name":"x","image":"tg","flavor":"m1.tiny","networks":[],"user_data":"` + big + `"}`, "user_data"},
		{`{"name":"x","image":"tg","flavor":"m1.tiny","networks":[],"hostname":"a_b"}`, "hostname"},
		{`{"name":"x","image":"tg","flavor":"m1.tiny","networks":[],"config_drive":"floppy"}`, "config_drive"},
		{`{"name":"x","image":"tg","flavor":"m1.tiny","networks":[],"metadata":{"k":"` + strings.Repeat("v", 256) + `"}}`, "metadata"},
	} {
		if status, body := apiStatus(t, c, "POST", "/api/v1/instances", tc.body); status != 400 || !strings.Contains(body, tc.field) {
			t.Errorf("%.80s…: %d %s; want 400 naming %s", tc.body, status, body, tc.field)
		}
	}
	var list []json.RawMessage
	if err := c.Do("GET", "/api/v1/instances", nil, &list); err != nil || len(list) != 0 {
		t.Errorf("%d instances made by bad requests (%v)", len(list), err)
	}
}

// config_drive configdrive attaches a config-2 drive: the guest's kernel mounts it and reads
// openstack/latest/meta_data.json (its UUID, hostname, key and metadata) and the dated copy.
func TestTheGuestReadsItsConfigDrive(t *testing.T) {
	c := newCloud(t, "")
	inst := c.Create("drive", kernelImage, map[string]any{"networks": []string{}, "config_drive": "configdrive",
		"metadata": map[string]string{"role": "cd"}, "user_data": base64.StdEncoding.EncodeToString([]byte("#!/bin/sh\ntrue\n"))})
	c.WaitConsole(inst.ID, "CLOUDLET-GUEST-READY", 1, 90*time.Second)
	out, rc := c.shell(inst.ID, "drive").run(`mkdir -p /mnt/cd && for d in /dev/vd?; do mount -t iso9660 -o ro $d /mnt/cd 2>/dev/null && break; done; ls /mnt/cd/openstack /mnt/cd/openstack/latest; cat /mnt/cd/openstack/2018-08-27/meta_data.json; echo; cat /mnt/cd/openstack/latest/user_data; umount /mnt/cd`)
	for _, want := range []string{"2018-08-27", "latest", "meta_data.json", "network_data.json", "vendor_data.json",
		"vendor_data2.json", "user_data", `"uuid":"` + inst.ID + `"`, `"hostname":"drive"`, `"meta":{"role":"cd"}`, "#!/bin/sh"} {
		if rc != 0 || !strings.Contains(out, want) {
			t.Errorf("the config drive as the guest's kernel reads it lacks %q (rc=%d):\n%s", want, rc, out)
		}
	}
}
