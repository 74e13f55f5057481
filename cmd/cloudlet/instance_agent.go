package main

import (
	"strings"
	"time"

	"cloudlet/appliance/compute"
)

// guestAgentDetail are instance show's rows of what the guest's QEMU guest agent last said: none
// without an agent, or while it is stopped.
func guestAgentDetail(g *compute.GuestInfo) [][]string {
	if g == nil {
		return nil
	}
	rows := [][]string{{"guest_agent.hostname", g.Hostname}, {"guest_agent.os", g.OS}}
	for _, in := range g.Interfaces {
		rows = append(rows, []string{"guest_agent.addresses." + in.Interface,
			strings.TrimSpace(in.MAC + " " + strings.Join(in.IPs, ", "))})
	}
	return append(rows, []string{"guest_agent.updated_at", g.UpdatedAt.UTC().Format(time.RFC3339)})
}
