package volume

import (
	"context"
	"errors"
	"fmt"

	"cloudlet/store"
)

// QoS limits a volume's I/O; zero means unlimited.
type QoS struct {
	ReadIOPS      int64 `json:"read_iops,omitempty"`
	WriteIOPS     int64 `json:"write_iops,omitempty"`
	ReadBytesSec  int64 `json:"read_bytes_sec,omitempty"`
	WriteBytesSec int64 `json:"write_bytes_sec,omitempty"`
}

// Bounds on QoS values: beyond them a limit is a typo, and QEMU's own cap is 1e15.
const (
	MaxIOPS     = 10_000_000
	MaxBytesSec = 1 << 40 // 1 TiB/s
)

// Validate checks that every limit is between 0 and its bound.
func (q QoS) Validate() error {
	for _, c := range []struct {
		what   string
		v, max int64
	}{
		{"read_iops", q.ReadIOPS, MaxIOPS},
		{"write_iops", q.WriteIOPS, MaxIOPS},
		{"read_bytes_sec", q.ReadBytesSec, MaxBytesSec},
		{"write_bytes_sec", q.WriteBytesSec, MaxBytesSec},
	} {
		if c.v < 0 || c.v > c.max {
			return faultf(ErrInvalid, "qos %s must be between 0 (unlimited) and %d, not %d", c.what, c.max, c.v)
		}
	}
	return nil
}

// SetQoS validates and records a volume's limits. For an in-use volume Live.Throttle applies them
// to the running guest first; an instance that is not running gets them from DiskFor at its next
// start.
func (s *Service) SetQoS(ctx context.Context, projectID, idOrName string, q QoS) (*Volume, error) {
	if err := q.Validate(); err != nil {
		return nil, err
	}
	v, err := s.Get(ctx, projectID, idOrName)
	if err != nil {
		return nil, fmt.Errorf("set qos of volume %s: %w", idOrName, err)
	}
	if v.Attachment != nil && v.Status != StatusReserved {
		if s.live == nil {
			return nil, faultf(ErrUnavailable, "cannot set qos of volume %s: it is in use and no live driver is configured", v.Name)
		}
		if err := s.live.Throttle(ctx, v.Attachment.InstanceID, v.ID, q); err != nil && !errors.Is(err, ErrNotRunning) {
			return nil, fmt.Errorf("set qos of volume %s: %w", v.Name, err)
		}
	}
	v, err = s.change("", v.ID, func(tx *store.Tx, v *Volume) error {
		v.QoS = q
		return appendEvent(tx, "volume.qos", "volume", v.ID, v.ProjectID, q)
	})
	if err != nil {
		return nil, fmt.Errorf("set qos of volume %s: %w", idOrName, err)
	}
	return v, nil
}
