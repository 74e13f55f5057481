package appliance

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"sync"
	"syscall"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"cloudlet/appliance/compute"
	"cloudlet/appliance/guest"
	"cloudlet/appliance/host"
	"cloudlet/appliance/identity"
	"cloudlet/appliance/metering"
	"cloudlet/appliance/network"
	"cloudlet/appliance/network/firewall"
	"cloudlet/appliance/network/link"
	"cloudlet/appliance/volume"
	"cloudlet/appliance/webhook"
	"cloudlet/images"
	"cloudlet/store"
	"cloudlet/web"
)

// lockTimeout is how long Open waits for another daemon to release the catalog.
const lockTimeout = 2 * time.Second

// Appliance is one running cloudlet.
type Appliance struct {
	cfg        Config
	log        *slog.Logger
	db         *store.DB
	host       *host.Service
	identity   *identity.Service
	images     *images.Service
	volumes    *volume.Service
	network    *network.Service
	compute    *compute.Service
	metadata   *guest.Server // the metadata service: listeners come from network, answers from compute
	webhooks   *webhook.Service
	web        *web.Server
	metrics    *prometheus.Registry // what GET /metrics serves
	sampler    *metering.Sampler    // per-instance usage; nil when sample_instances is off
	listeners  []net.Listener
	adminPass  string // set only on the first start
	firstImage string // the first start image's name, when this start imported it

	tlsCert serverCert // the HTTPS certificate; zero when the TCP listener speaks plain HTTP

	wg        sync.WaitGroup // every goroutine Run starts
	closeOnce sync.Once
}

// New builds a cloudlet from cfg. On error, everything it opened is closed again.
func New(cfg Config) (*Appliance, error) {
	if err := cfg.Normalize(); err != nil {
		return nil, err
	}
	a := &Appliance{cfg: cfg, log: cfg.Logger, metrics: newMetrics()}
	if a.log == nil {
		a.log = cfg.NewLogger()
	}
	if err := a.open(); err != nil {
		a.release()
		return nil, err
	}
	return a, nil
}

// open runs the start-up steps in order; release undoes whichever of them completed.
func (a *Appliance) open() error {
	if _, _, err := qemuCredential(a.cfg.QEMUUser); err != nil { // before anything is made
		return err
	}
	if err := makeDirs(a.cfg); err != nil {
		return err
	}
	probes := host.SystemProbes()
	if a.cfg.Probes != nil {
		probes = *a.cfg.Probes
	}
	facts, err := host.Gather(context.Background(), probes, a.cfg.Accel)
	if err != nil {
		return err
	}
	if facts.AccelWarning != "" {
		a.log.Warn("acceleration", "accel", facts.Accel, "warning", facts.AccelWarning)
	}
	if a.db, err = store.Open(a.cfg.CatalogPath(), store.Options{LockTimeout: lockTimeout,
		ObserveWrite: catalogWriteObserver(a.metrics)}); err != nil {
		return err
	}
	// Bind before bootstrapping: a start that fails on a busy port must not have consumed the one
	// printing of the first admin password.
	if err := a.listen(); err != nil {
		return err
	}
	a.host = host.NewService(a.cfg.Version, facts, a.cfg.DataDir, a.cfg.CatalogPath(), probes, time.Now)
	if a.identity, err = identity.NewWithOptions(a.db, a.cfg.identityOptions()); err != nil {
		return err
	}
	if a.adminPass, err = a.identity.Bootstrap(a.cfg.AdminPasswordPath()); err != nil {
		return err
	}
	a.pruneAudit()
	if err := a.openWebhooks(); err != nil {
		return err
	}
	if err := a.openServices(facts); err != nil {
		return err
	}
	a.registerCollectors()
	if err := a.openMetering(); err != nil {
		return err
	}
	project, err := a.identity.AdminProjectID()
	if err != nil {
		return err
	}
	a.importFirstStartImage(project)
	a.web, err = web.New(web.Options{Logger: a.log, Host: a.host, Backup: a.db.Backup, Events: a.events, Limits: a.webLimits(),
		Compute: a.compute, Images: a.images, Volumes: a.volumes, Networks: a.network, Quotas: quotaReports{a}, Webhooks: a.webhooks,
		Identity: a.identity, DefaultProject: project, LoopbackNeedsToken: !a.cfg.TrustLoopback,
		TLSFingerprint: a.tlsCert.fingerprint, Console: a.cfg.consoleOptions(), Metrics: a.metrics,
		MetricsRegisterer: a.metrics, EventsAppended: a.db.EventsAppended,
		Stats: a.stats(), Doctor: a.doctor})
	return err
}

// openServices builds images, volumes and compute; compute then reattaches to running QEMUs.
func (a *Appliance) openServices(facts host.Facts) error {
	cred, warning, err := qemuCredential(a.cfg.QEMUUser)
	if err != nil {
		return err
	}
	readerGID := 0
	if warning != "" {
		a.log.Warn("QEMU user", "warning", warning)
	} else if cred != nil {
		if err := openForQEMU(a.cfg); err != nil {
			return err
		}
		readerGID = int(cred.Gid)
	}
	a.images, err = images.New(a.db, images.Options{Dir: a.cfg.ImageDir(), QemuImg: host.QEMUImgBinary,
		ReaderGID: readerGID, Logger: a.log, Quota: a.identity,
		MaxUploadBytes: int64(a.cfg.MaxImageSize), ResolveProject: a.projectID,
		Import: a.cfg.imageImportOptions()})
	if err != nil {
		return err
	}
	if err := a.openVolumes(cred); err != nil {
		return err
	}
	if err := a.openNetwork(); err != nil {
		return err
	}
	return a.openCompute(facts, cred)
}

// openNetwork builds the network service, brings up every network's bridge, DHCP and DNS, and makes
// network "default" in the admin project on the first start.
func (a *Appliance) openNetwork() error {
	fw, err := firewall.NewApplier()
	if err != nil {
		return fmt.Errorf("firewall: %w (cloudlet needs iptables: apt-get install iptables)", err)
	}
	if a.network, err = network.New(network.Options{DB: a.db, HostRoutes: hostRoutes, Firewall: fw,
		Quota:       a.identity,
		MemberCIDRs: a.cfg.NetworkCIDRsAllowed, ForwardRange: a.cfg.forwardRange(),
		MetadataPort: a.cfg.MetadataPort}); err != nil {
		return err
	}
	a.metadata = guest.NewServer(guest.ServerOptions{Log: a.log, Observe: metadataObserver(a.metrics)})
	if err := a.network.StartDatapath(network.DatapathOptions{Log: a.log, Domain: a.cfg.DNSDomain, Upstreams: resolvers(),
		Metadata: a.metadata}); err != nil {
		return err
	}
	project, err := a.identity.AdminProjectID()
	if err != nil {
		return err
	}
	_, err = a.network.EnsureDefaultNetwork(context.Background(), project)
	return err
}

// openVolumes builds the volume service with its default pool in the data dir.
func (a *Appliance) openVolumes(cred *syscall.Credential) error {
	var err error
	a.volumes, err = volume.New(volume.Options{DB: a.db, Log: a.log, Images: a.imageFile,
		QemuImg: host.QEMUImgBinary, Owner: cred, Quota: a.identity})
	if err != nil {
		return err
	}
	_, err = a.volumes.EnsureDefaultPool(context.Background(), a.cfg.DefaultPoolDir())
	return err
}

func (a *Appliance) openCompute(facts host.Facts, cred *syscall.Credential) error {
	capacity, err := hostCapacity(a.cfg)
	if err != nil {
		return err
	}
	var vhost func() (*os.File, error)
	if facts.Accel == host.AccelKVM { // vhost-net needs KVM's ioeventfds; under TCG QEMU moves packets itself
		vhost = link.OpenVhost
	}
	a.compute, err = compute.New(compute.Options{
		DB: a.db, Log: a.log, RunDir: a.cfg.InstanceRunDir(), StateDir: a.cfg.InstanceStateDir(),
		Images: a.bootImage, Volumes: computeVolumes{a.volumes}, Networks: computeNetworks{a.network}, Leases: a.network, Accel: facts.Accel,
		QEMU:     host.QEMUBinary,
		Capacity: capacity, Credential: cred, StopTimeout: time.Duration(a.cfg.StopTimeout),
		HealthInterval: time.Duration(a.cfg.HealthInterval), CrashLoopLimit: a.cfg.CrashLoopLimit,
		CrashLoopWindow: time.Duration(a.cfg.CrashLoopWindow), Vhost: vhost, Keypairs: a.publicKey, Quota: a.identity,
		AgentPollInterval: time.Duration(a.cfg.GuestAgentInterval), IgnoreAgentReady: !a.cfg.GuestAgentReady,
		VolumeCheck: computeVolumes{a.volumes},
		Seeds:       guestSeeds{a.network},

		ConsoleLogMaxBytes: a.cfg.ConsoleLogMaxBytes, SerialViewers: a.cfg.SerialConsoleViewers,
		QMPObserver: qmpObserver(a.metrics),
	})
	if err != nil {
		return err
	}
	if err := a.compute.Start(); err != nil {
		return err
	}
	return a.startMetadata()
}

// imageFile adapts the image service to what the volume service needs of an image.
func (a *Appliance) imageFile(ctx context.Context, projectID, ref string) (volume.ImageFile, error) {
	f, err := a.images.BootFiles(ctx, projectID, ref)
	if err != nil {
		return volume.ImageFile{}, err
	}
	return volume.ImageFile{ID: f.ImageID, Path: f.Disk, Format: f.DiskFormat, VirtualSize: f.VirtualSize}, nil
}

// bootImage adapts the image service to what compute needs of an image.
func (a *Appliance) bootImage(ctx context.Context, projectID, ref string) (compute.BootImage, error) {
	f, err := a.images.BootFiles(ctx, projectID, ref)
	if err != nil {
		return compute.BootImage{}, err
	}
	return compute.BootImage{ID: f.ImageID, Disk: f.Disk, DiskFormat: f.DiskFormat, Kernel: f.Kernel,
		Initrd: f.Initrd, Cmdline: f.Cmdline, Firmware: f.Firmware, VirtualSize: f.VirtualSize,
		MinDiskGiB: f.MinDiskGiB, MinRAMMiB: f.MinRAMMiB, ISO: f.ISO, CDROMBus: f.CDROMBus}, nil
}

func makeDirs(cfg Config) error {
	for _, dir := range []string{cfg.DataDir, cfg.RunDir, cfg.InstanceStateDir(), cfg.InstanceRunDir()} {
		if err := os.MkdirAll(dir, 0o700); err != nil {
			return fmt.Errorf("create directory %s: %w", dir, err)
		}
	}
	return nil
}

// Run serves the API until ctx ends or a listener fails, then shuts the web server down gracefully.
// Virtual machines are left running.
func (a *Appliance) Run(ctx context.Context) error {
	errc := make(chan error, len(a.listeners))
	for _, l := range a.listeners {
		a.wg.Add(1)
		go func() {
			defer a.wg.Done()
			errc <- a.web.Serve(l)
		}()
	}
	pruneCtx, stopPruning := context.WithCancel(ctx)
	a.wg.Add(1)
	go func() {
		defer a.wg.Done()
		a.pruneAuditDaily(pruneCtx)
	}()
	a.log.Info("cloudlet started", "version", a.cfg.Version, "listen", a.cfg.Listen, "socket", a.cfg.Socket,
		"data_dir", a.cfg.DataDir, "accel", a.host.Facts().Accel)
	var runErr error
	select {
	case <-ctx.Done():
	case runErr = <-errc:
	}
	stopPruning()
	shutCtx, cancel := context.WithTimeout(context.Background(), time.Duration(a.cfg.ShutdownTimeout))
	defer cancel()
	if err := a.web.Shutdown(shutCtx); err != nil {
		runErr = errors.Join(runErr, fmt.Errorf("shut down web server: %w", err))
	}
	a.wg.Wait()
	a.log.Info("cloudlet stopped; virtual machines keep running")
	return runErr
}

// Close waits for every goroutine Run started and releases listeners, the socket and the catalog.
func (a *Appliance) Close() error {
	var err error
	a.closeOnce.Do(func() {
		if a.web != nil {
			ctx, cancel := context.WithTimeout(context.Background(), time.Duration(a.cfg.ShutdownTimeout))
			err = a.web.Shutdown(ctx)
			cancel()
		}
		a.wg.Wait()
		err = errors.Join(err, a.release())
	})
	return err
}

func (a *Appliance) release() error {
	var errs []error
	for _, l := range a.listeners {
		if err := l.Close(); err != nil && !errors.Is(err, net.ErrClosed) {
			errs = append(errs, err)
		}
	}
	a.listeners = nil
	if a.metadata != nil { // before compute: no answer is half-way through a closed service
		a.metadata.Close()
		a.metadata = nil
	}
	if a.sampler != nil { // before compute: its samples ask compute
		a.sampler.Close()
		a.sampler = nil
	}
	if a.compute != nil {
		errs = append(errs, a.compute.Close())
		a.compute = nil
	}
	if a.network != nil {
		a.network.CloseDatapath()
		a.network = nil
	}
	if a.webhooks != nil {
		errs = append(errs, a.webhooks.Close()) // stops the tailer and cancels deliveries in flight, before the catalog closes
		a.webhooks = nil
	}
	if a.images != nil {
		errs = append(errs, a.images.Close()) // cancels URL imports and waits for them, before the catalog closes
	}
	if a.db != nil {
		errs = append(errs, a.db.Close())
		a.db = nil
	}
	return errors.Join(errs...)
}

// AdminPassword is the generated admin password on the first start, "" afterwards.
func (a *Appliance) AdminPassword() string { return a.adminPass }

// Config returns the normalized configuration.
func (a *Appliance) Config() Config { return a.cfg }

// URL is where the API and dashboard answer.
func (a *Appliance) URL() string {
	for _, l := range a.listeners {
		if l.Addr().Network() == "tcp" {
			return a.scheme() + "://" + l.Addr().String()
		}
	}
	return ""
}

// events reads the catalog's event log for the API.
func (a *Appliance) events(since uint64, limit int) ([]json.RawMessage, error) {
	evs, err := a.db.EventsSince(since, limit)
	if err != nil {
		return nil, err
	}
	out := make([]json.RawMessage, 0, len(evs))
	for _, e := range evs {
		raw, err := json.Marshal(e)
		if err != nil {
			return nil, err
		}
		out = append(out, raw)
	}
	return out, nil
}

// publicKey adapts identity's keypairs to what compute needs of them.
func (a *Appliance) publicKey(ctx context.Context, userID, name string) (string, error) {
	k, err := a.identity.Keypair(ctx, userID, name)
	return k.PublicKey, err
}
