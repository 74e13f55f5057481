package webhook

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
	"syscall"
	"time"

	"cloudlet/internal/netguard"
	"cloudlet/store"
)

// The headers of a delivery.
const (
	HeaderSignature = "X-Cloudlet-Signature" // sha256=<hex HMAC-SHA256 of the body with the secret>
	HeaderEvent     = "X-Cloudlet-Event"     // the event type
	HeaderEventSeq  = "X-Cloudlet-Event-Seq" // the event's sequence number (its ID in the log)
	HeaderDelivery  = "X-Cloudlet-Delivery"  // one ID per event and webhook, the same on every retry
)

// Sign returns the X-Cloudlet-Signature value of body under secret.
func Sign(secret string, body []byte) string {
	m := hmac.New(sha256.New, []byte(secret))
	m.Write(body)
	return "sha256=" + hex.EncodeToString(m.Sum(nil))
}

func eventBody(e store.Event) []byte {
	b, err := json.Marshal(e)
	if err != nil { // a store.Event always encodes
		panic(fmt.Sprintf("webhook: encode event %d: %v", e.Seq, err))
	}
	return b
}

// newClient is the deliveries' HTTP client: no proxy (the guard must see the address connected),
// the guard on every connection, at most maxRedirects redirects, each to http or https only.
func (s *Service) newClient() *http.Client {
	d := &net.Dialer{Timeout: s.opts.Timeout, Control: func(network, address string, _ syscall.RawConn) error {
		return s.check(network, address)
	}}
	tr := &http.Transport{Proxy: nil, DialContext: d.DialContext, TLSHandshakeTimeout: s.opts.Timeout,
		ForceAttemptHTTP2: true, MaxIdleConnsPerHost: 2, IdleConnTimeout: time.Minute}
	return &http.Client{Transport: tr, CheckRedirect: func(req *http.Request, via []*http.Request) error {
		if len(via) > maxRedirects {
			return fmt.Errorf("more than %d redirects", maxRedirects)
		}
		if err := checkParsedURL(req.URL); err != nil {
			return fmt.Errorf("redirect to %s: %w (%w)", req.URL.Redacted(), netguard.ErrBlocked, err)
		}
		return nil
	}}
}

// attempt POSTs body once and says how it went. 2xx is delivered; a connection failure, a timeout,
// 408, 429 or 5xx is retried; any other answer (other 4xx, a redirect not followed) is not; an
// address the guard refuses is blocked, never retried.
func (s *Service) attempt(ctx context.Context, t target, e store.Event, body []byte, id string, n int) Delivery {
	d := Delivery{Time: time.Now().UTC(), DeliveryID: id, EventSeq: e.Seq, EventType: e.Type, Attempt: n}
	ctx, cancel := context.WithTimeout(ctx, s.opts.Timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, t.url, bytes.NewReader(body))
	if err != nil {
		d.Outcome, d.Error = OutcomeFailed, err.Error()
		return d
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "cloudlet-webhook/1")
	req.Header.Set(HeaderSignature, Sign(t.secret, body))
	req.Header.Set(HeaderEvent, e.Type)
	req.Header.Set(HeaderEventSeq, strconv.FormatUint(e.Seq, 10))
	req.Header.Set(HeaderDelivery, id)
	start := time.Now()
	resp, err := s.client.Do(req)
	if err == nil {
		io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
		resp.Body.Close()
	}
	d.DurationMS = time.Since(start).Milliseconds()
	d.Outcome = outcome(resp, err)
	if err != nil {
		d.Error = err.Error()
	} else {
		d.StatusCode = resp.StatusCode
	}
	return d
}

func outcome(resp *http.Response, err error) string {
	switch {
	case errors.Is(err, netguard.ErrBlocked):
		return OutcomeBlocked
	case err != nil:
		return OutcomeRetrying
	case resp.StatusCode >= 200 && resp.StatusCode < 300:
		return OutcomeDelivered
	case resp.StatusCode == http.StatusRequestTimeout || resp.StatusCode == http.StatusTooManyRequests || resp.StatusCode >= 500:
		return OutcomeRetrying
	}
	return OutcomeFailed
}
