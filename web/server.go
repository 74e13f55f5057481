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

	"cloudlet/appliance/compute"
	"cloudlet/appliance/host"
	"cloudlet/appliance/network"
	"cloudlet/appliance/volume"
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

	Events         func(since uint64, limit int) ([]json.RawMessage, error) // the catalog's event log
	Compute        *compute.Service
	Images         *images.Service
	Volumes        *volume.Service
	Networks       *network.Service
	Quotas         Quotas // limits and usage per project; nil: the quota routes answer 503
	DefaultProject string // the project callers act in until identity lands (the admin project)
}

// Server serves the API on any number of listeners.
type Server struct {
	e       *echo.Echo
	log     *slog.Logger
	opts    Options
	maxBody int64
	clock   func() time.Time
	rules   map[string]Access // method+path → rule; written only during New

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
	s := &Server{e: echo.New(), log: o.Logger, opts: o, maxBody: o.MaxBodyBytes, clock: o.Clock, rules: map[string]Access{}}
	if s.maxBody <= 0 {
		s.maxBody = DefaultMaxBodyBytes
	}
	if s.clock == nil {
		s.clock = time.Now
	}
	s.e.HideBanner, s.e.HidePort = true, true
	s.e.HTTPErrorHandler = s.handleError
	s.e.Use(s.logRequests, s.recoverPanics, s.authorize, s.limitBody)
	if err := s.routes(); err != nil {
		return nil, err
	}
	return s, nil
}

// routes is the table of every route cloudlet serves, each with its access rule.
func (s *Server) routes() error {
	for _, r := range []struct {
		method, path string
		access       Access
		h            echo.HandlerFunc
	}{
		{http.MethodGet, "/healthz", Public, s.healthz},
		{http.MethodGet, "/api/v1/host", Member, s.hostInfo},
		{http.MethodGet, "/api/v1/backup", Admin, s.backup},
		{http.MethodGet, "/api/v1/events", Admin, s.listEvents},

		{http.MethodGet, "/api/v1/flavors", Member, s.listFlavors},
		{http.MethodPost, "/api/v1/flavors", Admin, s.createFlavor},
		{http.MethodGet, "/api/v1/flavors/:id", Member, s.showFlavor},
		{http.MethodDelete, "/api/v1/flavors/:id", Admin, s.deleteFlavor},

		{http.MethodGet, "/api/v1/instances", Member, s.listInstances},
		{http.MethodPost, "/api/v1/instances", Member, s.createInstance},
		{http.MethodGet, "/api/v1/instances/:id", Member, s.showInstance},
		{http.MethodDelete, "/api/v1/instances/:id", Member, s.deleteInstance},
		{http.MethodPost, "/api/v1/instances/:id/:action", Member, s.instanceAction},
		{http.MethodGet, "/api/v1/instances/:id/console-log", Member, s.consoleLog},

		{http.MethodGet, "/api/v1/images", Member, s.listImages},
		{http.MethodPost, "/api/v1/images", Member, s.createImage},
		{http.MethodGet, "/api/v1/images/:id", Member, s.showImage},
		{http.MethodDelete, "/api/v1/images/:id", Member, s.deleteImage},
		{http.MethodPut, imageFilePath, Member, s.uploadImage},
		{http.MethodGet, imageFilePath, Member, s.downloadImage},
		{http.MethodPost, "/api/v1/images/import", Member, s.importImageURL},
		{http.MethodPost, "/api/v1/images/import-file", Admin, s.importImageFile},
		{http.MethodPost, "/api/v1/images/:id/members", Member, s.addImageMember},
		{http.MethodDelete, "/api/v1/images/:id/members/:project", Member, s.removeImageMember},

		{http.MethodGet, "/api/v1/pools", Member, s.listPools},
		{http.MethodPost, "/api/v1/pools", Admin, s.createPool},
		{http.MethodGet, "/api/v1/pools/:id", Member, s.showPool},
		{http.MethodDelete, "/api/v1/pools/:id", Admin, s.deletePool},
		{http.MethodPost, "/api/v1/pools/:id/default", Admin, s.setDefaultPool},

		{http.MethodGet, "/api/v1/networks", Member, s.listNetworks},
		{http.MethodPost, "/api/v1/networks", Member, s.createNetwork},
		{http.MethodGet, "/api/v1/networks/:id", Member, s.showNetwork},
		{http.MethodDelete, "/api/v1/networks/:id", Member, s.deleteNetwork},
		{http.MethodGet, "/api/v1/ports", Member, s.listPorts},
		{http.MethodPost, "/api/v1/ports", Member, s.createPort},
		{http.MethodGet, "/api/v1/ports/:id", Member, s.showPort},
		{http.MethodPut, "/api/v1/ports/:id", Member, s.updatePort},
		{http.MethodDelete, "/api/v1/ports/:id", Member, s.deletePort},

		{http.MethodGet, "/api/v1/security-groups", Member, s.listSecurityGroups},
		{http.MethodPost, "/api/v1/security-groups", Member, s.createSecurityGroup},
		{http.MethodGet, "/api/v1/security-groups/:id", Member, s.showSecurityGroup},
		{http.MethodDelete, "/api/v1/security-groups/:id", Member, s.deleteSecurityGroup},
		{http.MethodPost, "/api/v1/security-groups/:id/rules", Member, s.addSecurityGroupRule},
		{http.MethodDelete, "/api/v1/security-group-rules/:id", Member, s.deleteSecurityGroupRule},

		{http.MethodGet, "/api/v1/floating-ips", Member, s.listFloatingIPs},
		{http.MethodPost, "/api/v1/floating-ips", Member, s.createFloatingIP},
		{http.MethodGet, "/api/v1/floating-ips/:id", Member, s.showFloatingIP},
		{http.MethodPut, "/api/v1/floating-ips/:id", Member, s.updateFloatingIP},
		{http.MethodDelete, "/api/v1/floating-ips/:id", Member, s.deleteFloatingIP},
		{http.MethodGet, "/api/v1/port-forwards", Member, s.listPortForwards},
		{http.MethodPost, "/api/v1/port-forwards", Member, s.createPortForward},
		{http.MethodGet, "/api/v1/port-forwards/:id", Member, s.showPortForward},
		{http.MethodDelete, "/api/v1/port-forwards/:id", Member, s.deletePortForward},

		{http.MethodGet, "/api/v1/volumes", Member, s.listVolumes},
		{http.MethodPost, "/api/v1/volumes", Member, s.createVolume},
		{http.MethodGet, "/api/v1/volumes/:id", Member, s.showVolume},
		{http.MethodDelete, "/api/v1/volumes/:id", Member, s.deleteVolume},
		{http.MethodPost, "/api/v1/volumes/:id/attach", Member, s.attachVolume},
		{http.MethodPost, "/api/v1/volumes/:id/detach", Member, s.detachVolume},
		{http.MethodPost, "/api/v1/volumes/:id/extend", Member, s.extendVolume},
		{http.MethodPost, "/api/v1/volumes/:id/qos", Member, s.setVolumeQoS},
		{http.MethodPost, "/api/v1/volumes/:id/bootable", Member, s.setVolumeBootable},
		{http.MethodPost, "/api/v1/volumes/:id/revert", Member, s.revertVolume},
		{http.MethodPost, "/api/v1/volumes/:id/transfer", Member, s.createTransfer},
		{http.MethodPost, "/api/v1/volume-transfers/:id/accept", Member, s.acceptTransfer},
		{http.MethodDelete, "/api/v1/volume-transfers/:id", Member, s.cancelTransfer},
		{http.MethodGet, "/api/v1/volumes/:id/snapshots", Member, s.listSnapshots},
		{http.MethodPost, "/api/v1/volumes/:id/snapshots", Member, s.createSnapshot},
		{http.MethodGet, "/api/v1/snapshots", Member, s.listSnapshots},
		{http.MethodGet, "/api/v1/snapshots/:id", Member, s.showSnapshot},
		{http.MethodDelete, "/api/v1/snapshots/:id", Member, s.deleteSnapshot},
		{http.MethodPost, "/api/v1/snapshots/:id/image", Member, s.snapshotImage},

		{http.MethodGet, "/api/v1/quotas", Member, s.showOwnQuotas},
		{http.MethodGet, "/api/v1/quotas/:project", Member, s.showQuotas},
		{http.MethodPut, "/api/v1/quotas/:project", Admin, s.setQuotas},
		{http.MethodDelete, "/api/v1/quotas/:project", Admin, s.resetQuotas},
	} {
		if err := s.handle(r.method, r.path, r.access, r.h); err != nil {
			return err
		}
	}
	return nil
}

// Handler returns the HTTP handler, for tests and embedding.
func (s *Server) Handler() http.Handler { return s.e }

// Serve answers requests on l until Shutdown. Connections on a unix listener carry the peer's uid.
func (s *Server) Serve(l net.Listener) error {
	srv := &http.Server{
		Handler:           s.e,
		ConnContext:       connContext,
		ReadHeaderTimeout: 10 * time.Second,
		ErrorLog:          slog.NewLogLogger(s.log.Handler(), slog.LevelWarn),
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
	var errs []error
	for _, srv := range servers {
		if err := srv.Shutdown(ctx); err != nil {
			errs = append(errs, err, srv.Close())
		}
	}
	return errors.Join(errs...)
}
