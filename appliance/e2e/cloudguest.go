package e2e

import "time"

const (
	// CloudImage is the real cloud-init guest (images/cloudguest), booted from its own kernel and initrd.
	CloudImage = "debian-cloud"
	// CloudFlavor gives it the 1 GiB that Debian with cloud-init boots in (the plain baseline's size).
	CloudFlavor = "c1.cloudinit"
	// CloudBootWait bounds create → report line: 75 s on a quiet machine under TCG, 4½–5 min measured with
	// several QEMUs and builds on the 2 cores (as in make test); twice that, so only a stuck guest fails.
	CloudBootWait = 10 * time.Minute
)

// ImportCloudGuest imports the cloud-init guest as CloudImage and makes CloudFlavor.
func (c *Cloud) ImportCloudGuest() {
	c.T.Helper()
	g := CloudGuestPaths(c.T)
	c.ImportImage(map[string]any{"name": CloudImage, "path": g.Disk, "disk_format": "qcow2",
		"kernel_path": g.Kernel, "initrd_path": g.Initrd, "cmdline": g.Cmdline})
	if err := c.Do("POST", "/api/v1/flavors", map[string]any{"name": CloudFlavor, "vcpus": 1, "ram_mib": 1024, "disk_gib": 2}, nil); err != nil {
		c.T.Fatalf("make flavor %s: %v", CloudFlavor, err)
	}
}
