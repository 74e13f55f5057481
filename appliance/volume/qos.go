package volume

import (
	"context"
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

// SetQoS validates and records a volume's limits; DiskFor carries them to the disk at its
// instance's next start. Applying them to a running guest first (block_set_io_throttle) is the
// caller's part, through compute.
func (s *Service) SetQoS(_ context.Context, projectID, idOrName string, q QoS) (*Volume, error) {
	if err := q.Validate(); err != nil {
		return nil, err
	}
	v, err := s.change(projectID, idOrName, func(tx *store.Tx, v *Volume) error {
		v.QoS = q
		return appendEvent(tx, "volume.qos", "volume", v.ID, v.ProjectID, q)
	})
	if err != nil {
		return nil, fmt.Errorf("set qos of volume %s: %w", idOrName, err)
	}
	return v, nil
}
