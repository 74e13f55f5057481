package appliance

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"fmt"
	"io/fs"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"cloudlet/appliance/host"
	"cloudlet/web/client"
)

// certValidity is how long a generated certificate lasts. Clients pin it by fingerprint, so its
// expiry matters only to those that verify it against a CA file.
const certValidity = 3 * 365 * 24 * time.Hour

// The generated certificate and key, in TLSDir.
const (
	certFile = "cert.pem"
	keyFile  = "key.pem"
)

// ServesTLS says whether the TCP listener speaks HTTPS: always on a non-loopback address unless
// insecure_http says otherwise, and on loopback when tls or an own certificate is configured.
func (c *Config) ServesTLS() bool {
	if c.InsecureHTTP {
		return false
	}
	return c.TLS || c.TLSCert != "" || !loopbackAddr(c.Listen)
}

// PlainHTTPOffLoopback says passwords and tokens would cross the network in clear text.
func (c *Config) PlainHTTPOffLoopback() bool { return !c.ServesTLS() && !loopbackAddr(c.Listen) }

// TLSDir holds the generated certificate and key.
func (c *Config) TLSDir() string { return filepath.Join(c.DataDir, "tls") }

// checkTLS checks the TLS settings for Normalize.
func (c *Config) checkTLS() error {
	if (c.TLSCert == "") != (c.TLSKey == "") {
		return errors.New("config: tls_cert and tls_key go together: give both or neither")
	}
	if c.InsecureHTTP && (c.TLS || c.TLSCert != "") {
		return errors.New("config: insecure_http contradicts tls and tls_cert: choose one")
	}
	for _, p := range []*string{&c.TLSCert, &c.TLSKey} {
		if *p == "" {
			continue
		}
		abs, err := filepath.Abs(*p)
		if err != nil {
			return fmt.Errorf("config: path %s: %w", *p, err)
		}
		*p = abs
	}
	return nil
}

// loopbackAddr says whether a listen address reaches only this host. An empty host, 0.0.0.0 and
// :: listen everywhere, and a name other than localhost may resolve anywhere: all count as not.
func loopbackAddr(listen string) bool {
	host, _, err := net.SplitHostPort(listen)
	if err != nil {
		return false
	}
	if strings.EqualFold(host, "localhost") {
		return true
	}
	host, _, _ = strings.Cut(host, "%") // a zone
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// serverCert is the certificate the HTTPS listener presents.
type serverCert struct {
	cert        tls.Certificate
	fingerprint string // client.Fingerprint of the leaf
	path        string // where it was read from
}

// loadServerCert reads the admin's own certificate when one is configured, else the generated
// one in TLSDir, making it on the first start.
func loadServerCert(cfg Config, names certNames, now time.Time) (serverCert, error) {
	if cfg.TLSCert != "" {
		if err := checkKeyMode(cfg.TLSKey, 0o007); err != nil {
			return serverCert{}, err
		}
		return readServerCert(cfg.TLSCert, cfg.TLSKey)
	}
	return loadOrCreateCert(cfg.TLSDir(), names, now)
}

// loadOrCreateCert reuses the certificate in dir, so clients' pins stay valid, or makes one.
func loadOrCreateCert(dir string, names certNames, now time.Time) (serverCert, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return serverCert{}, fmt.Errorf("create directory %s: %w", dir, err)
	}
	if err := os.Chmod(dir, 0o700); err != nil {
		return serverCert{}, fmt.Errorf("chmod %s: %w", dir, err)
	}
	certPath, keyPath := filepath.Join(dir, certFile), filepath.Join(dir, keyFile)
	if _, err := os.Stat(certPath); errors.Is(err, fs.ErrNotExist) {
		if err := writeNewCert(certPath, keyPath, names, now); err != nil {
			return serverCert{}, err
		}
	}
	if err := checkKeyMode(keyPath, 0o077); err != nil {
		return serverCert{}, err
	}
	return readServerCert(certPath, keyPath)
}

func readServerCert(certPath, keyPath string) (serverCert, error) {
	c, err := tls.LoadX509KeyPair(certPath, keyPath)
	if err != nil {
		return serverCert{}, fmt.Errorf("load TLS certificate %s with key %s: %w", certPath, keyPath, err)
	}
	return serverCert{cert: c, fingerprint: client.Fingerprint(c.Certificate[0]), path: certPath}, nil
}

// checkKeyMode refuses a private key file whose mode has any of the bits in forbidden.
func checkKeyMode(path string, forbidden fs.FileMode) error {
	fi, err := os.Stat(path)
	if err != nil {
		return fmt.Errorf("TLS key %s: %w", path, err)
	}
	if mode := fi.Mode().Perm(); mode&forbidden != 0 {
		return fmt.Errorf("TLS key %s has mode %04o, so other users can read it: run chmod 600 %s "+
			"(and replace the certificate if others may have read the key)", path, mode, path)
	}
	return nil
}

// writeNewCert makes a self-signed ECDSA P-256 certificate for names and writes it with its key
// (0600). The key is renamed into place first: a certificate on disk always has its key.
func writeNewCert(certPath, keyPath string, names certNames, now time.Time) error {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return fmt.Errorf("generate TLS key: %w", err)
	}
	serial, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 128))
	if err != nil {
		return fmt.Errorf("generate TLS serial number: %w", err)
	}
	tmpl := &x509.Certificate{
		SerialNumber:          serial,
		Subject:               pkix.Name{Organization: []string{"cloudlet"}, CommonName: names.commonName()},
		NotBefore:             now.Add(-time.Hour), // a client clock slightly behind still accepts it
		NotAfter:              now.Add(certValidity),
		KeyUsage:              x509.KeyUsageDigitalSignature,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true,
		DNSNames:              names.DNS,
		IPAddresses:           names.IPs,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return fmt.Errorf("create TLS certificate: %w", err)
	}
	pkcs8, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return fmt.Errorf("encode TLS key: %w", err)
	}
	if err := writeFileAtomic(keyPath, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: pkcs8}), 0o600); err != nil {
		return err
	}
	return writeFileAtomic(certPath, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o644)
}

// writeFileAtomic writes data to path through a temp file in the same directory, created with mode.
func writeFileAtomic(path string, data []byte, mode fs.FileMode) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), ".tmp-*")
	if err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	defer os.Remove(tmp.Name()) // after the rename, a no-op
	if err := tmp.Chmod(mode); err != nil {
		tmp.Close()
		return fmt.Errorf("write %s: %w", path, err)
	}
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	return nil
}

// certNames are the subject alternative names of a generated certificate.
type certNames struct {
	DNS []string
	IPs []net.IP
}

func (n certNames) commonName() string {
	if len(n.DNS) > 0 {
		return n.DNS[0]
	}
	return "cloudlet"
}

// hostCertNames names this host: its host name, localhost, every address of its interfaces, and
// the listen address.
func hostCertNames(listen string) certNames {
	hostname, _ := os.Hostname()
	var addrs []net.IP
	if ifaddrs, err := net.InterfaceAddrs(); err == nil {
		for _, a := range ifaddrs {
			if ipnet, ok := a.(*net.IPNet); ok {
				addrs = append(addrs, ipnet.IP)
			}
		}
	}
	return makeCertNames(hostname, addrs, listen)
}

// makeCertNames is hostCertNames without the lookups: the host name, localhost and the listen
// host's name; the listen address, then the interfaces' addresses; each once, in that order. Link-local and unspecified addresses are left
// out: a certificate cannot name their zone, and nobody connects to 0.0.0.0.
func makeCertNames(hostname string, addrs []net.IP, listen string) certNames {
	var n certNames
	addName := func(s string) {
		s = strings.ToLower(strings.TrimSuffix(s, "."))
		if s != "" && net.ParseIP(s) == nil && !slices.Contains(n.DNS, s) {
			n.DNS = append(n.DNS, s)
		}
	}
	addIP := func(ip net.IP) {
		if ip == nil || ip.IsUnspecified() || ip.IsLinkLocalUnicast() || ip.IsMulticast() {
			return
		}
		if v4 := ip.To4(); v4 != nil {
			ip = v4
		}
		if !slices.ContainsFunc(n.IPs, func(o net.IP) bool { return o.Equal(ip) }) {
			n.IPs = append(n.IPs, ip)
		}
	}
	addName(hostname)
	addName("localhost")
	if host, _, err := net.SplitHostPort(listen); err == nil {
		addName(host)
		addIP(net.ParseIP(host))
	}
	for _, ip := range addrs {
		addIP(ip)
	}
	return n
}

// serverTLSConfig serves cert over TLS 1.2 and later, HTTP/1.1 only (the server's deadlines are
// written for it).
func serverTLSConfig(cert serverCert) *tls.Config {
	return &tls.Config{
		Certificates: []tls.Certificate{cert.cert},
		MinVersion:   tls.VersionTLS12,
		NextProtos:   []string{"http/1.1"},
	}
}

// TLSCheck is `cloudlet doctor`'s line about how the API travels over the network.
func (c *Config) TLSCheck() host.Check {
	check := host.Check{Name: "tls", Status: host.OK}
	switch {
	case c.PlainHTTPOffLoopback():
		check.Status = host.Warn
		check.Detail = fmt.Sprintf("plain HTTP on %s: passwords and tokens cross the network in clear text", c.Listen)
		check.Hint = "drop insecure_http (--insecure-http) to serve HTTPS with a generated certificate, or set tls_cert and tls_key"
	case !c.ServesTLS():
		check.Detail = fmt.Sprintf("plain HTTP on loopback %s only", c.Listen)
	case c.TLSCert != "":
		check.Detail = fmt.Sprintf("HTTPS on %s with %s", c.Listen, c.TLSCert)
	default:
		check.Detail = fmt.Sprintf("HTTPS on %s with the certificate in %s (made on the first start)", c.Listen, c.TLSDir())
	}
	return check
}
