package main

import (
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"cloudlet/appliance/webhook"
)

const webhooksPath = "/api/v1/webhooks"

var (
	webhookHeader  = []string{"ID", "NAME", "URL", "EVENTS"}
	deliveryHeader = []string{"TIME", "EVENT", "TYPE", "ATTEMPT", "OUTCOME", "STATUS", "DURATION", "ERROR"}
)

func webhookRow(w *webhook.Webhook) []string {
	return []string{w.ID, w.Name, w.URL, strings.Join(w.Events, ",")}
}

func deliveryRow(d *webhook.Delivery) []string {
	status := ""
	if d.StatusCode != 0 {
		status = strconv.Itoa(d.StatusCode)
	}
	return []string{d.Time.Local().Format(time.RFC3339), strconv.FormatUint(d.EventSeq, 10), d.EventType,
		strconv.Itoa(d.Attempt), d.Outcome, status, (time.Duration(d.DurationMS) * time.Millisecond).String(), d.Error}
}

func newWebhookCmd(g *globals) *cobra.Command {
	cmd := &cobra.Command{Use: "webhook", Short: "signed HTTP POSTs of the project's events to a URL"}
	cmd.AddCommand(newWebhookCreateCmd(g),
		&cobra.Command{Use: "deliveries WEBHOOK", Short: "a webhook's delivery log (the last attempts, oldest first)",
			Args: cobra.ExactArgs(1),
			RunE: func(_ *cobra.Command, a []string) error {
				return listResource(g, itemPath(webhooksPath, a[0])+"/deliveries", deliveryHeader, deliveryRow)
			}})
	cmd.AddCommand(crudCommands(g, "webhook", webhooksPath, webhookHeader, webhookRow)...)
	return cmd
}

func newWebhookCreateCmd(g *globals) *cobra.Command {
	var name, secretFile string
	var events []string
	cmd := &cobra.Command{Use: "create URL --event PATTERN... [--name NAME] [--secret-file FILE]",
		Short: "create a webhook; its signing secret is printed once (generated unless --secret-file gives one)",
		Args:  cobra.ExactArgs(1),
		RunE: func(_ *cobra.Command, a []string) error {
			in := map[string]any{"url": a[0], "events": events, "name": name}
			if secretFile != "" {
				b, err := os.ReadFile(secretFile)
				if err != nil {
					return fmt.Errorf("read secret: %w", err)
				}
				in["secret"] = strings.TrimSpace(string(b))
			}
			return g.createWebhook(in)
		}}
	cmd.Flags().StringVar(&name, "name", "", "a name, unique in the project")
	cmd.Flags().StringArrayVar(&events, "event", nil, `event types to deliver: "instance.*", "volume.created", "*" (repeat)`)
	cmd.Flags().StringVar(&secretFile, "secret-file", "", "read the signing secret from this file instead of generating one")
	return cmd
}

// createWebhook prints the new webhook and, once, its secret (the daemon never shows it again).
func (g *globals) createWebhook(in map[string]any) error {
	var w webhook.Webhook
	raw, err := g.fetch("POST", webhooksPath, in, &w)
	if err != nil {
		return err
	}
	if g.output == "json" {
		return g.printJSON(raw)
	}
	if err := g.printTable(webhookHeader, [][]string{webhookRow(&w)}); err != nil {
		return err
	}
	fmt.Fprintln(g.stderr, "The signing secret is shown once; the daemon never shows it again. Save it now.")
	_, err = fmt.Fprintf(g.stdout, "secret: %s\n", w.Secret)
	return err
}
