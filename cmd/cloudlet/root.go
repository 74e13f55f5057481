package main

import (
	"fmt"
	"io"
	"os"

	"github.com/spf13/cobra"

	"cloudlet/web/client"
)

// globals are the flags every client subcommand shares.
type globals struct {
	url    string
	token  string
	socket string
	output string
	stdout io.Writer
	stderr io.Writer
}

func newRootCmd(stdout, stderr io.Writer) *cobra.Command {
	g := &globals{stdout: stdout, stderr: stderr}
	root := &cobra.Command{
		Use:           "cloudlet",
		Short:         "cloudlet turns one Linux machine into a small cloud",
		SilenceErrors: true, // main prints the one error line
		SilenceUsage:  true,
		PersistentPreRunE: func(*cobra.Command, []string) error {
			if g.output != "table" && g.output != "json" {
				return fmt.Errorf("invalid --output %q: must be table or json", g.output)
			}
			return nil
		},
	}
	root.SetOut(stdout)
	root.SetErr(stderr)
	pf := root.PersistentFlags()
	pf.StringVar(&g.url, "url", os.Getenv("CLOUDLET_URL"), "API URL (default: the local unix socket)")
	pf.StringVar(&g.token, "token", "", "API token for --url (or $CLOUDLET_TOKEN)")
	pf.StringVar(&g.socket, "socket", client.DefaultSocket, "unix socket of the daemon")
	pf.StringVarP(&g.output, "output", "o", "table", "output format: table or json")
	root.AddCommand(newServeCmd(g), newVersionCmd(g), newDoctorCmd(g), newHostCmd(g), newBackupCmd(g),
		newFlavorCmd(g), newInstanceCmd(g), newImageCmd(g), newVolumeCmd(g), newPoolCmd(g), newNetworkCmd(g), newPortCmd(g), newSecurityGroupCmd(g),
		newFloatingIPCmd(g), newPortForwardCmd(g), newQuotaCmd(g))
	return root
}

// client returns an API client from the global flags.
func (g *globals) client() *client.Client {
	token := g.token
	if token == "" {
		token = os.Getenv("CLOUDLET_TOKEN")
	}
	return client.New(client.Options{URL: g.url, Token: token, Socket: g.socket})
}
