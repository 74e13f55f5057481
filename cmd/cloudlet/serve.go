package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"cloudlet/appliance"
)

// daemonFlags are the flags that shape a Config; serve and doctor share them.
type daemonFlags struct {
	config, dataDir, runDir, listen, accel, logLevel, qemuUser string
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
	fmt.Fprintf(g.stdout, "  local socket:      %s\n", cfg.Socket)
	fmt.Fprintf(g.stdout, "  data dir:          %s\n", cfg.DataDir)
	fmt.Fprint(g.stdout, adminPasswordLine(writesToTerminal(g.stdout), a.AdminPassword(), cfg.AdminPasswordPath()))
	fmt.Fprintf(g.stdout, "  try:               %s --socket %s host\n", os.Args[0], cfg.Socket)
}
