package main

import (
	"context"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"strings"

	"cloudlet/web/client"
)

// trustFlags are login's ways to trust the server: a fingerprint checked elsewhere, a CA file,
// or (only for plain http to another host) --insecure.
type trustFlags struct {
	fingerprint, caFile string
	insecure            bool
}

// trust is how a connection verifies an https server (both empty: the system's CAs).
type trust struct {
	Fingerprint string
	CAFile      string
	CA          *x509.CertPool
}

// loginTrust decides how login trusts base: the flags first, then what an earlier login to base
// remembered, else the certificate is shown and confirmed (only on a terminal). A plain http URL
// to another host is refused unless --insecure: the password would cross the network in clear.
func (g *globals) loginTrust(ctx context.Context, in io.Reader, base string, prev *storedLogin, f trustFlags) (trust, error) {
	u, err := url.Parse(base)
	if err != nil || u.Host == "" || (u.Scheme != "http" && u.Scheme != "https") {
		return trust{}, fmt.Errorf("login: --url %q: want http(s)://HOST:PORT", base)
	}
	if u.Scheme == "http" {
		if f.fingerprint != "" || f.caFile != "" {
			return trust{}, errors.New("login: --fingerprint and --ca-file check an https server; this URL is http")
		}
		if !loopbackHost(u.Hostname()) && !f.insecure {
			return trust{}, fmt.Errorf("login: %s would send your password in clear text over the network: use https://%s "+
				"(cloudlet serves HTTPS on every non-loopback address), or --insecure if nobody else can see this network", base, u.Host)
		}
		return trust{}, nil
	}
	switch {
	case f.fingerprint != "" && f.caFile != "":
		return trust{}, errors.New("login: give --fingerprint or --ca-file, not both")
	case f.fingerprint != "":
		fp, err := client.ParseFingerprint(f.fingerprint)
		return trust{Fingerprint: fp}, err
	case f.caFile != "":
		return loadCATrust(f.caFile)
	case prev != nil && prev.Fingerprint != "":
		return trust{Fingerprint: prev.Fingerprint}, nil // a changed certificate is refused when used
	case prev != nil && prev.CAFile != "":
		return loadCATrust(prev.CAFile)
	}
	return g.firstContact(ctx, in, base)
}

// firstContact shows the certificate of a server seen for the first time and asks to trust it.
// One the system's CAs vouch for needs no question.
func (g *globals) firstContact(ctx context.Context, in io.Reader, base string) (trust, error) {
	cert, err := client.FetchServerCert(ctx, base)
	if err != nil {
		return trust{}, fmt.Errorf("login: %w", err)
	}
	if cert.Verified {
		return trust{}, nil
	}
	f, isFile := in.(*os.File)
	if !isFile || !isTerminal(f) {
		return trust{}, fmt.Errorf("login: %s presents a TLS certificate nobody has vouched for, with fingerprint %s; "+
			"compare it with the one the server shows (cloudlet host there, or the daemon's start output) and run login again "+
			"with --fingerprint %s, or give --ca-file", base, cert.Fingerprint, cert.Fingerprint)
	}
	ok, err := confirmTrust(f, g.stderr, base, cert.Fingerprint)
	if err != nil {
		return trust{}, err
	}
	if !ok {
		return trust{}, fmt.Errorf("login: the certificate of %s was not trusted", base)
	}
	return trust{Fingerprint: cert.Fingerprint}, nil
}

// confirmTrust shows fp and reads a yes or no, byte by byte, so the password read after it finds
// its own line.
func confirmTrust(in io.Reader, out io.Writer, base, fp string) (bool, error) {
	fmt.Fprintf(out, "The server at %s presents a TLS certificate with fingerprint\n  %s\n"+
		"Compare it with the one the server shows (cloudlet host there, or the daemon's start output).\n"+
		"Trust it and remember it for later commands? [y/N] ", base, fp)
	var line []byte
	buf := make([]byte, 1)
	for {
		n, err := in.Read(buf)
		if n == 1 && buf[0] == '\n' {
			break
		}
		if n == 1 {
			line = append(line, buf[0])
		}
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return false, fmt.Errorf("login: read the answer: %w", err)
		}
	}
	answer := strings.ToLower(strings.TrimSpace(string(line)))
	return answer == "y" || answer == "yes", nil
}

func loadCATrust(path string) (trust, error) {
	abs, err := filepath.Abs(path)
	if err != nil {
		return trust{}, fmt.Errorf("CA file %s: %w", path, err)
	}
	pool, err := client.LoadCAFile(abs)
	if err != nil {
		return trust{}, err
	}
	return trust{CAFile: abs, CA: pool}, nil
}

// loopbackHost says whether host names this machine's loopback.
func loopbackHost(host string) bool {
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// trustOf is how a stored login's server is trusted.
func trustOf(l *storedLogin) (trust, error) {
	if l.CAFile != "" {
		return loadCATrust(l.CAFile)
	}
	return trust{Fingerprint: l.Fingerprint}, nil
}
