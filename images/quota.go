package images

import (
	"context"
	"fmt"

	"cloudlet/appliance/fault"
	"cloudlet/store"
)

// Quota checks a project's limits inside the write transaction that changes what it uses (the
// identity service's quotas, wired in appliance). Options.Quota nil means no quotas.
type Quota interface {
	Check(tx *store.Tx, projectID, resource string, inUse, requested int64) error
	// Limit is the project's limit of resource, -1 for none: a stream of unknown length needs to
	// know how much is left, not only whether a given amount fits.
	Limit(tx *store.Tx, projectID, resource string) (int64, error)
}

// The quota resources the image service counts: a project's images, whatever their status (an
// import in progress holds its place), and the bytes they take in GiB (Glance's
// user_storage_quota): an active image its stored disk, a saving one what it reserved.
const (
	QuotaImages         = "images"
	QuotaImageGigabytes = "image_gigabytes"
)

// reserveBytes is how far ahead of the data a saving image reserves bytes of its project's quota:
// one catalog write per 64 MiB received.
const reserveBytes = 64 << 20

// checkQuota refuses, in tx, one more image for a project past its limit.
func (s *Service) checkQuota(tx *store.Tx, projectID string) error {
	if s.quota == nil {
		return nil
	}
	n, err := imageRecords.Count(tx, projectID)
	if err != nil {
		return err
	}
	return s.quota.Check(tx, projectID, QuotaImages, int64(n), 1)
}

// chargedBytes is what img counts against its project's image_gigabytes: the bytes it reserved
// while it is being imported, its stored disk once active (and while its delete removes it).
func chargedBytes(img *Image) int64 {
	switch img.Status {
	case StatusQueued, StatusSaving:
		return max(img.ReservedBytes, img.Size)
	case StatusActive, StatusDeleted:
		return img.Size
	}
	return 0
}

// usedBytes adds up what projectID's images are charged, leaving out image except.
func usedBytes(tx *store.Tx, projectID, except string) (int64, error) {
	imgs, err := imageRecords.List(tx, projectID)
	if err != nil {
		return 0, err
	}
	var n int64
	for _, img := range imgs {
		if img.ID != except {
			n += chargedBytes(img)
		}
	}
	return n, nil
}

// byteUse is a project's image_gigabytes in bytes: its limit (-1: none) and what is in use.
type byteUse struct{ limit, used int64 }

// fits reports whether need more bytes fit within the limit.
func (u byteUse) fits(need int64) bool { return u.limit < 0 || u.used+need <= u.limit }

// bytesOf reads projectID's byteUse in tx, leaving out image except.
func (s *Service) bytesOf(tx *store.Tx, projectID, except string) (byteUse, error) {
	if s.quota == nil {
		return byteUse{limit: -1}, nil
	}
	limit, err := s.quota.Limit(tx, projectID, QuotaImageGigabytes)
	if err != nil {
		return byteUse{}, err
	}
	used, err := usedBytes(tx, projectID, except)
	if limit >= 0 {
		limit *= s.quotaUnit
	}
	return byteUse{limit: limit, used: used}, err
}

// checkBytes refuses, in tx, need more bytes for projectID's image except (or a new one: "")
// past the project's image_gigabytes.
func (s *Service) checkBytes(tx *store.Tx, projectID, except string, need int64) error {
	if need <= 0 {
		return nil
	}
	u, err := s.bytesOf(tx, projectID, except)
	if err != nil || u.fits(need) {
		return err
	}
	return s.overQuota(u, need)
}

// overQuota is the error for need bytes more than u allows, in the words of the other quotas.
func (s *Service) overQuota(u byteUse, need int64) error {
	return faultf(ErrQuota, "quota exceeded for %s: limit %d (%d bytes), in use %d bytes, requested %d bytes more",
		QuotaImageGigabytes, u.limit/s.quotaUnit, u.limit, u.used, need)
}

// reserveFor returns the reservation hook of a saving image's sink: it grows the image's reserved
// bytes to cover total, and reserveStep more while the quota allows, in the transaction that counts
// everything else the project holds, so parallel imports never share the same free space. Past
// what is left, the stream is cut with ErrQuota; an image no longer saving stops it too.
func (s *Service) reserveFor(id string) func(total int64) (int64, error) {
	return func(total int64) (int64, error) {
		var granted int64
		err := s.db.Update(func(tx *store.Tx) error {
			img, err := imageRecords.Get(tx, id)
			if err != nil {
				return err
			}
			if img.Status != StatusSaving {
				return faultf(ErrInvalidState, "image %s is %s: its import stopped", img.Name, img.Status)
			}
			u, err := s.bytesOf(tx, img.ProjectID, img.ID)
			if err != nil {
				return err
			}
			if !u.fits(total) {
				return s.overQuota(u, total)
			}
			granted = total + s.reserveStep
			if u.limit >= 0 {
				granted = min(granted, u.limit-u.used)
			}
			img.ReservedBytes = granted
			return imageRecords.Update(tx, img)
		})
		if err != nil && fault.KindOf(err) == fault.Internal {
			return 0, fmt.Errorf("reserve %d bytes for image %s: %w", total, id, err)
		}
		return granted, err
	}
}

// holdFor makes sure the sink's reservation covers n more bytes before it writes them.
func (k *sink) holdFor(n int64) error {
	if k.reserve == nil || k.n+n <= k.reserved {
		return nil
	}
	r, err := k.reserve(k.n + n)
	if err != nil {
		return &sinkError{err}
	}
	k.reserved = r
	return nil
}

// settleBytes keeps img's charge right as modify changes its status from before: an image that
// becomes active is charged its stored disk instead of its reservation (checked against the quota
// when that is more: a conversion can grow the data); one that ends otherwise drops its reservation.
func (s *Service) settleBytes(tx *store.Tx, before string, img *Image) error {
	if img.Status == before || img.Status == StatusSaving || img.Status == StatusQueued {
		return nil
	}
	reserved := img.ReservedBytes
	img.ReservedBytes = 0
	if img.Status != StatusActive || img.Size <= reserved {
		return nil
	}
	return s.checkBytes(tx, img.ProjectID, img.ID, img.Size)
}

// Usage counts a project's images and the GiB they take (rounded up), for the quota report.
func (s *Service) Usage(_ context.Context, projectID string) (map[string]int64, error) {
	var n int
	var bytes int64
	err := s.db.View(func(tx *store.Tx) (err error) {
		if n, err = imageRecords.Count(tx, projectID); err != nil {
			return err
		}
		bytes, err = usedBytes(tx, projectID, "")
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("count images of project %s: %w", projectID, err)
	}
	return map[string]int64{QuotaImages: int64(n), QuotaImageGigabytes: (bytes + s.quotaUnit - 1) / s.quotaUnit}, nil
}
