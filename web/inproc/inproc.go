// Package inproc calls cloudlet's /api/v1 from inside the daemon: the dashboard (web/ui) and the
// OpenStack translation layer (web/openstack) are clients of the API like the CLI, so every call they
// make passes the same authentication, policy, quotas, validation and audit as any other.
package inproc

import (
	"io"
	"net/http"
	"sync"
)

// Transport is an http.RoundTripper that hands each request to the API's handler in this process.
// The answer streams (event streams and image downloads are never buffered whole): the handler runs
// in its own goroutine and writes into a pipe that the response body reads.
type Transport struct {
	API http.Handler
	// RemoteAddr is the RemoteAddr the API sees: the client's address for logins (rate limits are
	// per address), else a non-address, so no call is ever trusted for its transport.
	RemoteAddr string
}

// notAnAddress is the RemoteAddr of calls other than logins: it parses as no IP, so the API's
// loopback trust can never apply to a call that lacks a bearer token.
const notAnAddress = "in-process"

// RoundTrip serves req with the API's handler.
func (t Transport) RoundTrip(req *http.Request) (*http.Response, error) {
	r := req.Clone(req.Context())
	r.RemoteAddr, r.RequestURI = t.RemoteAddr, r.URL.RequestURI()
	if r.RemoteAddr == "" {
		r.RemoteAddr = notAnAddress
	}
	if r.Body == nil {
		r.Body = http.NoBody
	}
	pr, pw := io.Pipe()
	w := &pipeWriter{header: http.Header{}, body: pw, ready: make(chan struct{})}
	go func() {
		defer func() {
			w.sendHeader(http.StatusOK)
			_ = pw.Close()
		}()
		t.API.ServeHTTP(w, r)
	}()
	select {
	case <-w.ready:
	case <-req.Context().Done():
		_ = pr.CloseWithError(req.Context().Err())
		return nil, req.Context().Err()
	}
	return &http.Response{Status: http.StatusText(w.status), StatusCode: w.status, Header: w.sent,
		Body: pr, ContentLength: -1, Request: req, Proto: "HTTP/1.1", ProtoMajor: 1, ProtoMinor: 1}, nil
}

// pipeWriter is the API handler's ResponseWriter: the header goes out on the first write, flush or
// WriteHeader, the body through the pipe.
type pipeWriter struct {
	header http.Header
	body   *io.PipeWriter
	once   sync.Once
	ready  chan struct{}
	status int
	sent   http.Header
}

func (w *pipeWriter) Header() http.Header { return w.header }

func (w *pipeWriter) WriteHeader(code int) {
	if code >= 100 && code < 200 {
		return // informational answers are not relayed
	}
	w.sendHeader(code)
}

func (w *pipeWriter) sendHeader(code int) {
	w.once.Do(func() {
		w.status, w.sent = code, w.header.Clone()
		close(w.ready)
	})
}

func (w *pipeWriter) Write(p []byte) (int, error) {
	w.sendHeader(http.StatusOK)
	return w.body.Write(p)
}

// Flush makes the header visible; the pipe itself never holds back bytes.
func (w *pipeWriter) Flush() { w.sendHeader(http.StatusOK) }
