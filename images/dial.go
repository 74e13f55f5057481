package images

import (
	"context"
	"net"
	"syscall"
)

// control is the guarded dialer's Control: the shared address guard (internal/netguard), its
// refusals wrapped as ErrBlockedAddress for the log.
func (f fetchConfig) control(network, address string, c syscall.RawConn) error {
	if err := f.guard.Control(network, address, c); err != nil {
		return faultf(ErrBlockedAddress, "%v", err)
	}
	return nil
}

// dialer returns the DialContext of URL imports: guarded, and with the test hosts table applied.
func (f fetchConfig) dialer() func(ctx context.Context, network, addr string) (net.Conn, error) {
	d := &net.Dialer{Timeout: f.dialTimeout, Control: f.control}
	return func(ctx context.Context, network, addr string) (net.Conn, error) {
		if host, port, err := net.SplitHostPort(addr); err == nil && f.hosts[host] != "" {
			addr = net.JoinHostPort(f.hosts[host], port)
		}
		return d.DialContext(ctx, network, addr)
	}
}
