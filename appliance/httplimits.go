package appliance

import (
	"fmt"
	"time"

	"golang.org/x/sys/unix"

	"cloudlet/web"
)

// checkHTTP checks the HTTP limits; zero values keep web's defaults.
func (c *Config) checkHTTP() error {
	for name, d := range map[string]Duration{"http_header_timeout": c.HTTPHeaderTimeout,
		"http_idle_timeout": c.HTTPIdleTimeout, "http_write_timeout": c.HTTPWriteTimeout,
		"http_body_rate_window": c.HTTPBodyRateWindow, "unauthenticated_audit_window": c.UnauthenticatedAuditWindow} {
		if d < 0 {
			return fmt.Errorf("config: %s must not be negative", name)
		}
	}
	if c.HTTPBodyRateWindow > 0 && time.Duration(c.HTTPBodyRateWindow) < time.Second {
		return fmt.Errorf("config: http_body_rate_window %v: want at least 1s", time.Duration(c.HTTPBodyRateWindow))
	}
	if c.HTTPMinBodyRate < 0 || c.MaxConnectionsPerSource < 0 || c.MaxConnections < 0 {
		return fmt.Errorf("config: http_min_body_rate, max_connections_per_source and max_connections must not be negative")
	}
	return nil
}

// webLimits are the web server's limits from the config. With max_connections unset, TCP clients
// together may hold half the daemon's open-files limit, so a flood from many sources still leaves
// the daemon descriptors for its catalog, QEMU monitors and consoles, taps, DHCP/DNS sockets and
// image files.
func (a *Appliance) webLimits() web.Limits {
	l := web.Limits{HeaderTimeout: time.Duration(a.cfg.HTTPHeaderTimeout), IdleTimeout: time.Duration(a.cfg.HTTPIdleTimeout),
		WriteTimeout: time.Duration(a.cfg.HTTPWriteTimeout), MinBodyRate: a.cfg.HTTPMinBodyRate,
		RateWindow: time.Duration(a.cfg.HTTPBodyRateWindow), MaxConnsPerSource: a.cfg.MaxConnectionsPerSource,
		MaxConns: a.cfg.MaxConnections, AuditWindow: time.Duration(a.cfg.UnauthenticatedAuditWindow)}
	soft, hard, err := openFilesLimit()
	if err != nil {
		a.log.Warn("open files limit unknown", "err", err)
		return l
	}
	if l.MaxConns == 0 {
		l.MaxConns = max(int(min(soft, 1<<30)/2), 64)
	}
	a.log.Info("connection limits", "open_files", soft, "open_files_hard", hard, "max_connections", l.MaxConns,
		"max_connections_per_source", l.MaxConnsPerSource)
	if soft < minOpenFiles {
		a.log.Warn("open files limit is low: raise the hard limit (systemd LimitNOFILE=)", "open_files", soft, "want", minOpenFiles)
	}
	return l
}

// minOpenFiles is the open-files limit below which the daemon warns at start.
const minOpenFiles = 4096

// openFilesLimit is the daemon's RLIMIT_NOFILE. Go (since 1.19) raises its own soft limit to the
// hard one at start, and gives child processes such as QEMU the original soft limit back; so the
// soft limit read here is what the daemon may use, and only the hard limit (systemd's
// LimitNOFILE=, packaging/cloudlet.service) can raise it further.
func openFilesLimit() (soft, hard uint64, err error) {
	var lim unix.Rlimit
	if err := unix.Getrlimit(unix.RLIMIT_NOFILE, &lim); err != nil {
		return 0, 0, fmt.Errorf("getrlimit(RLIMIT_NOFILE): %w", err)
	}
	return lim.Cur, lim.Max, nil
}
