package main

import (
	"fmt"
	"io"
	"os"
	"time"

	"github.com/spf13/cobra"

	"cloudlet/web/client"
)

// globals are the flags every client subcommand shares.
type globals struct {
	url     string
	token   string
	socket  string
	project string // an admin's X-Cloudlet-Project; login's token project
	output  string
	stdout  io.Writer
	stderr  io.Writer

	conn connection // resolved before an API command runs (connect.go)
}

func newRootCmd(stdout, stderr io.Writer) *cobra.Command {
	g := &globals{stdout: stdout, stderr: stderr}
	root := &cobra.Command{
		Use:           "cloudlet",
		Short:         "cloudlet turns one Linux machine into a small cloud",
		SilenceErrors: true, // main prints the one error line
		SilenceUsage:  true,
		PersistentPreRunE: func(cmd *cobra.Command, _ []string) error {
			if g.output != "table" && g.output != "json" {
				return fmt.Errorf("invalid --output %q: must be table or json", g.output)
			}
			if !needsConnection(cmd) {
				return nil
			}
			var err error
			g.conn, err = g.resolveConnection(cmd.Flags().Changed("socket"), time.Now())
			return err
		},
	}
	root.SetOut(stdout)
	root.SetErr(stderr)
	pf := root.PersistentFlags()
	pf.StringVar(&g.url, "url", os.Getenv("CLOUDLET_URL"), "API URL (default: your last cloudlet login, else the local unix socket)")
	pf.StringVar(&g.token, "token", "", "API token (or $CLOUDLET_TOKEN; default: the one cloudlet login stored for the URL)")
	pf.StringVar(&g.socket, "socket", client.DefaultSocket, "unix socket of the daemon (given: use it even if logged in)")
	pf.StringVar(&g.project, "project", "", "project to act on (admins; sent as "+client.ProjectHeader+"); for login, the token's project")
	pf.StringVarP(&g.output, "output", "o", "table", "output format: table or json")
	root.AddCommand(newServeCmd(g), newVersionCmd(g), newDoctorCmd(g), newHostCmd(g), newBackupCmd(g),
		newFlavorCmd(g), newInstanceCmd(g), newImageCmd(g), newVolumeCmd(g), newPoolCmd(g), newNetworkCmd(g), newPortCmd(g), newSecurityGroupCmd(g),
		newFloatingIPCmd(g), newPortForwardCmd(g), newQuotaCmd(g),
		newLoginCmd(g), newLogoutCmd(g), newProjectCmd(g), newUserCmd(g), newRoleCmd(g), newTokenCmd(g),
		newCredentialCmd(g), newKeypairCmd(g), newWebhookCmd(g),
		newEventsCmd(g))
	return root
}
