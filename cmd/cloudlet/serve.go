package main

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/signal"
	"strings"
	"syscall"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"cloudlet/appliance"
)

// daemonFlags are the flags that shape a Config; serve and doctor share them.
type daemonFlags struct {
	config, dataDir, runDir, listen, accel, logLevel, qemuUser string
	firstStartImage                                            string
	tls, insecureHTTP                                          bool
}

func (d *daemonFlags) register(fs *pflag.FlagSet) {
	def := appliance.DefaultConfig()
	fs.StringVar(&d.config, "config", "", "JSON config file (flags override it)")
	fs.StringVar(&d.dataDir, "data-dir", def.DataDir, "persistent state: catalog, images, pools, instances")
	fs.StringVar(&d.runDir, "run-dir", def.RunDir, "runtime state: sockets, pidfiles")
	fs.StringVar(&d.listen, "listen", def.Listen, "TCP address of the API and dashboard")
	fs.StringVar(&d.accel, "accel", def.Accel, "accelerator: auto, kvm or tcg")
	fs.StringVar(&d.logLevel, "log-level", def.LogLevel, "debug, info, warn or error")
	fs.StringVar(&d.qemuUser, "qemu-user", def.QEMUUser, "unprivileged user QEMU runs as; it must exist (root: run QEMU as root, explicitly)")
	fs.BoolVar(&d.tls, "tls", def.TLS, "serve HTTPS on a loopback --listen too (any other address always serves HTTPS)")
	fs.StringVar(&d.firstStartImage, "first-start-image", "",
		"NAME=PATH: import this qcow2 disk as a public image on the first start (make run passes the test guest as tiny)")
	fs.BoolVar(&d.insecureHTTP, "insecure-http", def.InsecureHTTP,
		"serve plain HTTP on a non-loopback --listen: passwords and tokens cross the network in clear text")
}

// resolve builds the Config: defaults, then the config file, then the flags the user set.
func (d *daemonFlags) resolve(cmd *cobra.Command, g *globals) (appliance.Config, error) {
	cfg := appliance.DefaultConfig()
	if d.config != "" {
		if err := appliance.LoadConfigFile(d.config, &cfg); err != nil {
			return cfg, err
		}
	}
	set := func(name string, dst *string, v string) {
		if cmd.Flags().Changed(name) {
			*dst = v
		}
	}
	set("data-dir", &cfg.DataDir, d.dataDir)
	set("run-dir", &cfg.RunDir, d.runDir)
	set("listen", &cfg.Listen, d.listen)
	set("accel", &cfg.Accel, d.accel)
	set("log-level", &cfg.LogLevel, d.logLevel)
	set("qemu-user", &cfg.QEMUUser, d.qemuUser)
	set("socket", &cfg.Socket, g.socket)
	set("first-start-image", &cfg.FirstStartImage, d.firstStartImage)
	if cmd.Flags().Changed("tls") {
		cfg.TLS = d.tls
	}
	if cmd.Flags().Changed("insecure-http") {
		cfg.InsecureHTTP = d.insecureHTTP
	}
	cfg.Version = version
	return cfg, cfg.Normalize()
}

func newServeCmd(g *globals) *cobra.Command {
	var d daemonFlags
	cmd := &cobra.Command{
		Use:   "serve",
		Short: "run the cloudlet daemon in the foreground",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg, err := d.resolve(cmd, g)
			if err != nil {
				return err
			}
			return serve(cfg, g)
		},
	}
	d.register(cmd.Flags())
	return cmd
}

func serve(cfg appliance.Config, g *globals) error {
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	a, err := appliance.New(cfg)
	if err != nil {
		return err
	}
	printBanner(g, a)
	runErr := a.Run(ctx)
	return errors.Join(runErr, a.Close())
}

func printBanner(g *globals, a *appliance.Appliance) {
	cfg := a.Config()
	fmt.Fprintf(g.stdout, "cloudlet %s is running\n", version)
	fmt.Fprintf(g.stdout, "  API and dashboard: %s\n", a.URL())
	printTLS(g, a)
	fmt.Fprintf(g.stdout, "  local socket:      %s\n", cfg.Socket)
	fmt.Fprintf(g.stdout, "  data dir:          %s\n", cfg.DataDir)
	fmt.Fprint(g.stdout, adminPasswordLine(writesToTerminal(g.stdout), a.AdminPassword(), cfg.AdminPasswordPath()))
	if img := a.FirstStartImage(); img != "" {
		fmt.Fprintf(g.stdout, "  first image:       %s (public: log in and launch it)\n", img)
	}
	fmt.Fprintf(g.stdout, "  try:               %s --socket %s host\n", os.Args[0], cfg.Socket)
}

// printTLS says how clients trust the API, or warns that it crosses the network in clear text.
func printTLS(g *globals, a *appliance.Appliance) {
	cfg := a.Config()
	if fp := a.TLSFingerprint(); fp != "" {
		fmt.Fprintf(g.stdout, "  TLS fingerprint:   %s\n", fp)
		fmt.Fprintf(g.stdout, "  log in with:       %s login --url %s --user admin --fingerprint %s\n", os.Args[0], reachableURL(a.URL()), fp)
	}
	if cfg.PlainHTTPOffLoopback() {
		fmt.Fprintf(g.stdout, "  WARNING:           plain HTTP on %s (insecure_http): passwords and tokens cross the network in clear text\n", cfg.Listen)
	}
}

// reachableURL names this host instead of an address that listens everywhere (0.0.0.0, ::), which
// another machine cannot connect to.
func reachableURL(u string) string {
	scheme, hostPort, ok := strings.Cut(u, "://")
	host, port, err := net.SplitHostPort(hostPort)
	if !ok || err != nil {
		return u
	}
	if ip := net.ParseIP(host); ip == nil || !ip.IsUnspecified() {
		return u
	}
	name, err := os.Hostname()
	if err != nil || name == "" {
		return u
	}
	return scheme + "://" + net.JoinHostPort(name, port)
}
