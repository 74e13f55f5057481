package web

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"sync"
	"time"

	"github.com/labstack/echo/v4"
	"github.com/prometheus/client_golang/prometheus"

	"cloudlet/appliance/compute"
	"cloudlet/appliance/host"
	"cloudlet/appliance/identity"
	"cloudlet/appliance/network"
	"cloudlet/appliance/volume"
	"cloudlet/appliance/webhook"
	"cloudlet/images"
)

// DefaultMaxBodyBytes caps API request bodies (image uploads have their own, larger cap: see bodyLimit).
const DefaultMaxBodyBytes = 1 << 20

// Options are the services and settings the server uses.
type Options struct {
	Logger       *slog.Logger
	Host         *host.Service
	Backup       func(w io.Writer) (int64, error) // online catalog copy
	MaxBodyBytes int64
	Clock        func() time.Time
	Limits       Limits // connections, transfers and the audit cost of failures without a login

	Events   func(since uint64, limit int) ([]json.RawMessage, error) // the catalog's event log
	Compute  *compute.Service
	Images   *images.Service
	Volumes  *volume.Service
	Networks *network.Service
	Quotas   Quotas // limits and usage per project; nil: the quota routes answer 503
	// Identity resolves bearer tokens and serves the identity routes; nil: only transport-trusted
	// callers get in, and the identity routes answer 503.
	Identity *identity.Service
	// Webhooks keeps the projects' webhooks; nil: the webhook routes answer 503.
	Webhooks *webhook.Service
	// DefaultProject is the project (ID) transport-trusted admins act in: the admin project.
	DefaultProject string
	// LoopbackNeedsToken makes loopback TCP callers authenticate like anyone (config trust_loopback
	// false). Off, they are admin without a token, as before identity landed. The e2e harness still
	// relies on that; once it logs in with tokens, the config default flips and this goes.
	LoopbackNeedsToken bool
	// PublicURL, when set, is the base URL the OpenStack service catalog advertises (else each
	// request's own scheme and Host).
	PublicURL string
	// TLSFingerprint is the fingerprint of the certificate the API serves over HTTPS, shown in
	// GET /api/v1/host; "" when it speaks plain HTTP.
	TLSFingerprint string
	// Consoles opens instances' screens (nil: Compute); Console bounds the consoles.
	Consoles Consoles
	Console  ConsoleOptions
	// Metrics is what GET /metrics serves in Prometheus text format; nil: that route answers 503.
	Metrics prometheus.Gatherer
	// MetricsRegisterer takes the API's request metrics (httpmetrics.go); nil: none are kept.
	MetricsRegisterer prometheus.Registerer
	// Doctor runs the doctor's checks in the daemon (GET /api/v1/host/doctor); nil: that route answers 503.
	Doctor func(ctx context.Context) []host.Check
	// Stats answers the usage routes (instances' and the host's) from the sampler's cache; nil: they answer 503.
	Stats Stats
	// SerialAuth authorizes serial console upgrades; nil: the bearer token or transport (serial.go).
	SerialAuth SerialAuth

	// EventsAppended returns a channel closed after the next commit that appends an event (taken
	// before reading Events); nil: GET /api/v1/events serves no event stream (503). EventStream bounds it.
	EventsAppended func() <-chan struct{}
	EventStream    EventStreamOptions
}

// Server serves the API on any number of listeners.
type Server struct {
	e       *echo.Echo
	log     *slog.Logger
	opts    Options
	maxBody int64
	clock   func() time.Time
	rules   map[string]identity.Action // method+path → action; written only during New
	// uiRoutes are the translators' routes among rules (the dashboard's and the OpenStack APIs';
	// method+path); written only during New
	uiRoutes map[string]bool
	limits   Limits
	flood    *auditFlood  // aggregated audit entries of unauthenticated failures
	httpm    *httpMetrics // request metrics; nil: none

	consoles *consoleState // console tickets, open sessions, the screenshot limiter

	hub        *eventHub // the event stream's fan-out; nil without Options.EventsAppended
	streamOpts EventStreamOptions

	mu      sync.Mutex // guards the fields below
	servers []*http.Server
	closed  bool
}

// New builds the server and registers every route.
func New(o Options) (*Server, error) {
	if o.Logger == nil || o.Host == nil || o.Backup == nil || o.Events == nil || o.Compute == nil || o.Images == nil ||
		o.Volumes == nil || o.Networks == nil {
		return nil, errors.New("web.New: Logger, Host, Backup, Events, Compute, Images, Volumes and Networks are required")
	}
	s := &Server{e: echo.New(), log: o.Logger, opts: o, maxBody: o.MaxBodyBytes, clock: o.Clock, rules: map[string]identity.Action{},
		uiRoutes: map[string]bool{}}
	if s.maxBody <= 0 {
		s.maxBody = DefaultMaxBodyBytes
	}
	if s.clock == nil {
		s.clock = time.Now
	}
	s.limits = o.Limits.withDefaults()
	s.consoles = newConsoleState(o, s.now)
	s.streamOpts = o.EventStream.withDefaults()
	if o.EventsAppended != nil {
		s.hub = newEventHub(o.Events, o.EventsAppended, s.log, s.streamOpts.Buffer, s.streamOpts.MaxStreams)
	}
	if o.Identity != nil {
		s.flood = newAuditFlood(o.Identity.RecordAudits, s.log, s.limits.AuditWindow, s.limits.AuditKeys, s.now)
	}
	s.e.HideBanner, s.e.HidePort = true, true
	s.e.HTTPErrorHandler = s.handleError
	if o.MetricsRegisterer != nil {
		var err error
		if s.httpm, err = newHTTPMetrics(o.MetricsRegisterer); err != nil {
			return nil, fmt.Errorf("web.New: %w", err)
		}
	}
	s.e.Use(s.measureRequests, s.logRequests, s.auditRequests, s.recoverPanics, s.authorize, s.limitBody)
	if err := s.routes(); err != nil {
		return nil, err
	}
	if err := s.mountTranslators(); err != nil {
		return nil, err
	}
	return s, nil
}

// routes is the table of every route cloudlet serves, each with the policy action it does
// (appliance/identity/policy.go says who may).
func (s *Server) routes() error {
	for _, r := range []struct {
		method, path string
		action       identity.Action
		h            echo.HandlerFunc
	}{
		{http.MethodGet, "/healthz", Public, s.healthz},
		{http.MethodGet, "/api/v1/host", "host:show", s.hostInfo},
		{http.MethodGet, "/api/v1/backup", "host:backup", s.backup},
		{http.MethodGet, "/api/v1/events", "event:list", s.listEvents},
		{http.MethodGet, "/api/v1/audit", "audit:list", s.listAudit},
		{http.MethodGet, "/metrics", "metrics:read", s.metrics},
		{http.MethodGet, "/api/v1/host/stats", "host:stats", s.hostStats},
		{http.MethodGet, "/api/v1/host/doctor", "host:doctor", s.hostDoctor},

		{http.MethodPost, "/api/v1/auth/tokens", Public, s.createToken},
		{http.MethodGet, "/api/v1/auth/tokens", "token:list", s.listTokens},
		{http.MethodDelete, "/api/v1/auth/tokens/:id", "token:delete", s.revokeToken},
		{http.MethodGet, "/api/v1/auth/projects", "token:projects", s.listAuthProjects},
		{http.MethodGet, "/api/v1/projects", "project:list", s.listProjects},
		{http.MethodPost, "/api/v1/projects", "project:create", s.createProject},
		{http.MethodGet, "/api/v1/projects/:id", "project:show", s.showProject},
		{http.MethodPatch, "/api/v1/projects/:id", "project:update", s.updateProject},
		{http.MethodDelete, "/api/v1/projects/:id", "project:delete", s.deleteProject},
		{http.MethodGet, "/api/v1/users", "user:list", s.listUsers},
		{http.MethodPost, "/api/v1/users", "user:create", s.createUser},
		{http.MethodGet, "/api/v1/users/:id", "user:show", s.showUser},
		{http.MethodPatch, "/api/v1/users/:id", "user:update", s.updateUser},
		{http.MethodDelete, "/api/v1/users/:id", "user:delete", s.deleteUser},
		{http.MethodPost, "/api/v1/users/:id/reset-password", "user:reset_password", s.resetPassword},
		{http.MethodDelete, "/api/v1/users/:id/lockout", "user:unlock", s.unlockUser},
		{http.MethodGet, "/api/v1/role-assignments", "role:list", s.listRoleAssignments},
		{http.MethodPut, roleAssignmentPath, "role:assign", s.assignRole},
		{http.MethodDelete, roleAssignmentPath, "role:unassign", s.unassignRole},
		{http.MethodGet, "/api/v1/credentials", "credential:list", s.listCredentials},
		{http.MethodPost, "/api/v1/credentials", "credential:create", s.createCredential},
		{http.MethodGet, "/api/v1/credentials/:id", "credential:show", s.showCredential},
		{http.MethodDelete, "/api/v1/credentials/:id", "credential:delete", s.revokeCredential},
		{http.MethodGet, "/api/v1/keypairs", "keypair:list", s.listKeypairs},
		{http.MethodPost, "/api/v1/keypairs", "keypair:create", s.createKeypair},
		{http.MethodGet, "/api/v1/keypairs/:id", "keypair:show", s.showKeypair},
		{http.MethodDelete, "/api/v1/keypairs/:id", "keypair:delete", s.deleteKeypair},

		{http.MethodGet, "/api/v1/webhooks", "webhook:list", s.listWebhooks},
		{http.MethodPost, "/api/v1/webhooks", "webhook:create", s.createWebhook},
		{http.MethodGet, "/api/v1/webhooks/:id", "webhook:show", s.showWebhook},
		{http.MethodDelete, "/api/v1/webhooks/:id", "webhook:delete", s.deleteWebhook},
		{http.MethodGet, "/api/v1/webhooks/:id/deliveries", "webhook:show", s.webhookDeliveries},

		{http.MethodGet, "/api/v1/flavors", "flavor:list", s.listFlavors},
		{http.MethodPost, "/api/v1/flavors", "flavor:create", s.createFlavor},
		{http.MethodGet, "/api/v1/flavors/:id", "flavor:show", s.showFlavor},
		{http.MethodDelete, "/api/v1/flavors/:id", "flavor:delete", s.deleteFlavor},

		{http.MethodGet, "/api/v1/instances", "instance:list", s.listInstances},
		{http.MethodPost, "/api/v1/instances", "instance:create", s.createInstance},
		{http.MethodGet, "/api/v1/instances/:id", "instance:show", s.showInstance},
		{http.MethodDelete, "/api/v1/instances/:id", "instance:delete", s.deleteInstance},
		{http.MethodPost, "/api/v1/instances/:id/:action", "instance" + paramTail, s.instanceAction},
		{http.MethodPost, "/api/v1/instances/:id/eject", "instance:eject", s.ejectInstance},
		{http.MethodGet, "/api/v1/instances/:id/console-log", "instance:console_log", s.consoleLog},
		{http.MethodPost, "/api/v1/instances/:id/console-tickets", "instance:console_ticket", s.createConsoleTicket},
		{http.MethodGet, vncPath, "instance:console", s.vnc},
		{http.MethodGet, "/api/v1/instances/:id/screenshot", "instance:screenshot", s.screenshot},
		{http.MethodGet, "/api/v1/instances/:id/stats", "instance:stats", s.instanceStats},
		{http.MethodGet, "/api/v1/instances/:id/console", consoleViewAction, s.serialConsole},

		{http.MethodGet, "/api/v1/images", "image:list", s.listImages},
		{http.MethodPost, "/api/v1/images", "image:create", s.createImage},
		{http.MethodGet, "/api/v1/images/:id", "image:show", s.showImage},
		{http.MethodDelete, "/api/v1/images/:id", "image:delete", s.deleteImage},
		{http.MethodPut, imageFilePath, "image:upload", s.uploadImage},
		{http.MethodGet, imageFilePath, "image:download", s.downloadImage},
		{http.MethodPost, "/api/v1/images/import", "image:import", s.importImageURL},
		{http.MethodPost, "/api/v1/images/:id/import", "image:import", s.importImageURLInto},
		{http.MethodPost, "/api/v1/images/import-file", "image:import_file", s.importImageFile},
		{http.MethodPost, "/api/v1/images/:id/members", "image:member_add", s.addImageMember},
		{http.MethodDelete, "/api/v1/images/:id/members/:project", "image:member_remove", s.removeImageMember},
		{http.MethodGet, "/api/v1/images/:id/members", "image:member_list", s.listImageMembers},
		{http.MethodPut, "/api/v1/images/:id/members/:project", "image:member_update", s.updateImageMember},
		{http.MethodPatch, "/api/v1/images/:id", "image:update", s.updateImage},

		{http.MethodGet, "/api/v1/pools", "pool:list", s.listPools},
		{http.MethodPost, "/api/v1/pools", "pool:create", s.createPool},
		{http.MethodGet, "/api/v1/pools/:id", "pool:show", s.showPool},
		{http.MethodDelete, "/api/v1/pools/:id", "pool:delete", s.deletePool},
		{http.MethodPost, "/api/v1/pools/:id/default", "pool:update", s.setDefaultPool},

		{http.MethodGet, "/api/v1/networks", "network:list", s.listNetworks},
		{http.MethodPost, "/api/v1/networks", "network:create", s.createNetwork},
		{http.MethodGet, "/api/v1/networks/:id", "network:show", s.showNetwork},
		{http.MethodPatch, "/api/v1/networks/:id", "network:update", s.updateNetwork},
		{http.MethodDelete, "/api/v1/networks/:id", "network:delete", s.deleteNetwork},
		{http.MethodGet, "/api/v1/ports", "port:list", s.listPorts},
		{http.MethodPost, "/api/v1/ports", "port:create", s.createPort},
		{http.MethodGet, "/api/v1/ports/:id", "port:show", s.showPort},
		{http.MethodPut, "/api/v1/ports/:id", "port:update", s.updatePort},
		{http.MethodDelete, "/api/v1/ports/:id", "port:delete", s.deletePort},

		{http.MethodGet, "/api/v1/security-groups", "security_group:list", s.listSecurityGroups},
		{http.MethodPost, "/api/v1/security-groups", "security_group:create", s.createSecurityGroup},
		{http.MethodGet, "/api/v1/security-groups/:id", "security_group:show", s.showSecurityGroup},
		{http.MethodPatch, "/api/v1/security-groups/:id", "security_group:update", s.updateSecurityGroup},
		{http.MethodDelete, "/api/v1/security-groups/:id", "security_group:delete", s.deleteSecurityGroup},
		{http.MethodPost, "/api/v1/security-groups/:id/rules", "security_group_rule:create", s.addSecurityGroupRule},
		{http.MethodDelete, "/api/v1/security-group-rules/:id", "security_group_rule:delete", s.deleteSecurityGroupRule},

		{http.MethodGet, "/api/v1/floating-ips", "floating_ip:list", s.listFloatingIPs},
		{http.MethodPost, "/api/v1/floating-ips", "floating_ip:create", s.createFloatingIP},
		{http.MethodGet, "/api/v1/floating-ips/:id", "floating_ip:show", s.showFloatingIP},
		{http.MethodPut, "/api/v1/floating-ips/:id", "floating_ip:update", s.updateFloatingIP},
		{http.MethodDelete, "/api/v1/floating-ips/:id", "floating_ip:delete", s.deleteFloatingIP},
		{http.MethodGet, "/api/v1/port-forwards", "port_forward:list", s.listPortForwards},
		{http.MethodPost, "/api/v1/port-forwards", "port_forward:create", s.createPortForward},
		{http.MethodGet, "/api/v1/port-forwards/:id", "port_forward:show", s.showPortForward},
		{http.MethodDelete, "/api/v1/port-forwards/:id", "port_forward:delete", s.deletePortForward},

		{http.MethodGet, "/api/v1/volumes", "volume:list", s.listVolumes},
		{http.MethodPost, "/api/v1/volumes", "volume:create", s.createVolume},
		{http.MethodGet, "/api/v1/volumes/:id", "volume:show", s.showVolume},
		{http.MethodPatch, "/api/v1/volumes/:id", "volume:update", s.updateVolume},
		{http.MethodDelete, "/api/v1/volumes/:id", "volume:delete", s.deleteVolume},
		{http.MethodPost, "/api/v1/volumes/:id/attach", "volume:attach", s.attachVolume},
		{http.MethodPost, "/api/v1/volumes/:id/detach", "volume:detach", s.detachVolume},
		{http.MethodPost, "/api/v1/volumes/:id/extend", "volume:extend", s.extendVolume},
		{http.MethodPost, "/api/v1/volumes/:id/qos", "volume:update", s.setVolumeQoS},
		{http.MethodPost, "/api/v1/volumes/:id/bootable", "volume:update", s.setVolumeBootable},
		{http.MethodPost, "/api/v1/volumes/:id/revert", "volume:revert", s.revertVolume},
		{http.MethodPost, "/api/v1/volumes/:id/transfer", "volume:transfer", s.createTransfer},
		{http.MethodPost, "/api/v1/volume-transfers/:id/accept", "volume:accept_transfer", s.acceptTransfer},
		{http.MethodDelete, "/api/v1/volume-transfers/:id", "volume:transfer", s.cancelTransfer},
		{http.MethodGet, "/api/v1/volumes/:id/snapshots", "snapshot:list", s.listSnapshots},
		{http.MethodPost, "/api/v1/volumes/:id/snapshots", "snapshot:create", s.createSnapshot},
		{http.MethodGet, "/api/v1/snapshots", "snapshot:list", s.listSnapshots},
		{http.MethodGet, "/api/v1/snapshots/:id", "snapshot:show", s.showSnapshot},
		{http.MethodPatch, "/api/v1/snapshots/:id", "snapshot:update", s.updateSnapshot},
		{http.MethodDelete, "/api/v1/snapshots/:id", "snapshot:delete", s.deleteSnapshot},
		{http.MethodPost, "/api/v1/snapshots/:id/image", "image:create", s.snapshotImage},

		{http.MethodGet, "/api/v1/quotas", "quota:show", s.showOwnQuotas},
		{http.MethodGet, "/api/v1/quotas/:project", "quota:show", s.showQuotas},
		{http.MethodPut, "/api/v1/quotas/:project", "quota:update", s.setQuotas},
		{http.MethodDelete, "/api/v1/quotas/:project", "quota:update", s.resetQuotas},
	} {
		if err := s.handle(r.method, r.path, r.action, r.h); err != nil {
			return err
		}
	}
	return nil
}

// Handler returns the HTTP handler, for tests and embedding.
func (s *Server) Handler() http.Handler { return s.guardTransfer(s.e) }

// Serve answers requests on l until Shutdown. Connections on a unix listener carry the peer's uid;
// those on any other listener (TCP, or TLS over TCP) are capped per source (see newConnLimiter).
// There is no whole-request read or write timeout, which would cut long uploads and downloads:
// headers and idle keep-alives have deadlines, bodies and responses must keep moving (guardTransfer).
func (s *Server) Serve(l net.Listener) error {
	srv := &http.Server{
		Handler:           s.Handler(),
		ConnContext:       connContext,
		ReadHeaderTimeout: s.limits.HeaderTimeout,
		IdleTimeout:       s.limits.IdleTimeout,
		ErrorLog:          slog.NewLogLogger(s.log.Handler(), slog.LevelWarn),
	}
	if l.Addr().Network() != "unix" {
		cl := newConnLimiter(l, s.limits.MaxConnsPerSource, s.limits.MaxConns, s.log, s.now)
		l, srv.ConnState = cl, cl.TrackState
	}
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return http.ErrServerClosed
	}
	s.servers = append(s.servers, srv)
	s.mu.Unlock()
	if err := srv.Serve(l); !errors.Is(err, http.ErrServerClosed) {
		return fmt.Errorf("serve %s: %w", l.Addr(), err)
	}
	return nil
}

// Shutdown stops accepting, waits for in-flight requests until ctx ends, then closes what is left.
func (s *Server) Shutdown(ctx context.Context) error {
	s.mu.Lock()
	s.closed = true
	servers := s.servers
	s.mu.Unlock()
	if s.hub != nil {
		s.hub.close() // net/http would wait for event streams, which never go idle, until ctx ends
	}
	var errs []error
	for _, srv := range servers {
		if err := srv.Shutdown(ctx); err != nil {
			errs = append(errs, err, srv.Close())
		}
	}
	s.consoles.sessions.closeAll() // net/http does not track hijacked connections
	if s.flood != nil {
		s.flood.close() // the last window's aggregated entries are owed too
	}
	return errors.Join(errs...)
}
