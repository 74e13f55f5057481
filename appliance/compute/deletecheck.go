package compute

import (
	"context"
	"fmt"
	"slices"
)

// VolumeDeleteCheck is the volume service's answer, changing nothing, to whether a volume could be
// deleted once nothing uses it (it refuses while snapshots or volumes based on them depend on it).
type VolumeDeleteCheck interface {
	CheckDelete(ctx context.Context, projectID, volumeID string) error
}

// checkDelete refuses a delete that would fail half way, before anything is touched: every volume that
// goes with the instance (delete_on_termination, or the boot volume made from its image) must be
// deletable. Otherwise its ports would be released and its volumes detached before the volume's
// delete was refused, leaving it in error with neither.
func (s *Service) checkDelete(ctx context.Context, inst *Instance) error {
	if s.o.VolumeCheck == nil {
		return nil
	}
	vols, err := s.volumesOf(ctx, inst.ID)
	if err != nil {
		return fmt.Errorf("delete instance %s: %w", inst.Name, err)
	}
	for _, v := range vols {
		if !deletedWith(inst, v) {
			continue
		}
		if err := s.o.VolumeCheck.CheckDelete(ctx, inst.ProjectID, v.ID); err != nil {
			return fmt.Errorf("cannot delete instance %s: its volume %s would be deleted with it: %w", inst.Name, v.Name, err)
		}
	}
	return nil
}

// volumesOf lists every volume of the instance: attached, and reserved for it (a boot volume not
// attached yet, an attach a crash cut short).
func (s *Service) volumesOf(ctx context.Context, id string) ([]Volume, error) {
	vols, err := s.o.Volumes.AttachedTo(ctx, id)
	if err != nil {
		return nil, err
	}
	reserved, err := s.o.Volumes.Reservations(ctx, id)
	if err != nil {
		return nil, err
	}
	for _, v := range reserved {
		if !slices.ContainsFunc(vols, func(a Volume) bool { return a.ID == v.ID }) {
			vols = append(vols, v)
		}
	}
	return vols, nil
}

// deletedWith reports whether v goes when inst is deleted: marked delete_on_termination, or the boot
// volume compute made from its image.
func deletedWith(inst *Instance, v Volume) bool {
	return v.DeleteOnTermination || (v.Boot && !inst.BootFromVolume)
}
