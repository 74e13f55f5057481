package images

import (
	"context"
	"fmt"
	"os"
)

// Download opens the disk file of an active image projectID may see, for streaming to a client.
// The caller closes the file; the record says its size and sha256.
func (s *Service) Download(ctx context.Context, projectID, idOrName string) (*os.File, *Image, error) {
	img, err := s.Get(ctx, projectID, idOrName)
	if err != nil {
		return nil, nil, err
	}
	if img.Status != StatusActive {
		return nil, nil, faultf(ErrNotActive, "image %s is %s: only active images can be downloaded", img.Name, img.Status)
	}
	f, err := os.Open(s.file(img.ID, fileDisk))
	if err != nil {
		return nil, nil, fmt.Errorf("open disk of image %s (%s): %w", img.Name, img.ID, err)
	}
	return f, img, nil
}
