package client

import (
	"context"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"net/url"
	"os"
	"strings"
)

// FingerprintPrefix starts every certificate fingerprint cloudlet shows: SHA256:ab:cd:… (the
// SHA-256 of the certificate's DER, in lower-case hex pairs).
const FingerprintPrefix = "SHA256:"

// Fingerprint is the SHA-256 fingerprint of a certificate's DER bytes, as cloudlet shows it.
func Fingerprint(der []byte) string {
	sum := sha256.Sum256(der)
	pairs := make([]string, len(sum))
	for i, b := range sum {
		pairs[i] = hex.EncodeToString([]byte{b})
	}
	return FingerprintPrefix + strings.Join(pairs, ":")
}

// ParseFingerprint reads a fingerprint as cloudlet shows it, or as openssl does (upper case, with
// or without colons or the SHA256: prefix), and returns it in cloudlet's form.
func ParseFingerprint(s string) (string, error) {
	t := strings.TrimSpace(s)
	if len(t) >= len(FingerprintPrefix) && strings.EqualFold(t[:len(FingerprintPrefix)], FingerprintPrefix) {
		t = t[len(FingerprintPrefix):]
	}
	raw, err := hex.DecodeString(strings.ReplaceAll(t, ":", ""))
	if err != nil || len(raw) != sha256.Size {
		return "", fmt.Errorf("fingerprint %q: want %s followed by 32 hex pairs, as cloudlet host shows it", s, FingerprintPrefix)
	}
	pairs := make([]string, len(raw))
	for i, b := range raw {
		pairs[i] = hex.EncodeToString([]byte{b})
	}
	return FingerprintPrefix + strings.Join(pairs, ":"), nil
}

// FingerprintError says the server presented another certificate than the pinned one.
type FingerprintError struct {
	Want, Got string
}

func (e *FingerprintError) Error() string {
	return fmt.Sprintf("the server's TLS certificate changed: it presents %s, but you trusted %s; "+
		"if the certificate was replaced on purpose, check the new fingerprint on the server (cloudlet host there) "+
		"and trust it with cloudlet login --fingerprint %s, otherwise someone may be intercepting the connection",
		e.Got, e.Want, e.Got)
}

// LoadCAFile reads PEM certificates to verify the server against instead of the system's CAs.
func LoadCAFile(path string) (*x509.CertPool, error) {
	pem, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read CA file %s: %w", path, err)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(pem) {
		return nil, fmt.Errorf("read CA file %s: no PEM certificate in it", path)
	}
	return pool, nil
}

// tlsConfig says how to trust an https server: by pinned fingerprint, by the given CAs, or (nil)
// by the system's CAs.
func tlsConfig(o Options) *tls.Config {
	switch {
	case o.Fingerprint != "":
		want := o.Fingerprint
		return &tls.Config{
			// Chain and name checks are replaced, not dropped: VerifyConnection accepts only the
			// pinned certificate, before any byte of a request is sent.
			InsecureSkipVerify: true,
			VerifyConnection: func(cs tls.ConnectionState) error {
				return checkPin(cs, want)
			},
		}
	case o.CA != nil:
		return &tls.Config{RootCAs: o.CA}
	}
	return nil
}

func checkPin(cs tls.ConnectionState, want string) error {
	if len(cs.PeerCertificates) == 0 {
		return errors.New("the server presented no TLS certificate")
	}
	if got := Fingerprint(cs.PeerCertificates[0].Raw); got != want {
		return &FingerprintError{Want: want, Got: got}
	}
	return nil
}

// ServerCert is what a TLS server presents before it is trusted.
type ServerCert struct {
	Fingerprint string // of the leaf certificate
	// Verified says the system's CAs vouch for the certificate under the URL's host name.
	Verified bool
}

// errProbed ends a probe's handshake once the certificate is seen.
var errProbed = errors.New("certificate read; handshake stopped on purpose")

// FetchServerCert reads the certificate an https URL's server presents, without trusting it: the
// handshake is aborted as soon as the certificate is seen, so nothing is ever sent over it.
func FetchServerCert(ctx context.Context, rawURL string) (ServerCert, error) {
	u, err := url.Parse(rawURL)
	if err != nil || u.Scheme != "https" || u.Host == "" {
		return ServerCert{}, fmt.Errorf("read the certificate of %q: not an https URL", rawURL)
	}
	addr := u.Host
	if u.Port() == "" {
		addr = net.JoinHostPort(u.Hostname(), "443")
	}
	var seen ServerCert
	d := tls.Dialer{Config: &tls.Config{
		ServerName:         u.Hostname(),
		InsecureSkipVerify: true, // VerifyConnection reads the certificate, then always aborts
		VerifyConnection: func(cs tls.ConnectionState) error {
			if len(cs.PeerCertificates) == 0 {
				return errors.New("the server presented no TLS certificate")
			}
			seen = ServerCert{Fingerprint: Fingerprint(cs.PeerCertificates[0].Raw), Verified: systemTrusts(cs, u.Hostname())}
			return errProbed
		},
	}}
	conn, err := d.DialContext(ctx, "tcp", addr)
	if err == nil { // cannot happen: VerifyConnection never lets it through
		conn.Close()
		return ServerCert{}, fmt.Errorf("read the certificate of %s: handshake was not stopped", rawURL)
	}
	if !errors.Is(err, errProbed) {
		return ServerCert{}, fmt.Errorf("read the certificate of %s: %w", rawURL, err)
	}
	return seen, nil
}

// systemTrusts says whether the system's CAs verify the presented chain for host.
func systemTrusts(cs tls.ConnectionState, host string) bool {
	inter := x509.NewCertPool()
	for _, c := range cs.PeerCertificates[1:] {
		inter.AddCert(c)
	}
	_, err := cs.PeerCertificates[0].Verify(x509.VerifyOptions{DNSName: host, Intermediates: inter})
	return err == nil
}
