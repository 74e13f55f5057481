package images

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"cloudlet/internal/netguard"
)

// fetchConfig is how URL imports talk HTTP. Tests shorten the times and add a hosts table.
type fetchConfig struct {
	guard         netguard.Guard
	hosts         map[string]string // tests only: host name → IP, used instead of DNS
	attempts      int               // tries of one download, resumed or restarted
	retryDelay    time.Duration     // before the second try; doubled for each further one
	dialTimeout   time.Duration
	headerTimeout time.Duration // from the request sent to the response headers
	idleTimeout   time.Duration // without a byte of the body
	totalTimeout  time.Duration // the whole import, conversion included
	maxRedirects  int
	log           *slog.Logger // the detail of failed connections, at debug: callers see one generic error
	pace          paceConfig   // the minimum rate of the body
}

func defaultFetchConfig(o Options, log *slog.Logger) fetchConfig {
	return fetchConfig{
		guard: netguard.Guard{AllowPrivate: o.AllowPrivateURLs, Ports: importPorts(o.Import.AllowedPorts),
			Allowed: o.Import.AllowedCIDRs, Denied: o.Import.DeniedCIDRs, Setting: "image_import"},
		log:           log,
		pace:          paceOf(o.Import),
		attempts:      3,
		retryDelay:    2 * time.Second,
		dialTimeout:   30 * time.Second,
		headerTimeout: time.Minute,
		idleTimeout:   2 * time.Minute,
		totalTimeout:  24 * time.Hour,
		maxRedirects:  5,
	}
}

// importPorts are the ports URL imports connect to: ports, or 80 and 443 (Glance's default).
func importPorts(ports []int) []int {
	if len(ports) == 0 {
		return []int{80, 443}
	}
	return ports
}

// httpClient is a client for one import: no proxy (a proxy would be the address connected, and
// the check would be moot), the guarded dialer, no transparent decompression (the bytes are the
// image), bounded redirects to http or https only.
func (f fetchConfig) httpClient() *http.Client {
	tr := &http.Transport{
		Proxy:                 nil,
		DialContext:           f.dialer(),
		TLSHandshakeTimeout:   f.dialTimeout,
		ResponseHeaderTimeout: f.headerTimeout,
		DisableCompression:    true,
		ForceAttemptHTTP2:     true,
		MaxIdleConnsPerHost:   1,
	}
	return &http.Client{Transport: tr, CheckRedirect: func(req *http.Request, via []*http.Request) error {
		if len(via) > f.maxRedirects {
			return faultf(ErrInvalid, "more than %d redirects", f.maxRedirects)
		}
		return checkURL(req.URL, "redirect to")
	}}
}

// checkURL accepts http and https URLs with a host and without credentials.
func checkURL(u *url.URL, what string) error {
	switch {
	case u.Scheme != "http" && u.Scheme != "https":
		return faultf(ErrInvalid, "%s %s: only http and https URLs are fetched", what, quoteShort(safeURL(u)))
	case u.Host == "" || u.Opaque != "":
		return faultf(ErrInvalid, "%s %s: the URL has no host", what, quoteShort(safeURL(u)))
	case u.User != nil:
		return faultf(ErrInvalid, "%s %s: credentials in URLs are not supported", what, quoteShort(safeURL(u)))
	}
	return nil
}

// safeURL is u for messages: without credentials, query or fragment, which may carry secrets.
func safeURL(u *url.URL) string {
	v := url.URL{Scheme: u.Scheme, Host: u.Host, Path: u.Path, Opaque: u.Opaque}
	return v.String()
}

// download fetches u into k, trying up to f.attempts times. A retry after a cut-off body resumes
// with a Range request when the server said it accepts ranges and gave a validator; otherwise, or
// when the server answers the whole file anyway, it starts over.
func (f fetchConfig) download(ctx context.Context, u *url.URL, k *sink) error {
	client := f.httpClient()
	defer client.CloseIdleConnections()
	var res resumable
	var err error
	for attempt := 1; attempt <= f.attempts; attempt++ {
		if attempt > 1 {
			if werr := sleepCtx(ctx, f.retryDelay<<(attempt-2)); werr != nil {
				return fmt.Errorf("download %s: %w", safeURL(u), werr)
			}
		}
		var retry bool
		if retry, err = f.fetchOnce(ctx, client, u, k, &res); err == nil || !retry {
			return err
		}
	}
	return fmt.Errorf("gave up after %d attempts: %w", f.attempts, err)
}

// resumable is what a server told about the file, for a Range request after a cut-off.
type resumable struct {
	ranges    bool   // Accept-Ranges: bytes
	validator string // the ETag (strong) or Last-Modified, for If-Range
	total     int64  // the whole file's length, -1 when unknown
}

func (r *resumable) learn(resp *http.Response) {
	r.ranges = strings.EqualFold(strings.TrimSpace(resp.Header.Get("Accept-Ranges")), "bytes")
	r.validator = resp.Header.Get("Last-Modified")
	if etag := resp.Header.Get("ETag"); etag != "" && !strings.HasPrefix(etag, "W/") {
		r.validator = etag
	}
	r.total = resp.ContentLength
}

// fetchOnce makes one request and copies its body into k. retry says whether another attempt
// may help (a cut-off, a 5xx); refusals, 4xx answers, caps and a full disk are final.
func (f fetchConfig) fetchOnce(ctx context.Context, client *http.Client, u *url.URL, k *sink, res *resumable) (retry bool, err error) {
	actx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	req, err := http.NewRequestWithContext(actx, http.MethodGet, u.String(), nil)
	if err != nil {
		return false, faultf(ErrInvalid, "download %s: %v", quoteShort(safeURL(u)), err)
	}
	req.Header.Set("User-Agent", "cloudlet-image-import")
	resuming := k.n > 0 && res.ranges && res.validator != ""
	if resuming {
		req.Header.Set("Range", fmt.Sprintf("bytes=%d-", k.n))
		req.Header.Set("If-Range", res.validator)
	}
	resp, err := client.Do(req)
	if err != nil {
		return f.classify(ctx, u, err)
	}
	defer resp.Body.Close()
	if retry, err := f.accept(resp, u, k, res, resuming); err != nil {
		return retry, err
	}
	body := &idleReader{r: resp.Body, timer: time.AfterFunc(f.idleTimeout, func() { cancel(errIdle) }), idle: f.idleTimeout}
	defer body.timer.Stop()
	slow := time.AfterFunc(f.totalTimeout, func() { cancel(errTooSlow) }) // armed by the paced reader
	defer slow.Stop()
	in := f.pace.paced(body, "download of "+safeURL(u), func(d time.Time) { slow.Reset(time.Until(d)) })
	if _, err := io.CopyBuffer(k, in, make([]byte, copyBufferSize)); err != nil {
		var local *sinkError
		if errors.Is(err, errOverCap) || errors.Is(err, ErrTooSlow) || errors.As(err, &local) || ctx.Err() != nil {
			return false, err
		}
		return f.classifyBody(ctx, actx, u, k.n, err)
	}
	if res.total >= 0 && k.n != res.total {
		return true, faultf(ErrInvalid, "download %s: body ended after %d of %d bytes", quoteShort(safeURL(u)), k.n, res.total)
	}
	return false, nil
}

// accept checks the response status and decides whether the body continues k or replaces it.
func (f fetchConfig) accept(resp *http.Response, u *url.URL, k *sink, res *resumable, resuming bool) (retry bool, err error) {
	switch {
	case resuming && resp.StatusCode == http.StatusPartialContent && contentRangeStart(resp) == k.n:
		return false, nil
	case resp.StatusCode == http.StatusPartialContent: // not the range asked for: start over
		res.ranges = false
		return true, faultf(ErrInvalid, "download %s: the server answered a range that was not asked for", quoteShort(safeURL(u)))
	case resp.StatusCode == http.StatusOK:
		if k.n > 0 {
			if err := k.reset(); err != nil {
				return false, err
			}
		}
		res.learn(resp)
		if res.total > k.max {
			return false, overCap("download of "+safeURL(u), k.max)
		}
		return false, nil
	}
	err = faultf(ErrInvalid, "download %s: the server answered %s", quoteShort(safeURL(u)), resp.Status)
	return isRetryableStatus(resp.StatusCode), err
}

func isRetryableStatus(code int) bool {
	return code >= 500 || code == http.StatusTooManyRequests || code == http.StatusRequestTimeout
}

// contentRangeStart is the first byte of a 206 answer ("bytes 100-199/200"), or -1.
func contentRangeStart(resp *http.Response) int64 {
	v, ok := strings.CutPrefix(resp.Header.Get("Content-Range"), "bytes ")
	if !ok {
		return -1
	}
	start, _, _ := strings.Cut(v, "-")
	n, err := strconv.ParseInt(start, 10, 64)
	if err != nil {
		return -1
	}
	return n
}

// classify turns a failed request or body read into a final or retryable error. A redirect the
// service refuses (a scheme, too many) is final and says why. Every other failure to connect or to
// get an answer (a refused address or port, a closed port, no route, a timeout, DNS, TLS) gives
// one generic error, retried like any network error, so that neither its words nor the number of
// attempts tell one from another (no port-scan oracle); the detail goes to the debug log.
func (f fetchConfig) classify(ctx context.Context, u *url.URL, err error) (bool, error) {
	switch {
	case ctx.Err() != nil:
		return false, fmt.Errorf("download %s: %w", safeURL(u), ctx.Err())
	case errors.Is(err, ErrInvalid):
		return false, unwrapFault(err)
	}
	f.log.Debug("image import: connection failed", "url", safeURL(u), "err", err)
	return true, unreachable(u)
}

// unreachable is the one error for every refused or failed connection of a URL import.
func unreachable(u *url.URL) error {
	return faultf(ErrUnreachable, "download %s: could not connect to the server, or the address or port is not allowed for image imports",
		quoteShort(safeURL(u)))
}

// classifyBody turns a failed body read into a retryable error: the idle timeout says so, any other
// cut-off says how far the data came, without the network's words (logged at debug).
func (f fetchConfig) classifyBody(ctx, attempt context.Context, u *url.URL, n int64, err error) (bool, error) {
	switch {
	case ctx.Err() != nil:
		return false, fmt.Errorf("download %s: %w", safeURL(u), ctx.Err())
	case errors.Is(err, errIdle) || errors.Is(context.Cause(attempt), errIdle):
		return true, faultf(ErrInvalid, "download %s: no data for %s", quoteShort(safeURL(u)), f.idleTimeout)
	}
	f.log.Debug("image import: download cut off", "url", safeURL(u), "bytes", n, "err", err)
	return true, faultf(ErrInvalid, "download %s: cut off after %d bytes", quoteShort(safeURL(u)), n)
}

// unwrapFault returns the first *fault.Error-like error in err's chain that classifies it (the
// refusal inside url.Error), so the message is the service's own.
func unwrapFault(err error) error {
	for e := err; e != nil; e = errors.Unwrap(e) {
		if errors.Is(e, ErrInvalid) {
			if _, ok := e.(interface{ FaultKind() string }); ok {
				return e
			}
		}
	}
	return err
}

var (
	errIdle    = errors.New("no data received within the idle timeout")
	errTooSlow = errors.New("data received slower than the minimum rate")
)

// idleReader re-arms a timer on every read that returns data; the timer cancels the request.
type idleReader struct {
	r     io.Reader
	timer *time.Timer
	idle  time.Duration
}

func (r *idleReader) Read(p []byte) (int, error) {
	n, err := r.r.Read(p)
	if n > 0 {
		r.timer.Reset(r.idle)
	}
	return n, err
}

func sleepCtx(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}
