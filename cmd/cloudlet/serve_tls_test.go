package main

import (
	"os"
	"testing"

	"github.com/spf13/cobra"

	"cloudlet/appliance/host"
)

func TestProbe11ServeFlagsChooseHTTPSAndDoctorWarnsOfPlainHTTP(t *testing.T) {
	for _, tc := range []struct {
		args          []string
		wantTLS       bool
		wantDoctor    host.Status
		wantPlainWarn bool
	}{
		{args: []string{"--listen", "127.0.0.1:8080"}, wantDoctor: host.OK},
		{args: []string{"--listen", "127.0.0.1:8443", "--tls"}, wantTLS: true, wantDoctor: host.OK},
		{args: []string{"--listen", "0.0.0.0:8443"}, wantTLS: true, wantDoctor: host.OK},
		{args: []string{"--listen", "0.0.0.0:8080", "--insecure-http"}, wantDoctor: host.Warn, wantPlainWarn: true},
	} {
		g := &globals{output: "table", socket: "/run/cloudlet/cloudlet.sock"}
		var d daemonFlags
		cmd := &cobra.Command{Use: "serve"}
		d.register(cmd.Flags())
		cmd.Flags().StringVar(&g.socket, "socket", g.socket, "")
		if err := cmd.ParseFlags(append(tc.args, "--data-dir", t.TempDir(), "--run-dir", "/run/cloudlet")); err != nil {
			t.Fatal(err)
		}
		cfg, err := d.resolve(cmd, g)
		if err != nil {
			t.Fatal(err)
		}
		check := cfg.TLSCheck()
		if cfg.ServesTLS() != tc.wantTLS || cfg.PlainHTTPOffLoopback() != tc.wantPlainWarn || check.Status != tc.wantDoctor {
			t.Errorf("%v: HTTPS %v, plain off loopback %v, doctor %+v; want %v, %v, %s",
				tc.args, cfg.ServesTLS(), cfg.PlainHTTPOffLoopback(), check, tc.wantTLS, tc.wantPlainWarn, tc.wantDoctor)
		}
	}
}

func TestProbe11BannerSuggestsAReachableURL(t *testing.T) {
	name, _ := os.Hostname()
	for in, want := range map[string]string{
		"https://0.0.0.0:8443":   "https://" + name + ":8443",
		"https://[::]:8443":      "https://" + name + ":8443",
		"https://10.0.0.5:8443":  "https://10.0.0.5:8443",
		"https://127.0.0.1:8080": "https://127.0.0.1:8080",
		"https://cloud.lan:8443": "https://cloud.lan:8443",
	} {
		if got := reachableURL(in); got != want {
			t.Errorf("reachableURL(%s) = %s, want %s", in, got, want)
		}
	}
}
