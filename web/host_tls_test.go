package web

import (
	"encoding/json"
	"testing"
)

func TestProbe11HostShowsTLSFingerprint(t *testing.T) {
	s := newTestServer(t)
	const fp = "SHA256:01:23:45:67:89:ab:cd:ef:01:23:45:67:89:ab:cd:ef:01:23:45:67:89:ab:cd:ef:01:23:45:67:89:ab:cd:ef"
	s.opts.TLSFingerprint = fp // as appliance passes it when it serves HTTPS
	rec := do(t, s, "GET", "/api/v1/host", loopbackAddr, nil)
	var got struct {
		Accel          string `json:"accel"`
		TLSFingerprint string `json:"tls_fingerprint"`
	}
	if err := json.Unmarshal(rec.Body.Bytes(), &got); err != nil || rec.Code != 200 {
		t.Fatalf("GET /api/v1/host = %d %s (%v)", rec.Code, rec.Body, err)
	}
	if got.TLSFingerprint != fp || got.Accel != "tcg" {
		t.Errorf("host answer = %+v, want the host facts and tls_fingerprint %s", got, fp)
	}
}
