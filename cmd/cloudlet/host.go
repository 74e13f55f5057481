package main

import (
	"context"
	"fmt"
	"time"

	"github.com/spf13/cobra"

	"cloudlet/appliance/host"
)

func newHostCmd(g *globals) *cobra.Command {
	return &cobra.Command{
		Use:   "host",
		Short: "show the daemon's host: version, uptime, accelerator, QEMU, disk, TLS fingerprint",
		Args:  cobra.NoArgs,
		RunE: func(*cobra.Command, []string) error {
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			var info struct {
				host.Info
				TLSFingerprint string `json:"tls_fingerprint,omitempty"`
			}
			if err := g.client().Do(ctx, "GET", "/api/v1/host", nil, &info); err != nil {
				return err
			}
			rows := [][]string{
				{"version", info.Version},
				{"uptime", (time.Duration(info.UptimeSeconds) * time.Second).String()},
				{"accel", info.Accel + warning(info.AccelWarning)},
				{"qemu", info.QEMU.Version + info.QEMU.Error},
				{"qemu-img", info.QEMUImg.Version + info.QEMUImg.Error},
				{"data dir", info.DataDir},
				{"disk free", fmt.Sprintf("%d of %d bytes", info.Disk.FreeBytes, info.Disk.TotalBytes)},
				{"catalog", fmt.Sprintf("%d bytes", info.CatalogBytes)},
				{"tls fingerprint", orNone(info.TLSFingerprint, "none (plain HTTP)")},
			}
			return g.print(info, []string{"FIELD", "VALUE"}, rows)
		},
	}
}

func orNone(s, none string) string {
	if s == "" {
		return none
	}
	return s
}

func warning(w string) string {
	if w == "" {
		return ""
	}
	return " (" + w + ")"
}
