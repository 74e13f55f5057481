package main

import (
	"fmt"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"cloudlet/appliance/compute"
)

func newInstanceCmd(g *globals) *cobra.Command {
	cmd := &cobra.Command{Use: "instance", Aliases: []string{"server"}, Short: "virtual machines"}
	cmd.AddCommand(newInstanceCreateCmd(g), newInstanceListCmd(g), newInstanceShowCmd(g),
		newInstanceDeleteCmd(g), newConsoleLogCmd(g), newConsoleCmd(g), newInstanceWaitCmd(g),
		newInstanceStatsCmd(g))
	for _, a := range []struct{ verb, short string }{
		{"start", "boot a stopped instance"},
		{"stop", "power off (ACPI, then quit, then kill; --force kills at once)"},
		{"reboot", "restart the guest (--hard: reset at once)"},
		{"pause", "freeze the vcpus"},
		{"unpause", "resume the vcpus"},
		{"suspend", "save the guest's state to disk and stop QEMU"},
		{"resume", "restore a suspended guest"},
		{"rebuild", "give the instance a fresh root disk from its image (--image for another; --user-data, --password, --metadata replace the guest's)"},
		{"resize", "change a stopped instance's flavor (--flavor)"},
		{"eject", "empty the CD-ROM drives (an ISO install's last step): live, or for the next start"},
	} {
		cmd.AddCommand(newActionCmd(g, a.verb, a.short))
	}
	return cmd
}

func newInstanceCreateCmd(g *globals) *cobra.Command {
	var r compute.CreateRequest
	var guest guestFlags
	var noNetwork bool
	var wait string
	cmd := &cobra.Command{Use: "create NAME --image IMAGE --flavor FLAVOR", Short: "create and boot an instance",
		Args: readyArg(&wait),
		RunE: func(_ *cobra.Command, a []string) error {
			r.Name = a[0]
			if noNetwork {
				r.Networks = []string{} // sent as [], not omitted: no NIC on network default
			}
			generated, err := guest.applyCreate(&r)
			if err != nil {
				return err
			}
			var inst compute.Instance
			if err := g.call("POST", "/api/v1/instances", r, &inst); err != nil {
				return err
			}
			g.printGenerated(generated)
			return g.finishWaiting(&inst, wait)
		}}
	fs := cmd.Flags()
	fs.StringVar(&r.Image, "image", "", "image name or id (a boot volume is made from it; an ISO boots from a CD-ROM onto a blank disk of the flavor's size)")
	fs.StringSliceVar(&r.CDROMs, "cdrom", nil, "an ISO image (name or id) in another CD-ROM drive, e.g. drivers (repeatable)")
	fs.StringVar(&r.BootVolume, "boot-volume", "", "boot from this existing volume instead of an image")
	fs.StringSliceVar(&r.Ports, "port", nil, "an existing port to attach, name or id (repeatable; before --network's NICs; it outlives the instance)")
	fs.StringSliceVar(&r.Networks, "network", nil, "a network to attach, on a new port (repeatable; without --network and --port: network default if the project has one)")
	fs.BoolVar(&noNetwork, "no-network", false, "no NIC at all, not even one on network default")
	fs.StringSliceVar(&r.SecurityGroups, "security-group", nil, "a security group for its ports (repeatable; default: default)")
	fs.StringVar(&r.KeyName, "key", "", "a keypair of yours whose public key the guest will trust")
	fs.StringVar(&r.Flavor, "flavor", "m1.tiny", "flavor name or id")
	fs.BoolVar(&r.Autostart, "autostart", false, "start with the daemon (after a host reboot)")
	fs.IntVar(&r.AutostartOrder, "autostart-order", 0, "order among autostart instances (lower first)")
	fs.StringVar(&r.RestartPolicy, "restart-policy", "never", "never or on-crash")
	waitFlag(fs, &wait, "wait until the instance settles; --wait ready: until its guest is ready, then print the timeline")
	guest.add(fs, true)
	cmd.MarkFlagsMutuallyExclusive("network", "no-network")
	return cmd
}

func newActionCmd(g *globals, verb, short string) *cobra.Command {
	var wait, force, hard bool
	var args compute.ActionArgs
	var guest guestFlags
	cmd := &cobra.Command{Use: verb + " INSTANCE", Short: short, Args: cobra.ExactArgs(1),
		RunE: func(_ *cobra.Command, a []string) error {
			action := verb
			if (verb == "stop" && force) || (verb == "reboot" && hard) {
				action = "hard-" + verb
			}
			var generated string
			if verb == "rebuild" {
				var err error
				if generated, err = guest.applyRebuild(&args); err != nil {
					return err
				}
			}
			var inst compute.Instance
			path := "/api/v1/instances/" + url.PathEscape(a[0]) + "/" + action
			if err := g.call("POST", path, args, &inst); err != nil {
				return err
			}
			g.printGenerated(generated)
			return g.finish(&inst, wait)
		}}
	fs := cmd.Flags()
	fs.BoolVar(&wait, "wait", false, "wait until the action finishes")
	switch verb {
	case "stop":
		fs.BoolVar(&force, "force", false, "kill QEMU now instead of asking the guest")
	case "reboot":
		fs.BoolVar(&hard, "hard", false, "reset instead of asking the guest")
	case "rebuild":
		fs.StringVar(&args.Image, "image", "", "rebuild from this image instead")
		guest.add(fs, false)
	case "resize":
		fs.StringVar(&args.Flavor, "flavor", "", "the new flavor")
	}
	return cmd
}

func newInstanceDeleteCmd(g *globals) *cobra.Command {
	var wait bool
	cmd := &cobra.Command{Use: "delete INSTANCE", Short: "delete an instance and everything it has",
		Args: cobra.ExactArgs(1),
		RunE: func(_ *cobra.Command, a []string) error {
			var inst compute.Instance
			if err := g.call("DELETE", "/api/v1/instances/"+url.PathEscape(a[0]), nil, &inst); err != nil {
				return err
			}
			if !wait {
				return g.print(inst, instanceHeader, [][]string{instanceRow(&inst)})
			}
			return g.waitGone(inst.ID)
		}}
	cmd.Flags().BoolVar(&wait, "wait", false, "wait until it is gone")
	return cmd
}

func newInstanceListCmd(g *globals) *cobra.Command {
	return &cobra.Command{Use: "list", Short: "list instances", Args: cobra.NoArgs,
		RunE: func(*cobra.Command, []string) error {
			var out []*compute.Instance
			if err := g.call("GET", "/api/v1/instances", nil, &out); err != nil {
				return err
			}
			rows := make([][]string, 0, len(out))
			for _, i := range out {
				rows = append(rows, instanceRow(i))
			}
			return g.print(out, instanceHeader, rows)
		}}
}

func newInstanceShowCmd(g *globals) *cobra.Command {
	return &cobra.Command{Use: "show INSTANCE", Short: "show an instance: states, pid, addresses, boot timeline",
		Args: cobra.ExactArgs(1),
		RunE: func(_ *cobra.Command, a []string) error {
			var inst compute.InstanceDetail
			if err := g.call("GET", "/api/v1/instances/"+url.PathEscape(a[0]), nil, &inst); err != nil {
				return err
			}
			if inst.Instance == nil {
				return fmt.Errorf("show instance %s: empty answer", a[0])
			}
			rows := append(instanceDetail(inst.Instance), guestAgentDetail(inst.GuestAgent)...)
			return g.print(inst, []string{"FIELD", "VALUE"}, rows)
		}}
}

var instanceHeader = []string{"NAME", "VM STATE", "TASK", "POWER", "FLAVOR", "PID", "ID"}

func instanceRow(i *compute.Instance) []string {
	task := string(i.TaskState)
	if task == "" {
		task = "-"
	}
	return []string{i.Name, string(i.VMState), task, string(i.PowerState), i.Flavor.Name, pidString(i.PID), i.ID}
}

func pidString(pid int) string {
	if pid == 0 {
		return "-"
	}
	return strconv.Itoa(pid)
}

func instanceDetail(i *compute.Instance) [][]string {
	rows := [][]string{
		{"name", i.Name}, {"id", i.ID}, {"vm_state", string(i.VMState)}, {"task_state", string(i.TaskState)},
		{"power_state", string(i.PowerState)}, {"fault", i.Fault}, {"flavor", i.Flavor.Name},
		{"image", i.ImageID}, {"pid", pidString(i.PID)}, {"autostart", strconv.FormatBool(i.Autostart)},
		{"restart_policy", i.RestartPolicy},
	}
	var addrs []string
	for _, a := range i.Addresses {
		addrs = append(addrs, a.Network+"="+a.IP)
	}
	rows = append(rows, []string{"addresses", strings.Join(addrs, ", ")})
	if len(i.CDROMs) > 0 {
		rows = append(rows, []string{"cdroms", cdromList(i.CDROMs)})
	}
	rows = append(rows, guestDetail(i)...)
	rows = append(rows, readyDetail(i)...)
	var start time.Time
	for n, st := range i.Timeline {
		if n == 0 {
			start = st.At
		}
		rows = append(rows, []string{"timeline." + st.Name, fmt.Sprintf("+%s", st.At.Sub(start).Round(time.Millisecond))})
	}
	return rows
}

// cdromList names the images in the CD-ROM drives, the one booting marked.
func cdromList(cds []compute.CDROM) string {
	var out []string
	for _, cd := range cds {
		s := cd.ImageID
		if cd.Boot {
			s += " (boot)"
		}
		out = append(out, s)
	}
	return strings.Join(out, ", ")
}
