package main

import (
	"context"
	"fmt"
	"net/url"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"cloudlet/appliance/compute"
)

// What --wait and `instance wait` wait for.
const (
	waitNone    = ""
	waitSettled = "settled" // the instance's task ended (plain --wait)
	waitReady   = "ready"   // its guest said it is up: phone-home, console marker or agent
	waitGone    = "gone"    // it is deleted
)

// waitValue is --wait: alone it waits until the instance settles; --wait=ready (or --wait ready, the
// word taken from the arguments by readyArg) until its guest is ready.
type waitValue struct{ cond *string }

func (v waitValue) String() string { return *v.cond }
func (v waitValue) Type() string   { return "[ready]" }

func (v waitValue) Set(s string) error {
	switch s {
	case "true", waitSettled:
		*v.cond = waitSettled
	case "false":
		*v.cond = waitNone
	case waitReady:
		*v.cond = waitReady
	default:
		return fmt.Errorf("--wait %q: want nothing or ready", s)
	}
	return nil
}

// waitFlag defines --wait on fs, storing the condition in cond.
func waitFlag(fs *pflag.FlagSet, cond *string, usage string) {
	fs.Var(waitValue{cond}, "wait", usage)
	fs.Lookup("wait").NoOptDefVal = waitSettled
}

// readyArg accepts NAME, or NAME ready after a bare --wait ("create web --wait ready").
func readyArg(cond *string) cobra.PositionalArgs {
	return func(cmd *cobra.Command, args []string) error {
		if len(args) == 2 && args[1] == waitReady && *cond == waitSettled {
			*cond = waitReady
			return nil
		}
		return cobra.ExactArgs(1)(cmd, args)
	}
}

// finishWaiting prints the instance after waiting for cond.
func (g *globals) finishWaiting(inst *compute.Instance, cond string) error {
	if cond != waitReady {
		return g.finish(inst, cond != waitNone)
	}
	ready, err := g.waitReady(inst.ID)
	if err != nil {
		return err
	}
	return g.print(ready, []string{"FIELD", "VALUE"}, instanceDetail(ready))
}

// waitReady waits until the instance's guest is ready; an instance that settles stopped or in error
// first will not be, and says why.
func (g *globals) waitReady(id string) (*compute.Instance, error) {
	ctx, cancel := context.WithTimeout(context.Background(), waitLimit)
	defer cancel()
	var inst compute.Instance
	err := g.watchInstance(ctx, id, func() (bool, error) {
		inst = compute.Instance{}
		if err := g.client().Do(ctx, "GET", "/api/v1/instances/"+url.PathEscape(id), nil, &inst); err != nil {
			return false, err
		}
		if inst.ReadyAt != nil {
			return true, nil
		}
		if inst.TaskState == compute.TaskNone && inst.VMState != compute.VMActive && inst.VMState != compute.VMBuilding {
			return false, fmt.Errorf("instance %s is %s/%s, not booting: it will not be ready %s", inst.Name, inst.VMState, inst.PowerState, inst.Fault)
		}
		return false, nil
	})
	if err != nil {
		return nil, fmt.Errorf("wait for instance %s to be ready: %w", id, err)
	}
	return &inst, nil
}

func newInstanceWaitCmd(g *globals) *cobra.Command {
	return &cobra.Command{Use: "wait INSTANCE ready|settled|gone",
		Short: "wait until the guest is ready (phone-home, console marker or agent), the task ends, or it is deleted",
		Args:  cobra.ExactArgs(2),
		RunE: func(_ *cobra.Command, a []string) error {
			var inst compute.Instance
			if err := g.call("GET", "/api/v1/instances/"+url.PathEscape(a[0]), nil, &inst); err != nil {
				return err
			}
			switch a[1] {
			case waitReady, waitSettled:
				return g.finishWaiting(&inst, a[1])
			case waitGone:
				return g.waitGone(inst.ID)
			}
			return fmt.Errorf("wait for %q: want ready, settled or gone", a[1])
		}}
}

// readyDetail are the readiness rows of instance show.
func readyDetail(i *compute.Instance) [][]string {
	at := "-"
	if i.ReadyAt != nil {
		at = i.ReadyAt.Format(time.RFC3339Nano)
		if i.LaunchedAt != nil {
			at += fmt.Sprintf(" (+%s after launch)", i.ReadyAt.Sub(*i.LaunchedAt).Round(time.Millisecond))
		}
	}
	return [][]string{{"ready_at", at}, {"ready_via", i.ReadyVia}}
}
