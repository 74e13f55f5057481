package e2e

import (
	"fmt"
	"slices"
)

// keptVolumesAreRecordsWithTheirReason: the boot volume of an instance whose delete finished is gone,
// or was kept by the delete (it has snapshots, as Nova keeps it): then it is available, attached to
// nothing, and an instance.volume_kept event about the instance names it.
func (s *soak) keptVolumesAreRecordsWithTheirReason(vols []soakVolume) {
	s.readKeptEvents()
	for inst, volID := range s.gone {
		i := slices.IndexFunc(vols, func(v soakVolume) bool { return v.ID == volID })
		if volID == "" || i < 0 {
			continue
		}
		v := vols[i]
		if v.Status != "available" || v.Attachment != nil {
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
		if err := s.c.do("GET", fmt.Sprintf("/api/v1/events?since=%d&limit=%d", s.seenSeq, soakEventPage), nil, &events); err != nil {
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
