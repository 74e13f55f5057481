package appliance

import (
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"os"
	"time"
)

// listen binds the TCP address and the unix socket. It runs after the catalog lock is held, so a
// socket file left behind can only belong to a dead daemon or to one on another data dir; the latter
// still answers and is refused rather than stolen.
func (a *Appliance) listen() error {
	tcp, err := net.Listen("tcp", a.cfg.Listen)
	if err != nil {
		return fmt.Errorf("listen on %s: %w (is another cloudlet or service using the port? choose another with --listen)", a.cfg.Listen, err)
	}
	if tcp, err = a.secure(tcp); err != nil {
		return err
	}
	a.listeners = append(a.listeners, tcp)
	sock, err := listenUnix(a.cfg.Socket)
	if err != nil {
		return err
	}
	a.listeners = append(a.listeners, sock)
	return nil
}

// secure wraps the TCP listener in TLS when the config says HTTPS (see Config.ServesTLS), and
// warns loudly when plain HTTP leaves the host.
func (a *Appliance) secure(tcp net.Listener) (net.Listener, error) {
	if !a.cfg.ServesTLS() {
		if a.cfg.PlainHTTPOffLoopback() {
			a.log.Warn("serving plain HTTP on a non-loopback address (insecure_http): passwords and tokens cross the network in clear text",
				"listen", a.cfg.Listen)
		}
		return tcp, nil
	}
	cert, err := loadServerCert(a.cfg, hostCertNames(a.cfg.Listen), time.Now())
	if err != nil {
		tcp.Close()
		return nil, err
	}
	a.tlsCert = cert
	a.log.Info("serving HTTPS", "certificate", cert.path, "tls_fingerprint", cert.fingerprint)
	return tls.NewListener(tcp, serverTLSConfig(cert)), nil
}

// TLSFingerprint is the fingerprint of the certificate the API serves, "" over plain HTTP.
func (a *Appliance) TLSFingerprint() string { return a.tlsCert.fingerprint }

func (a *Appliance) scheme() string {
	if a.tlsCert.fingerprint != "" {
		return "https"
	}
	return "http"
}

func listenUnix(path string) (net.Listener, error) {
	if err := removeStaleSocket(path); err != nil {
		return nil, err
	}
	// The run dir is 0700, so nobody else can connect in the moment before the chmod.
	l, err := net.Listen("unix", path)
	if err != nil {
		return nil, fmt.Errorf("listen on socket %s: %w", path, err)
	}
	if err := os.Chmod(path, 0o600); err != nil {
		l.Close()
		return nil, fmt.Errorf("chmod socket %s: %w", path, err)
	}
	l.(*net.UnixListener).SetUnlinkOnClose(true)
	return l, nil
}

func removeStaleSocket(path string) error {
	if _, err := os.Lstat(path); errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if c, err := net.DialTimeout("unix", path, time.Second); err == nil {
		c.Close()
		return fmt.Errorf("listen on socket %s: another daemon is answering on it (choose another --socket or --run-dir)", path)
	}
	if err := os.Remove(path); err != nil {
		return fmt.Errorf("remove stale socket %s: %w", path, err)
	}
	return nil
}
