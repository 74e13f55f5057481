package main

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/spf13/cobra"

	"cloudlet/appliance/host"
)

func newDoctorCmd(g *globals) *cobra.Command {
	var d daemonFlags
	cmd := &cobra.Command{
		Use:   "doctor",
		Short: "check that this host can run cloudlet, and explain what is missing",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg, err := d.resolve(cmd, g)
			if err != nil {
				return err
			}
			checks := host.Doctor(cmd.Context(), host.SystemProbes(),
				host.DoctorInput{DataDir: cfg.DataDir, Listen: cfg.Listen, AccelMode: cfg.Accel, QEMUUser: cfg.QEMUUser})
			checks = append(checks, cfg.TLSCheck())
			if err := printChecks(g, checks); err != nil {
				return err
			}
			if host.Failed(checks) {
				return errors.New("doctor: some checks failed (see above)")
			}
			return nil
		},
	}
	cmd.SetContext(context.Background())
	d.register(cmd.Flags())
	return cmd
}

func printChecks(g *globals, checks []host.Check) error {
	rows := make([][]string, 0, len(checks))
	var hints []string
	for _, c := range checks {
		rows = append(rows, []string{strings.ToUpper(string(c.Status)), c.Name, c.Detail})
		if c.Hint != "" {
			hints = append(hints, fmt.Sprintf("  %s: %s", c.Name, c.Hint))
		}
	}
	if err := g.print(checks, []string{"STATUS", "CHECK", "DETAIL"}, rows); err != nil {
		return err
	}
	if g.output == "table" && len(hints) > 0 {
		fmt.Fprintf(g.stdout, "\nhints:\n%s\n", strings.Join(hints, "\n"))
	}
	return nil
}
