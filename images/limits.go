package images

import (
	"net/netip"
	"time"
)

// ImportOptions say where imported bytes may come from, and how slowly.
type ImportOptions struct {
	// Dir is the one host directory ImportFile reads from (created 0700 when missing); "" turns
	// file imports off.
	Dir string
	// AllowedPorts are the only ports URL imports connect to; empty means 80 and 443 (Glance's
	// default).
	AllowedPorts []int
	// AllowedCIDRs, when set, are the only ranges URL imports reach (private ranges included when
	// listed). The host's own addresses, loopback, link-local, multicast and unspecified ones stay
	// refused whatever it says.
	AllowedCIDRs []netip.Prefix
	// DeniedCIDRs are never reached.
	DeniedCIDRs []netip.Prefix
	// MinRate is the minimum average rate, in bytes/s over each RateWindow, of a URL import's
	// download and of an upload: slower, the import fails. 0 means no minimum.
	MinRate int64
	// RateWindow is the window MinRate is averaged over; 0 means DefaultRateWindow.
	RateWindow time.Duration
}

// DefaultRateWindow is the window ImportOptions.MinRate is averaged over unless configured.
const DefaultRateWindow = 30 * time.Second
