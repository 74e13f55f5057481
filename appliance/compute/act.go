package compute

import (
	"context"
	"fmt"

	"cloudlet/store"
)

// ActionArgs are the optional arguments of an action.
type ActionArgs struct {
	Flavor string `json:"flavor,omitempty"` // resize: the new flavor
	Image  string `json:"image,omitempty"`  // rebuild: another image (default: the same one)
	// rebuild, as Nova's: what is given replaces the guest's user-data, password or metadata; the rest stays
	UserData string            `json:"user_data,omitempty"` // base64
	Password string            `json:"password,omitempty"`
	Metadata map[string]string `json:"metadata,omitempty"`
}

// Act starts action a on an instance: the legality check, the capacity claim and the task_state change
// happen in one transaction; the work itself is queued to the instance's supervisor, so the caller gets
// the instance in its transitional state at once (202) and never waits on QEMU.
func (s *Service) Act(ctx context.Context, projectID, idOrName string, a Action, args ActionArgs) (*Instance, error) {
	r, ok := rules[a]
	if !ok {
		return nil, errInvalid("unknown action %q", a)
	}
	cmd := command{action: a, accepted: s.now()}
	if err := s.prepareArgs(ctx, projectID, idOrName, a, args, &cmd); err != nil {
		return nil, err
	}
	var guest guestFields
	if a == ActRebuild {
		var err error
		if guest, err = parseGuestFields(args.UserData, args.Password, args.Metadata); err != nil {
			return nil, err
		}
	}
	var inst *Instance
	err := s.db.Update(func(tx *store.Tx) (err error) {
		if inst, err = instances.Lookup(tx, projectID, idOrName); err != nil {
			return err
		}
		if err := checkResize(inst, cmd.flavor); err != nil {
			return err
		}
		if f := cmd.flavor; f != nil { // a resize: only a larger flavor needs room in the quotas
			if err := s.checkQuota(tx, inst.ProjectID, 0, f.VCPUs-inst.Flavor.VCPUs, f.RAMMiB-inst.Flavor.RAMMiB); err != nil {
				return err
			}
		}
		if a == ActRebuild && inst.BootFromVolume {
			return errConflict("cannot rebuild instance %s: it boots from a volume you gave, which holds your data", inst.Name)
		}
		if a == ActRebuild && inst.BlankBoot && cmd.image == nil {
			return errConflict("cannot rebuild instance %s from its image: that is the ISO it was installed from; rebuild it onto a disk image (image)", inst.Name)
		}
		if a == ActRebuild {
			if err := r.check(a, inst); err != nil {
				return err
			}
			if err := applyGuestFields(tx, inst, guest, true); err != nil {
				return err
			}
		}
		return s.begin(tx, inst, a, r)
	})
	if err != nil {
		return nil, fmt.Errorf("%s instance %s: %w", a, idOrName, err)
	}
	if r.anyTask {
		s.interrupt(inst.ID)
	}
	if err := s.submit(inst.ID, cmd); err != nil {
		return nil, err
	}
	return inst, nil
}

// begin checks the rule, claims capacity when needed and writes the task state, in tx.
func (s *Service) begin(tx *store.Tx, inst *Instance, a Action, r rule) error {
	if err := r.check(a, inst); err != nil {
		return err
	}
	if r.needsHost {
		if err := s.admit(tx, inst.ID, inst.Flavor); err != nil {
			return err
		}
	}
	transition{VM: inst.VMState, Task: r.task, Power: inst.PowerState, Fault: inst.Fault}.apply(inst)
	if err := instances.Update(tx, inst); err != nil {
		return err
	}
	return appendEvent(tx, "instance.state", "instance", inst.ID, inst.ProjectID,
		stateEventOf(inst))
}

// prepareArgs resolves the arguments of resize and rebuild before any state changes.
func (s *Service) prepareArgs(ctx context.Context, projectID, idOrName string, a Action, args ActionArgs, cmd *command) error {
	switch a {
	case ActResize:
		if args.Flavor == "" {
			return errInvalid("resize needs a flavor")
		}
		f, err := s.Flavor(ctx, args.Flavor)
		if err != nil {
			return errInvalid("unknown flavor %q", args.Flavor)
		}
		cmd.flavor = f
	case ActDelete:
		inst, err := s.Get(ctx, projectID, idOrName)
		if err != nil {
			return fmt.Errorf("delete instance %s: %w", idOrName, err)
		}
		_, err = s.checkDelete(ctx, inst) // the supervisor decides again which volumes it keeps
		return err
	case ActRebuild:
		if args.Image == "" {
			return nil
		}
		img, err := s.o.Images(ctx, projectID, args.Image)
		if err != nil {
			return errInvalid("unknown image %q", args.Image)
		}
		if img.ISO {
			return errInvalid("cannot rebuild onto image %q: it is an ISO; create an instance from it to install", args.Image)
		}
		cmd.image = &img
	}
	return nil
}

// Delete starts deleting an instance: it pre-empts whatever task runs and frees everything.
func (s *Service) Delete(ctx context.Context, projectID, idOrName string) (*Instance, error) {
	return s.Act(ctx, projectID, idOrName, ActDelete, ActionArgs{})
}

// Get reads one instance from the catalog (never from QEMU).
func (s *Service) Get(_ context.Context, projectID, idOrName string) (*Instance, error) {
	var inst *Instance
	err := s.db.View(func(tx *store.Tx) (err error) {
		inst, err = instances.Lookup(tx, projectID, idOrName)
		return err
	})
	return inst, err
}

// List reads a project's instances ("" = all projects) from the catalog.
func (s *Service) List(_ context.Context, projectID string) ([]*Instance, error) {
	var out []*Instance
	err := s.db.View(func(tx *store.Tx) (err error) {
		out, err = instances.List(tx, projectID)
		return err
	})
	return out, err
}

// checkResize refuses a resize that would shrink the root disk (qcow2 cannot shrink safely under a guest).
func checkResize(inst *Instance, f *Flavor) error {
	if f != nil && f.DiskGiB < inst.Flavor.DiskGiB {
		return errInvalid("cannot resize instance %s to flavor %s: its %d GiB disk is smaller than the current %d GiB",
			inst.Name, f.Name, f.DiskGiB, inst.Flavor.DiskGiB)
	}
	return nil
}
