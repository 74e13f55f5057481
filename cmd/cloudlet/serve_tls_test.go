package main

import (
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
