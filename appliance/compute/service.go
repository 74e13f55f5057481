package compute

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"syscall"
	"time"

	"cloudlet/appliance/qemu/qmp"
	"cloudlet/store"
)

// Options configure the compute service. Zero durations get the defaults below.
type Options struct {
	DB       *store.DB
	Log      *slog.Logger
	RunDir   string // per-instance runtime dirs go in RunDir/<id> (sockets, pidfile)
	StateDir string // per-instance state dirs go in StateDir/<id> (root disk, console log, saved state)
	Images   ImageSource
	Volumes  Volumes
	// VolumeCheck is asked before an instance's delete touches anything; nil: no check.
	VolumeCheck VolumeDeleteCheck
	Networks    Networks  // nil: instances cannot ask for networks
	Leases      LeaseFeed // DHCP ACKs for the boot timeline's dhcp_lease stage; nil: no such stage
	// Vhost opens /dev/vhost-net for one NIC; nil (or an error) means no vhost-net. The daemon sets
	// it only under KVM: vhost-net needs KVM's ioeventfds.
	Vhost func() (*os.File, error)
	// Seeds writes the seed ISO a guest reads at boot; nil: instances get no seed.
	Seeds Seeds
	// Keypairs returns the public key of a user's keypair; nil: instances cannot ask for one.
	Keypairs func(ctx context.Context, userID, name string) (publicKey string, err error)
	Accel    string // kvm | tcg
	QEMU     string // qemu-system-x86_64 binary
	Capacity Capacity
	Quota    Quota // the projects' limits; nil = no quotas
	Now      func() time.Time
	// Credential is the unprivileged user QEMU runs as; nil runs it as the daemon's user (root).
	Credential *syscall.Credential

	StopTimeout       time.Duration // ACPI powerdown grace before quit, then SIGKILL
	QMPTimeout        time.Duration // bound on every QMP command
	HealthInterval    time.Duration // how often a supervisor asks QEMU for its status
	ReconcileInterval time.Duration // how often orphan QEMUs are looked for
	CrashLoopLimit    int           // restarts allowed within CrashLoopWindow under on-crash
	CrashLoopWindow   time.Duration
	AutostartRetries  int
	// UnplugRetry is how long a guest gets to release a device after device_del before it is asked
	// again, and UnplugTimeout how long in all (hotplug.go).
	UnplugRetry   time.Duration
	UnplugTimeout time.Duration
	// The QEMU guest agent (agent.go): the bound on each exchange, how often a running guest's agent
	// is asked about it, and how often until it first answers in a boot.
	AgentTimeout       time.Duration
	AgentPollInterval  time.Duration
	AgentProbeInterval time.Duration
	// IgnoreAgentReady keeps the agent's first answer from marking the guest ready.
	IgnoreAgentReady bool

	ConsoleLogMaxBytes int64 // console.log and console.log.1 together keep about this much (consolelog.go)
	SerialViewers      int   // viewers of one instance's serial console at a time

	// QMPObserver is told of every QMP command run on an instance's QEMU (metrics); nil: none.
	QMPObserver qmp.Observer

	hv hypervisor // nil: the real one; unit tests inject fakes
	// writeFault, when set, may refuse a write of an instance record (as it would be written): unit
	// tests make the catalog fail on demand with it.
	writeFault func(*Instance) error
}

// ImageSource resolves an image reference for a project into the files an instance boots from.
type ImageSource func(ctx context.Context, projectID, ref string) (BootImage, error)

// BootImage is what compute needs of an image.
type BootImage struct {
	ID, Disk, DiskFormat, Kernel, Initrd, Cmdline, Firmware string
	VirtualSize                                             int64
	MinDiskGiB, MinRAMMiB                                   int
	ISO                                                     bool   // an ISO 9660 image: a CD-ROM to install from (cdrom.go)
	CDROMBus                                                string // its hw_cdrom_bus property: sata (default), ide or scsi
}

// Defaults.
const (
	DefaultStopTimeout       = 60 * time.Second
	DefaultQMPTimeout        = 3 * time.Second
	DefaultHealthInterval    = 5 * time.Second
	DefaultReconcileInterval = 30 * time.Second
	DefaultCrashLoopLimit    = 3
	DefaultCrashLoopWindow   = 10 * time.Minute
	DefaultAutostartRetries  = 3
	DefaultUnplugRetry       = 5 * time.Second
	DefaultUnplugTimeout     = 30 * time.Second

	DefaultAgentTimeout       = 3 * time.Second // a loaded TCG guest answers its interfaces in over 1 s
	DefaultAgentPollInterval  = 30 * time.Second
	DefaultAgentProbeInterval = 5 * time.Second
)

// Service is the compute service.
type Service struct {
	o   Options
	db  *store.DB
	log *slog.Logger
	hv  hypervisor

	steps []step // of a start (launch.go); unit tests change them

	ctx    context.Context // the daemon's: instance lifetimes hang off it, never off a request
	cancel context.CancelFunc
	wg     sync.WaitGroup // every goroutine the service started

	serials serialRegistry // the running instances' serial consoles (serial.go)

	mu      sync.Mutex // guards the fields below
	sups    map[string]*supervisor
	started bool
	closed  bool
}

// New builds the service and creates the default flavors on first start. Start attaches to QEMUs.
func New(o Options) (*Service, error) {
	if o.DB == nil || o.Log == nil || o.Images == nil || o.Volumes == nil || o.RunDir == "" || o.StateDir == "" {
		return nil, errors.New("compute.New: DB, Log, Images, Volumes, RunDir and StateDir are required")
	}
	o.setDefaults()
	s := &Service{o: o, db: o.DB, log: o.Log, hv: o.hypervisor(), steps: launchSteps(), sups: map[string]*supervisor{}}
	s.ctx, s.cancel = context.WithCancel(context.Background())
	if err := s.ensureDefaultFlavors(); err != nil {
		return nil, fmt.Errorf("compute: %w", err)
	}
	if err := canonicalizeInstances(s.db); err != nil {
		return nil, fmt.Errorf("compute: %w", err)
	}
	return s, nil
}

func (o *Options) setDefaults() {
	set := func(d *time.Duration, v time.Duration) {
		if *d <= 0 {
			*d = v
		}
	}
	set(&o.StopTimeout, DefaultStopTimeout)
	set(&o.QMPTimeout, DefaultQMPTimeout)
	set(&o.HealthInterval, DefaultHealthInterval)
	set(&o.ReconcileInterval, DefaultReconcileInterval)
	set(&o.CrashLoopWindow, DefaultCrashLoopWindow)
	set(&o.UnplugRetry, DefaultUnplugRetry)
	set(&o.UnplugTimeout, DefaultUnplugTimeout)
	set(&o.AgentTimeout, DefaultAgentTimeout)
	set(&o.AgentPollInterval, DefaultAgentPollInterval)
	set(&o.AgentProbeInterval, DefaultAgentProbeInterval)
	if o.CrashLoopLimit <= 0 {
		o.CrashLoopLimit = DefaultCrashLoopLimit
	}
	if o.ConsoleLogMaxBytes <= 0 {
		o.ConsoleLogMaxBytes = DefaultConsoleLogMaxBytes
	}
	if o.SerialViewers <= 0 {
		o.SerialViewers = DefaultSerialViewers
	}
	if o.AutostartRetries <= 0 {
		o.AutostartRetries = DefaultAutostartRetries
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	o.QEMU = lookPath(o.QEMU, "qemu-system-x86_64")
	if o.Accel == "" {
		o.Accel = "tcg"
	}
}

// Start gives every instance in the catalog a supervisor (which reattaches to a running QEMU or records
// that it died), then brings up autostart instances in order and begins the periodic reconcile.
func (s *Service) Start() error {
	s.mu.Lock()
	if s.started || s.closed {
		s.mu.Unlock()
		return errors.New("compute: already started or closed")
	}
	s.started = true
	s.mu.Unlock()
	var all []*Instance
	if err := s.db.View(func(tx *store.Tx) (err error) { all, err = instances.List(tx, ""); return err }); err != nil {
		return fmt.Errorf("compute: list instances: %w", err)
	}
	s.releaseStaleReservations(s.ctx, all)
	s.followLeases()
	var attached sync.WaitGroup
	for _, inst := range all {
		attached.Add(1)
		s.supervise(inst.ID, false, &attached)
	}
	settled := make(chan struct{})
	s.goBackground(func() {
		attached.Wait()
		close(settled)
		s.reapOrphans()
		s.autostart(s.ctx)
		s.reconcileLoop(s.ctx)
	})
	// The API serves the catalog's states: wait until every supervisor has looked at its QEMU, so that
	// right after a restart a QEMU that is gone never shows as running. The wait is bounded (a frozen
	// QEMU's QMP dial and status query) so that one QEMU cannot hold the daemon back.
	t := time.NewTimer(2*s.o.QMPTimeout + time.Second)
	defer t.Stop()
	select {
	case <-settled:
	case <-t.C:
		s.log.Warn("compute: still reattaching to instances; serving their last recorded states meanwhile")
	}
	return nil
}

// Close stops every supervisor and waits for them. QEMU processes keep running.
func (s *Service) Close() error {
	s.mu.Lock()
	s.closed = true
	s.mu.Unlock()
	s.cancel()
	s.wg.Wait()
	return nil
}

func (s *Service) goBackground(fn func()) {
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		fn()
	}()
}

func (s *Service) runDir(id string) string   { return filepath.Join(s.o.RunDir, id) }
func (s *Service) stateDir(id string) string { return filepath.Join(s.o.StateDir, id) }
func (s *Service) now() time.Time            { return s.o.Now() }

// lookPath resolves a program name to an absolute path; a program that is not installed keeps its name,
// and boot reports it clearly.
func lookPath(name, fallback string) string {
	if name == "" {
		name = fallback
	}
	if filepath.IsAbs(name) {
		return name
	}
	if p, err := exec.LookPath(name); err == nil {
		if abs, err := filepath.Abs(p); err == nil {
			return abs
		}
	}
	return name
}
