package appliance

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"regexp"
	"time"

	"cloudlet/appliance/compute"
	"cloudlet/appliance/host"
	"cloudlet/appliance/identity"
	"cloudlet/appliance/metering"
	"cloudlet/appliance/network"
	"cloudlet/appliance/webhook"
	"cloudlet/web"
)

// Config is everything the daemon needs to know. Every path derives from DataDir and RunDir, so tests
// run a whole daemon under a temp dir. The JSON form is the config file (`cloudlet serve --config`).
type Config struct {
	// DataDir holds persistent state: catalog.db, images/, pools/, instances/, admin-password.
	DataDir string `json:"data_dir"`
	// RunDir holds runtime state that a reboot wipes: the API socket, per-instance sockets and pidfiles.
	RunDir string `json:"run_dir"`
	// Listen is the TCP address of the API and dashboard.
	Listen string `json:"listen"`
	// Socket is the unix socket of the API (mode 0600; root there is admin). Empty means RunDir/cloudlet.sock.
	Socket string `json:"socket"`
	// Accel is auto, kvm or tcg; auto picks KVM only when it really works (see host.ChooseAccel).
	Accel string `json:"accel"`
	// LogLevel is debug, info, warn or error.
	LogLevel string `json:"log_level"`
	// ShutdownTimeout bounds how long in-flight requests may finish on SIGTERM.
	ShutdownTimeout Duration `json:"shutdown_timeout"`

	// HTTP limits against exhaustion without a login (web.Limits says what each bounds).
	HTTPHeaderTimeout       Duration `json:"http_header_timeout"`
	HTTPIdleTimeout         Duration `json:"http_idle_timeout"`
	HTTPWriteTimeout        Duration `json:"http_write_timeout"`
	HTTPMinBodyRate         int64    `json:"http_min_body_rate"` // bytes per second, over each http_body_rate_window
	HTTPBodyRateWindow      Duration `json:"http_body_rate_window"`
	MaxConnectionsPerSource int      `json:"max_connections_per_source"` // per IPv4 address or IPv6 /64
	MaxConnections          int      `json:"max_connections"`            // 0: half the open-files limit
	// UnauthenticatedAuditWindow is how long failures without a login are counted before their
	// aggregated audit entries are written.
	UnauthenticatedAuditWindow Duration `json:"unauthenticated_audit_window"`

	// QEMUUser is the unprivileged user QEMU runs as; the daemon refuses to start when it does not
	// exist. "root" keeps QEMU as root, explicitly; "" means DefaultQEMUUser.
	QEMUUser string `json:"qemu_user"`

	// CPUAllocationRatio and RAMAllocationRatio are Nova's overcommit ratios: instances may claim up to
	// ratio × the host's CPUs and (RAM − ReservedHostMemoryMiB).
	CPUAllocationRatio    float64 `json:"cpu_allocation_ratio"`
	RAMAllocationRatio    float64 `json:"ram_allocation_ratio"`
	ReservedHostMemoryMiB int     `json:"reserved_host_memory_mib"`
	// StopTimeout is how long a guest gets to power off after the ACPI button before QEMU is told to quit.
	StopTimeout Duration `json:"stop_timeout"`
	// HealthInterval is how often each instance's QEMU is asked for its status.
	HealthInterval Duration `json:"health_interval"`
	// GuestAgentInterval is how often a running guest's QEMU guest agent is asked for its host name,
	// OS and addresses (until it first answers in a boot: every 5 s).
	GuestAgentInterval Duration `json:"guest_agent_interval"`
	// GuestAgentReady lets the guest agent mark the guest ready: at its first answer of a boot when
	// the guest has no cloud-init, once cloud-init has finished (/run/cloud-init/result.json) when it
	// has. Off, only the guest's own signals do (phone-home, org.cloudlet.ready, the console marker).
	GuestAgentReady bool `json:"guest_agent_ready"`
	// CrashLoopLimit is how many crashes within CrashLoopWindow the on-crash restart policy tolerates.
	CrashLoopLimit  int      `json:"crash_loop_limit"`
	CrashLoopWindow Duration `json:"crash_loop_window"`
	// ConsoleLogMaxBytes bounds each instance's serial console log: console.log and the rotated
	// console.log.1 together keep about this much of the newest output.
	ConsoleLogMaxBytes int64 `json:"console_log_max_bytes"`
	// SerialConsoleViewers is how many viewers one instance's serial console websocket serves at once.
	SerialConsoleViewers int `json:"serial_console_viewers"`

	// TrustLoopback makes TCP callers from a loopback address admin without a token, as before
	// identity landed: only for a single-user laptop or a test rig. Off (the default), they log in
	// like anyone (POST /api/v1/auth/tokens); root on the unix socket stays admin either way.
	TrustLoopback bool `json:"trust_loopback"`

	// AuditRetention is how long the audit log keeps an entry; older ones are pruned at start and daily.
	AuditRetention Duration `json:"audit_retention"`
	// EventLogKeep is how many of the newest events the catalog's event log keeps; older ones are
	// pruned at start and daily. An event stream or webhook further behind is told of the gap.
	EventLogKeep int `json:"event_log_keep"`

	// TLS makes the API serve HTTPS on a loopback address too; any other address serves HTTPS
	// unless InsecureHTTP. TLSCert and TLSKey are the admin's own certificate and key (PEM); without
	// them a self-signed one is made on the first start in <data_dir>/tls and kept.
	TLS     bool   `json:"tls"`
	TLSCert string `json:"tls_cert"`
	TLSKey  string `json:"tls_key"`
	// InsecureHTTP serves plain HTTP on a non-loopback address: passwords and tokens cross the
	// network in clear text. Only for a network nobody else can see.
	InsecureHTTP bool `json:"insecure_http"`
	// FirstStartImage, "NAME=PATH", is a qcow2 disk imported as a public image on the daemon's first
	// start (a fresh data dir), so a newcomer can launch something at once: `make run` passes the test
	// guest as "tiny". A flag only (serve --first-start-image); the packaged service sets none.
	FirstStartImage string `json:"-"`
	// ImportDir is the one host directory admins import image files from (POST
	// /api/v1/images/import-file names files inside it); created 0700 at start. Empty means
	// DataDir/import. It must not be or contain the data or run directory.
	ImportDir string `json:"import_dir"`
	// URL imports (see config_images.go): the ports they may connect to (default 80 and 443), the
	// only address ranges they may reach when the allow list is set (private ranges need it), the
	// ranges they never reach, and the minimum rate a download or upload must keep, in bytes/s
	// averaged over each rate window (0 turns it off).
	ImageImportAllowedPorts []int    `json:"image_import_allowed_ports"`
	ImageImportAllowedCIDRs []string `json:"image_import_allowed_cidrs"`
	ImageImportDeniedCIDRs  []string `json:"image_import_denied_cidrs"`
	ImageImportMinRate      int64    `json:"image_import_min_rate"`
	ImageImportRateWindow   Duration `json:"image_import_rate_window"`
	// Webhooks (see config_webhooks.go): the private ranges deliveries may reach besides public
	// addresses (default none; loopback, link-local and the host's own addresses stay refused), and
	// the time one delivery attempt may take (default 10s).
	WebhookAllowedCIDRs []string `json:"webhook_allowed_cidrs"`
	WebhookTimeout      Duration `json:"webhook_timeout"`

	// DNSDomain is the suffix of instance names in each network's DNS: <instance>.<network>.<domain>.
	DNSDomain string `json:"dns_domain"`
	// NetworkCIDRsAllowed are ranges members may put networks on besides the private ones (10/8,
	// 172.16/12, 192.168/16, 100.64/10); admins may use any. Reserved ranges stay refused to all.
	NetworkCIDRsAllowed []netip.Prefix `json:"network_cidrs_allowed"`
	// PortForwardRange is where members' port forwards take host ports, "first-last"; it may not
	// reach below 1024 (admin-only). Admins may use any free port.
	PortForwardRange string `json:"port_forward_range"`
	// MetadataPort is where the metadata service listens on each network's gateway; guests ask
	// 169.254.169.254:80, which is DNATed there. 0 turns the metadata service off.
	MetadataPort int `json:"metadata_port"`

	// MaxImageSize caps the data of one image (an upload, a URL import, a file import), like
	// Glance's image_size_cap; each project's images together are bounded by its image_gigabytes quota.
	MaxImageSize ByteSize `json:"max_image_size"`
	// LoginFreeFailures is how many failed logins a user may have from one address before each
	// further one locks that user out at that address (other addresses are not affected), for 1 s
	// doubling up to LoginBackoffMax. An admin clears a lockout: `cloudlet user unlock USER`.
	LoginFreeFailures int      `json:"login_free_failures"`
	LoginBackoffMax   Duration `json:"login_backoff_max"`
	// LoginBurstPerAddress is how many logins (good or bad) one address may make at once before it
	// is held to one every 10 s: a school's NAT, or a test suite such as tempest that logs in for
	// every test class, needs more than the default 30.
	LoginBurstPerAddress int `json:"login_burst_per_address"`
	// SessionIdle is how long a dashboard session lives without use (renewed while used; it ends
	// after the token lifetime, 12 h, whatever its use).
	SessionIdle Duration `json:"session_idle"`

	// Consoles (see config_console.go): how long a console ticket waits for its one use, the
	// page origins besides the server's own host that may open a console websocket (host patterns
	// such as "dash.example.com" or "*.example.com"), and the graphical sessions one instance may have open.
	ConsoleTicketTTL          Duration `json:"console_ticket_ttl"`
	ConsoleAllowedOrigins     []string `json:"console_allowed_origins"`
	MaxVNCSessionsPerInstance int      `json:"max_vnc_sessions_per_instance"`

	// Per-instance usage (see config_metering.go): how often every running instance is sampled for
	// /metrics and its usage history, and whether it is at all.
	SampleInterval  Duration `json:"sample_interval"`
	SampleInstances bool     `json:"sample_instances"`

	Logger  *slog.Logger `json:"-"` // defaults to a text logger on stderr
	Version string       `json:"-"` // the binary's version
	Probes  *host.Probes `json:"-"` // host probes; nil means the real machine
}

// maxRunDirLen keeps RunDir/instances/<36-byte uuid>/console.sock within a unix socket path (107 bytes).
const maxRunDirLen = 107 - len("/instances/") - 36 - len("/console.sock")

// Defaults for a root daemon on a normal host.
const (
	DefaultDataDir = "/var/lib/cloudlet"
	DefaultRunDir  = "/run/cloudlet"
	DefaultListen  = "127.0.0.1:8080"
	// DefaultQEMUUser is the system user `make install` creates for QEMU.
	DefaultQEMUUser = "cloudlet-qemu"
	// DefaultMaxImageSize is the default per-image cap.
	DefaultMaxImageSize ByteSize = 64 << 30
)

// DefaultConfig returns the defaults; Socket stays empty so it follows RunDir.
func DefaultConfig() Config {
	return Config{
		DataDir:         DefaultDataDir,
		RunDir:          DefaultRunDir,
		Listen:          DefaultListen,
		Accel:           host.AccelAuto,
		LogLevel:        "info",
		ShutdownTimeout: Duration(10 * time.Second),

		HTTPHeaderTimeout:          Duration(web.DefaultHeaderTimeout),
		HTTPIdleTimeout:            Duration(web.DefaultIdleTimeout),
		HTTPWriteTimeout:           Duration(web.DefaultWriteTimeout),
		HTTPMinBodyRate:            web.DefaultMinBodyRate,
		HTTPBodyRateWindow:         Duration(web.DefaultRateWindow),
		MaxConnectionsPerSource:    web.DefaultMaxConnsPerSource,
		UnauthenticatedAuditWindow: Duration(web.DefaultAuditWindow),

		QEMUUser:              DefaultQEMUUser,
		CPUAllocationRatio:    16,
		RAMAllocationRatio:    1.5,
		ReservedHostMemoryMiB: 512,
		StopTimeout:           Duration(60 * time.Second),
		HealthInterval:        Duration(5 * time.Second),
		GuestAgentInterval:    Duration(30 * time.Second),
		GuestAgentReady:       true,
		CrashLoopLimit:        3,
		CrashLoopWindow:       Duration(10 * time.Minute),
		ConsoleLogMaxBytes:    compute.DefaultConsoleLogMaxBytes,
		SerialConsoleViewers:  compute.DefaultSerialViewers,
		DNSDomain:             "cloudlet",
		TrustLoopback:         false,
		AuditRetention:        Duration(identity.DefaultAuditRetention),
		EventLogKeep:          DefaultEventLogKeep,
		MaxImageSize:          DefaultMaxImageSize,
		LoginFreeFailures:     identity.DefaultLoginFreeFailures,
		LoginBackoffMax:       Duration(identity.DefaultLoginBackoffMax),
		LoginBurstPerAddress:  identity.DefaultSourceLoginBurst,
		SessionIdle:           Duration(identity.DefaultSessionIdle),
		PortForwardRange:      network.DefaultForwardRange.String(),
		MetadataPort:          network.DefaultMetadataPort,

		ConsoleTicketTTL:          Duration(web.DefaultConsoleTicketTTL),
		MaxVNCSessionsPerInstance: web.DefaultMaxVNCPerInstance,

		SampleInterval:  Duration(metering.DefaultInterval),
		SampleInstances: true,

		ImageImportAllowedPorts: []int{80, 443},
		ImageImportMinRate:      DefaultImageImportMinRate,
		ImageImportRateWindow:   Duration(DefaultImageImportRateWindow),
		WebhookTimeout:          Duration(webhook.DefaultTimeout),
	}
}

// LoadConfigFile reads a JSON config file over cfg. Unknown keys are an error, not silently ignored.
func LoadConfigFile(path string, cfg *Config) error {
	data, err := os.ReadFile(path)
	if err != nil {
		return fmt.Errorf("read config %s: %w", path, err)
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(cfg); err != nil {
		return fmt.Errorf("parse config %s: %w", path, err)
	}
	return nil
}

// Normalize fills derived fields and checks every value, returning the first problem.
func (c *Config) Normalize() error {
	if c.DataDir == "" || c.RunDir == "" {
		return errors.New("config: data_dir and run_dir must be set")
	}
	if c.ImportDir == "" {
		c.ImportDir = filepath.Join(c.DataDir, "import")
	}
	for _, p := range []*string{&c.DataDir, &c.RunDir, &c.Socket, &c.ImportDir} {
		if *p == "" {
			continue
		}
		abs, err := filepath.Abs(*p)
		if err != nil {
			return fmt.Errorf("config: path %s: %w", *p, err)
		}
		*p = abs
	}
	if c.Socket == "" {
		c.Socket = filepath.Join(c.RunDir, "cloudlet.sock")
	}
	if err := c.checkImageImports(); err != nil {
		return err
	}
	if _, _, err := c.firstStartImage(); err != nil {
		return err
	}
	if err := c.checkWebhooks(); err != nil {
		return err
	}
	if len(c.RunDir) > maxRunDirLen {
		return fmt.Errorf("config: run_dir %s is %d bytes long; at most %d fit, because each instance's unix sockets "+
			"(run_dir/instances/<uuid>/console.sock) must stay under the kernel's 108-byte limit", c.RunDir, len(c.RunDir), maxRunDirLen)
	}
	if _, _, err := net.SplitHostPort(c.Listen); err != nil {
		return fmt.Errorf("config: listen %q: %w", c.Listen, err)
	}
	if err := host.ValidAccel(c.Accel); err != nil {
		return fmt.Errorf("config: %w", err)
	}
	if _, err := parseLevel(c.LogLevel); err != nil {
		return fmt.Errorf("config: %w", err)
	}
	if c.ShutdownTimeout <= 0 {
		c.ShutdownTimeout = Duration(10 * time.Second)
	}
	if err := c.checkHTTP(); err != nil {
		return err
	}
	if err := c.checkMetering(); err != nil {
		return err
	}
	if c.QEMUUser == "" {
		c.QEMUUser = DefaultQEMUUser // root only when named
	}
	if !validUserName.MatchString(c.QEMUUser) {
		return fmt.Errorf("config: qemu_user %q is not a valid user name", c.QEMUUser)
	}
	if c.AuditRetention < 0 {
		return fmt.Errorf("config: audit_retention must not be negative")
	}
	if c.AuditRetention == 0 {
		c.AuditRetention = Duration(identity.DefaultAuditRetention)
	}
	if c.EventLogKeep < 0 {
		return fmt.Errorf("config: event_log_keep must not be negative")
	}
	if c.EventLogKeep == 0 {
		c.EventLogKeep = DefaultEventLogKeep
	}
	if err := c.checkTLS(); err != nil {
		return err
	}
	if c.DNSDomain == "" {
		c.DNSDomain = "cloudlet"
	}
	if len(c.DNSDomain) > 200 || !validDomain.MatchString(c.DNSDomain) {
		return fmt.Errorf("config: dns_domain %q: want DNS labels of letters, digits and hyphens, e.g. cloud.lan", c.DNSDomain)
	}
	if err := c.checkImages(); err != nil {
		return err
	}
	if err := c.checkLogin(); err != nil {
		return err
	}
	if err := c.checkNetworkPolicy(); err != nil {
		return err
	}
	if err := c.checkMetadata(); err != nil {
		return err
	}
	if err := c.checkConsole(); err != nil {
		return err
	}
	return c.checkCompute()
}

// checkImages checks the image settings; zero keeps the default.
func (c *Config) checkImages() error {
	if c.MaxImageSize == 0 {
		c.MaxImageSize = DefaultMaxImageSize
	}
	if c.MaxImageSize < 1<<20 {
		return fmt.Errorf("config: max_image_size %s is below 1MiB", c.MaxImageSize)
	}
	return nil
}

var (
	validUserName = regexp.MustCompile(`^[a-z_][a-z0-9_-]{0,31}$`)
	validDomain   = regexp.MustCompile(`^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?(\.[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)*$`)
)

// Bounds of console_log_max_bytes.
const (
	minConsoleLog = 16 << 10
	maxConsoleLog = 1 << 30
)

// checkCompute checks the compute settings; zero values keep the service defaults.
func (c *Config) checkCompute() error {
	switch {
	case c.CPUAllocationRatio < 0 || c.CPUAllocationRatio > 1000:
		return fmt.Errorf("config: cpu_allocation_ratio %v must be between 0 and 1000", c.CPUAllocationRatio)
	case c.RAMAllocationRatio < 0 || c.RAMAllocationRatio > 100:
		return fmt.Errorf("config: ram_allocation_ratio %v must be between 0 and 100", c.RAMAllocationRatio)
	case c.ReservedHostMemoryMiB < 0:
		return fmt.Errorf("config: reserved_host_memory_mib must not be negative")
	case c.GuestAgentInterval < 0:
		return fmt.Errorf("config: guest_agent_interval must not be negative")
	case c.StopTimeout < 0 || c.HealthInterval < 0 || c.CrashLoopWindow < 0 || c.CrashLoopLimit < 0:
		return fmt.Errorf("config: stop_timeout, health_interval, crash_loop_limit and crash_loop_window must not be negative")
	case c.ConsoleLogMaxBytes != 0 && (c.ConsoleLogMaxBytes < minConsoleLog || c.ConsoleLogMaxBytes > maxConsoleLog):
		return fmt.Errorf("config: console_log_max_bytes %d must be between %d and %d", c.ConsoleLogMaxBytes, minConsoleLog, int64(maxConsoleLog))
	case c.SerialConsoleViewers < 0 || c.SerialConsoleViewers > 1024:
		return fmt.Errorf("config: serial_console_viewers %d must be between 0 (the default) and 1024", c.SerialConsoleViewers)
	}
	return nil
}

// Paths of the per-instance and image directories.
func (c *Config) InstanceStateDir() string { return filepath.Join(c.DataDir, "instances") }
func (c *Config) InstanceRunDir() string   { return filepath.Join(c.RunDir, "instances") }
func (c *Config) ImageDir() string         { return filepath.Join(c.DataDir, "images") }
func (c *Config) DefaultPoolDir() string   { return filepath.Join(c.DataDir, "pools", "default") }

// Paths derived from DataDir.
func (c *Config) CatalogPath() string       { return filepath.Join(c.DataDir, "catalog.db") }
func (c *Config) AdminPasswordPath() string { return filepath.Join(c.DataDir, "admin-password") }

func parseLevel(s string) (slog.Level, error) {
	var l slog.Level
	if err := l.UnmarshalText([]byte(s)); err != nil {
		return 0, fmt.Errorf("log_level %q: must be debug, info, warn or error", s)
	}
	return l, nil
}

// NewLogger returns the daemon's structured logger at the configured level.
func (c *Config) NewLogger() *slog.Logger {
	level, _ := parseLevel(c.LogLevel)
	return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: level}))
}

// Duration is a time.Duration written as "10s" in JSON.
type Duration time.Duration

// MarshalJSON writes the duration as a string.
func (d Duration) MarshalJSON() ([]byte, error) { return json.Marshal(time.Duration(d).String()) }

// UnmarshalJSON reads a string like "10s".
func (d *Duration) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return fmt.Errorf("duration must be a string like \"10s\": %w", err)
	}
	v, err := time.ParseDuration(s)
	if err != nil {
		return err
	}
	*d = Duration(v)
	return nil
}
