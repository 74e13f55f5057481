package appliance

import (
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
	a.listeners = append(a.listeners, tcp)
	sock, err := listenUnix(a.cfg.Socket)
	if err != nil {
		return err
	}
	a.listeners = append(a.listeners, sock)
	return nil
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
