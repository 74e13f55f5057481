package testguest

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net/netip"
	"strings"
)

// Markers the guest prints on its serial console, each at the start of its own line (see init.sh).
const (
	MarkerBoot     = "CLOUDLET-GUEST-BOOT"      // kernel=<release>: /init started
	MarkerSeed     = "CLOUDLET-GUEST-SEED"      // found dev=<dev> | none
	MarkerSSHKeys  = "CLOUDLET-GUEST-SSHKEYS"   // count=<n>: keys written to /root/.ssh/authorized_keys
	MarkerDHCP     = "CLOUDLET-GUEST-DHCP"      // ip=<ipv4>: a lease was bound
	MarkerSource   = "CLOUDLET-GUEST-SOURCE"    // seed | metadata | none: where hostname, keys and user-data came from
	MarkerUserData = "CLOUDLET-GUEST-USERDATA"  // ran rc=<rc> | ignored
	MarkerHTTP     = "CLOUDLET-GUEST-HTTP"      // port=80: httpd answers
	MarkerPhone    = "CLOUDLET-GUEST-PHONEHOME" // rc=<rc>: POST /cloudlet/ready to the metadata service (cloudlet networks only)
	MarkerPort     = "CLOUDLET-GUEST-PORT"      // reply=<OK|none>: READY said on org.cloudlet.ready (cloudlet.ready=port only)
	MarkerReady    = "CLOUDLET-GUEST-READY"     // hostname=<name> ip=<ipv4|none>: printed exactly once
	MarkerWarn     = "CLOUDLET-GUEST-WARN"      // <what>: a step failed, boot went on
	MarkerBlock    = "CLOUDLET-GUEST-BLOCK"     // boot=<iso|unknown> <dev>=<bytes>...: the block devices it sees
)

// WaitForMarker reads r (a console stream) line by line until a line contains prefix, and returns that
// line without its line ending; ctx bounds it.
//
// It may read past the returned line: to wait for several markers in turn, pass the same *bufio.Reader
// each time. When ctx ends first, a read may still be pending on r; close r to end it, and do not reuse r.
func WaitForMarker(ctx context.Context, r io.Reader, prefix string) (string, error) {
	if err := ctx.Err(); err != nil {
		return "", fmt.Errorf("wait for console marker %q: %w", prefix, context.Cause(ctx))
	}
	br, ok := r.(*bufio.Reader)
	if !ok {
		br = bufio.NewReader(r)
	}
	type result struct {
		line string
		err  error
	}
	done := make(chan result, 1)
	go func() {
		line, err := readUntil(br, prefix)
		done <- result{line, err}
	}()
	select {
	case res := <-done:
		return res.line, res.err
	case <-ctx.Done():
		return "", fmt.Errorf("wait for console marker %q: %w", prefix, context.Cause(ctx))
	}
}

func readUntil(br *bufio.Reader, prefix string) (string, error) {
	for {
		line, err := br.ReadString('\n')
		if strings.Contains(line, prefix) {
			return strings.TrimRight(line, "\r\n"), nil
		}
		if err != nil {
			if errors.Is(err, io.EOF) {
				err = io.ErrUnexpectedEOF
			}
			return "", fmt.Errorf("wait for console marker %q: %w", prefix, err)
		}
	}
}

// Ready is the parsed ready marker.
type Ready struct {
	Hostname string
	IP       string // IPv4 address of eth0, or "" when the guest got no DHCP lease (ip=none)
}

// ParseReady parses a console line holding "CLOUDLET-GUEST-READY hostname=<name> ip=<ipv4|none>".
// Text before the marker (console noise) is ignored.
func ParseReady(line string) (Ready, error) {
	_, rest, ok := strings.Cut(line, MarkerReady)
	if !ok || (rest != "" && !strings.HasPrefix(rest, " ")) {
		return Ready{}, fmt.Errorf("parse ready marker %q: no %s", line, MarkerReady)
	}
	fields := map[string]string{}
	for _, f := range strings.Fields(rest) {
		k, v, _ := strings.Cut(f, "=")
		fields[k] = v
	}
	r := Ready{Hostname: fields["hostname"], IP: fields["ip"]}
	if r.Hostname == "" {
		return Ready{}, fmt.Errorf("parse ready marker %q: no hostname", line)
	}
	switch ip, hasIP := fields["ip"]; {
	case !hasIP:
		return Ready{}, fmt.Errorf("parse ready marker %q: no ip", line)
	case ip == "none":
		r.IP = ""
	default:
		addr, err := netip.ParseAddr(ip)
		if err != nil || !addr.Is4() {
			return Ready{}, fmt.Errorf("parse ready marker %q: ip %q is not an IPv4 address", line, ip)
		}
	}
	return r, nil
}
