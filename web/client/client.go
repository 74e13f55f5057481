// Package client is the Go client of cloudlet's REST API v1, used by the CLI and by end-to-end tests.
// It speaks to the daemon over its unix socket (the default; root there is admin) or over HTTP(S)
// with a bearer token. It imports nothing from the project and never imports echo.
package client

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"time"
)

// DefaultSocket is where a root daemon listens by default.
const DefaultSocket = "/run/cloudlet/cloudlet.sock"

// ProjectHeader names the project an admin acts on, when not the project of its token.
const ProjectHeader = "X-Cloudlet-Project"

// Options say how to reach the daemon: URL (with Token) when set, else the unix Socket.
type Options struct {
	URL     string
	Token   string // sent as "Authorization: Bearer" when set
	Socket  string
	Project string        // sent as ProjectHeader when set
	Timeout time.Duration // per request; 0 means none (streams)

	// How an https URL's server is trusted: Fingerprint (as Fingerprint returns it) accepts exactly
	// that certificate; else CA verifies against those CAs; else the system's CAs do.
	Fingerprint string
	CA          *x509.CertPool

	// Transport, when set, carries every request instead of a socket or TCP (the dashboard calls the
	// API in process through it); URL then only names the daemon in error messages.
	Transport http.RoundTripper
}

// Client calls the API.
type Client struct {
	base    string
	token   string
	project string
	where   string // for error messages
	http    *http.Client
}

// New returns a client for o.
func New(o Options) *Client {
	if o.Transport != nil {
		return &Client{base: "http://cloudlet", token: o.Token, project: o.Project, where: "in process",
			http: &http.Client{Timeout: o.Timeout, Transport: o.Transport}}
	}
	if o.URL != "" {
		hc := &http.Client{Timeout: o.Timeout}
		if tc := tlsConfig(o); tc != nil {
			t := http.DefaultTransport.(*http.Transport).Clone()
			t.TLSClientConfig = tc
			hc.Transport = t
		}
		return &Client{base: strings.TrimRight(o.URL, "/"), token: o.Token, project: o.Project, where: o.URL, http: hc}
	}
	sock := o.Socket
	if sock == "" {
		sock = DefaultSocket
	}
	dial := func(ctx context.Context, _, _ string) (net.Conn, error) {
		return (&net.Dialer{}).DialContext(ctx, "unix", sock)
	}
	return &Client{base: "http://cloudlet", token: o.Token, project: o.Project, where: "unix socket " + sock,
		http: &http.Client{Timeout: o.Timeout, Transport: &http.Transport{DialContext: dial}}}
}

// Error is an error answer from the API.
type Error struct {
	Code    int
	Message string
}

func (e *Error) Error() string { return fmt.Sprintf("%s (HTTP %d)", e.Message, e.Code) }

// Do sends in (JSON, when not nil) and decodes the answer into out (when not nil).
func (c *Client) Do(ctx context.Context, method, path string, in, out any) error {
	resp, err := c.send(ctx, method, path, in)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if out == nil {
		_, _ = io.Copy(io.Discard, resp.Body)
		return nil
	}
	if err := json.NewDecoder(resp.Body).Decode(out); err != nil {
		return fmt.Errorf("%s %s: decode answer: %w", method, path, err)
	}
	// Read what follows the JSON (its newline): a server that writes it separately, such as the API
	// answering the dashboard in process, must not find the body closed under it.
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	return nil
}

// Stream sends a request and returns the raw answer body for the caller to read and close.
func (c *Client) Stream(ctx context.Context, method, path string) (io.ReadCloser, error) {
	resp, err := c.send(ctx, method, path, nil)
	if err != nil {
		return nil, err
	}
	return resp.Body, nil
}

// SendRaw sends a request whose body is raw bytes (size of them, -1 when unknown) and returns the
// answer for the caller to read and close; an error answer is an *Error. The dashboard streams
// image uploads through it.
func (c *Client) SendRaw(ctx context.Context, method, path string, body io.Reader, size int64) (*http.Response, error) {
	req, err := http.NewRequestWithContext(ctx, method, c.base+path, body)
	if err != nil {
		return nil, fmt.Errorf("%s %s: %w", method, path, err)
	}
	req.ContentLength = size
	req.Header.Set("Content-Type", "application/octet-stream")
	return c.do(req)
}

func (c *Client) send(ctx context.Context, method, path string, in any) (*http.Response, error) {
	var body io.Reader
	if in != nil {
		b, err := json.Marshal(in)
		if err != nil {
			return nil, fmt.Errorf("%s %s: encode request: %w", method, path, err)
		}
		body = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, c.base+path, body)
	if err != nil {
		return nil, fmt.Errorf("%s %s: %w", method, path, err)
	}
	if in != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	return c.do(req)
}

// do sends req, authorized, and turns transport failures and error answers into errors.
func (c *Client) do(req *http.Request) (*http.Response, error) {
	c.Authorize(req)
	resp, err := c.http.Do(req)
	var pinErr *FingerprintError
	if errors.As(err, &pinErr) {
		return nil, fmt.Errorf("cloudlet at %s: %w", c.where, pinErr)
	}
	var verifyErr *tls.CertificateVerificationError
	if errors.As(err, &verifyErr) {
		return nil, fmt.Errorf("cloudlet at %s presents a TLS certificate this client does not trust: %w; "+
			"trust it by fingerprint with cloudlet login --url %s, or verify it with --ca-file", c.where, verifyErr, c.where)
	}
	if err != nil {
		return nil, fmt.Errorf("cannot reach cloudlet at %s (is the daemon running?): %w", c.where, unwrapURLError(err))
	}
	if resp.StatusCode >= 400 {
		defer resp.Body.Close()
		return nil, decodeError(resp)
	}
	return resp, nil
}

// HTTPClient is the client's own HTTP client (its transport reaches the socket or trusts the pinned
// certificate), for requests Do does not fit, such as raw image streams.
func (c *Client) HTTPClient() *http.Client { return c.http }

// Authorize sets the headers that say who is calling (the bearer token) and for which project.
func (c *Client) Authorize(req *http.Request) {
	if c.token != "" {
		req.Header.Set("Authorization", "Bearer "+c.token)
	}
	if c.project != "" {
		req.Header.Set(ProjectHeader, c.project)
	}
}

func decodeError(resp *http.Response) error {
	var eb struct {
		Error Error `json:"error"`
	}
	b, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	if err := json.Unmarshal(b, &eb); err != nil || eb.Error.Message == "" {
		return &Error{Code: resp.StatusCode, Message: strings.TrimSpace(string(b))}
	}
	eb.Error.Code = resp.StatusCode
	return &eb.Error
}

func unwrapURLError(err error) error {
	var ue interface{ Unwrap() error }
	if errors.As(err, &ue) {
		if inner := ue.Unwrap(); inner != nil {
			return inner
		}
	}
	return err
}
