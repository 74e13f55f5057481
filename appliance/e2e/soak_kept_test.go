package e2e

import (
	"fmt"
	"slices"

	"cloudlet/appliance/compute"
)

// keptVolumesAreRecordsWithTheirReason: the boot volume of an instance whose delete finished is gone,
// or was kept by the delete (it has snapshots, as Nova keeps it; or a delete cut short after its detach
// left it available and someone attached it to another instance before the delete's next run): then it
// is available and attached to nothing, or in use by another instance, and an instance.volume_kept event
// about the instance names it.
func (s *soak) keptVolumesAreRecordsWithTheirReason(vols []soakVolume) {
	s.readKeptEvents()
	for inst, volID := range s.gone {
		i := slices.IndexFunc(vols, func(v soakVolume) bool { return v.ID == volID })
		if volID == "" || i < 0 {
			continue
		}
		v := vols[i]
		free := v.Status == "available" && v.Attachment == nil
		elsewhere := v.Status == "in-use" && v.Attachment != nil && v.Attachment.InstanceID != inst
		if !free && !elsewhere {
			s.orphan("boot volume %s of deleted instance %s is %s (attachment %+v), want it gone or kept available", v.Name, inst, v.Status, v.Attachment)
		}
		if !slices.Contains(s.kept[inst], volID) {
			s.orphan("boot volume %s outlived deleted instance %s without an instance.volume_kept event saying why", v.Name, inst)
		}
	}
	clear(s.gone)
}

// readKeptEvents reads the events since the last read and notes the volumes each instance delete kept.
func (s *soak) readKeptEvents() {
	for {
		var events []struct {
			Seq  uint64
			Type string
			ID   string
			Data struct {
				VolumeID string `json:"volume_id"`
			}
		}
		if err := s.c.Do("GET", fmt.Sprintf("/api/v1/events?since=%d&limit=%d", s.seenSeq, soakEventPage), nil, &events); err != nil {
			s.t.Fatalf("list events: %v", err)
		}
		for _, e := range events {
			s.seenSeq = max(s.seenSeq, e.Seq)
			if e.Type == "instance.volume_kept" {
				s.kept[e.ID] = append(s.kept[e.ID], e.Data.VolumeID)
			}
		}
		if len(events) < soakEventPage {
			return
		}
	}
}

// soakEventPage is how many events the harness asks for at a time (the API's most).
const soakEventPage = 5000

// everyBootVolumeIsNamedByItsInstanceOrKept: a boot volume compute made (root-<instance id prefix>)
// whose instance still exists is that instance's boot volume, the one a cut-short rebuild is replacing,
// one still attached to it (a rebuild cut short before it recorded its new one: the next rebuild or
// the delete takes it), or one a rebuild kept with an instance.volume_kept event; never detached and
// named by no one.
func (s *soak) everyBootVolumeIsNamedByItsInstanceOrKept(insts []compute.Instance, vols []soakVolume) {
	for _, v := range vols {
		for _, i := range insts {
			if v.Name != "root-"+i.ID[:8] {
				continue
			}
			attached := v.Attachment != nil && v.Attachment.InstanceID == i.ID
			if v.ID != i.BootVolumeID && v.ID != i.ReplacedBootVolumeID && !attached && !slices.Contains(s.kept[i.ID], v.ID) {
				s.orphan("boot volume %s (%s) of instance %s is neither its boot volume nor kept with a reason", v.Name, v.Status, i.Name)
			}
		}
	}
}
