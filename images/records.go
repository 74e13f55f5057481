package images

import (
	"encoding/json"
	"fmt"

	"cloudlet/store"
)

// createRecord stores a new record and its event, within the project's image quota, and with at
// least need bytes of its image_gigabytes left (img.ReservedBytes, when it knows its size already).
func (s *Service) createRecord(img *Image, need int64) error {
	return s.db.Update(func(tx *store.Tx) error {
		if err := s.checkQuota(tx, img.ProjectID); err != nil {
			return err
		}
		if err := s.checkBytes(tx, img.ProjectID, "", need); err != nil {
			return err
		}
		if err := imageRecords.Create(tx, img); err != nil {
			return err
		}
		return imageEvent(tx, "image.created", img)
	})
}

// modify applies change to the stored record id in one transaction, so that concurrent changes
// of other fields (a member added while an import saves) never conflict, and returns the result.
// A status change is an image.state event in the same transaction, and settles the image's charge
// against the byte quota (settleBytes).
func (s *Service) modify(id string, change func(img *Image) error) (*Image, error) {
	var out *Image
	err := s.db.Update(func(tx *store.Tx) error {
		img, err := imageRecords.Get(tx, id)
		if err != nil {
			return err
		}
		before := img.Status
		if err := change(img); err != nil {
			return err
		}
		if err := s.settleBytes(tx, before, img); err != nil {
			return err
		}
		if err := imageRecords.Update(tx, img); err != nil {
			return err
		}
		out = img
		if img.Status != before {
			return imageEvent(tx, "image.state", img)
		}
		return nil
	})
	return out, err
}

// setStatus moves img to status in the catalog and refreshes *img from the stored record.
func (s *Service) setStatus(img *Image, status string) error {
	stored, err := s.modify(img.ID, func(rec *Image) error {
		rec.Status = status
		return nil
	})
	if err != nil {
		return fmt.Errorf("set image %s (%s) %s: %w", img.Name, img.ID, status, err)
	}
	*img = *stored
	return nil
}

// imageEventData is the data of image events.
type imageEventData struct {
	Name   string `json:"name"`
	Status string `json:"status"`
	Fault  string `json:"fault,omitempty"`
}

// imageEvent records a change of img on the event log in the caller's transaction.
func imageEvent(tx *store.Tx, typ string, img *Image) error {
	data, err := json.Marshal(imageEventData{Name: img.Name, Status: img.Status, Fault: img.Fault})
	if err != nil {
		return err
	}
	return store.AppendEvent(tx, &store.Event{Type: typ, Kind: "image", ID: img.ID, ProjectID: img.ProjectID, Data: data})
}
