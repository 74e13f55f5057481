package appliance

import (
	"fmt"
	"net/netip"
	"path/filepath"
	"strings"
	"time"

	"cloudlet/images"
)

// Defaults of the image import settings.
const (
	DefaultImageImportMinRate    = 1024 // bytes/s: a download or upload slower than this over a window fails
	DefaultImageImportRateWindow = 30 * time.Second
)

// checkImageImports checks the import directory and the URL import settings; empty values take
// their defaults.
func (c *Config) checkImageImports() error {
	if err := c.checkImportDir(); err != nil {
		return err
	}
	if len(c.ImageImportAllowedPorts) == 0 {
		c.ImageImportAllowedPorts = []int{80, 443}
	}
	for _, p := range c.ImageImportAllowedPorts {
		if p < 1 || p > 65535 {
			return fmt.Errorf("config: image_import_allowed_ports: %d is not a TCP port (1-65535)", p)
		}
	}
	for key, list := range map[string][]string{"image_import_allowed_cidrs": c.ImageImportAllowedCIDRs,
		"image_import_denied_cidrs": c.ImageImportDeniedCIDRs} {
		if _, err := parsePrefixes(list); err != nil {
			return fmt.Errorf("config: %s: %w", key, err)
		}
	}
	if c.ImageImportMinRate < 0 || c.ImageImportRateWindow < 0 {
		return fmt.Errorf("config: image_import_min_rate and image_import_rate_window must not be negative")
	}
	if c.ImageImportRateWindow == 0 {
		c.ImageImportRateWindow = Duration(DefaultImageImportRateWindow)
	}
	return nil
}

// checkImportDir refuses an import directory that would expose the daemon's own files (catalog.db,
// admin-password, sockets) to file imports: it must not be the data or run directory or hold them.
func (c *Config) checkImportDir() error {
	for _, own := range []string{c.DataDir, c.RunDir} {
		if rel, err := filepath.Rel(c.ImportDir, own); err == nil && rel != ".." && !strings.HasPrefix(rel, "../") {
			return fmt.Errorf("config: import_dir %s must not be or contain %s: file imports would read cloudlet's own files", c.ImportDir, own)
		}
	}
	return nil
}

// parsePrefixes parses CIDRs such as 192.168.1.0/24 or 2001:db8::/32.
func parsePrefixes(list []string) ([]netip.Prefix, error) {
	out := make([]netip.Prefix, 0, len(list))
	for _, s := range list {
		p, err := netip.ParsePrefix(s)
		if err != nil {
			return nil, fmt.Errorf("%q is not a CIDR like 192.168.1.0/24", s)
		}
		out = append(out, p.Masked())
	}
	return out, nil
}

// imageImportOptions are the URL and file import settings of the image service.
func (c *Config) imageImportOptions() images.ImportOptions {
	allowed, _ := parsePrefixes(c.ImageImportAllowedCIDRs) // checked in Normalize
	denied, _ := parsePrefixes(c.ImageImportDeniedCIDRs)
	return images.ImportOptions{Dir: c.ImportDir, AllowedPorts: c.ImageImportAllowedPorts,
		AllowedCIDRs: allowed, DeniedCIDRs: denied, MinRate: c.ImageImportMinRate,
		RateWindow: time.Duration(c.ImageImportRateWindow)}
}
