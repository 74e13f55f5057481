package images

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"

	"cloudlet/appliance/fault"
	"cloudlet/store"
)

// Create records an image without data: status queued, waiting for Upload.
func (s *Service) Create(ctx context.Context, r CreateRequest) (*Image, error) {
	r.normalize()
	if err := r.validate("create image"); err != nil {
		return nil, err
	}
	img := r.record(SourceUpload)
	if err := s.createRecord(img, 1); err != nil {
		return nil, err
	}
	return img, nil
}

// Upload streams body into a queued image of projectID and processes it like any import: status
// saving with bytes_received as it goes, then inspection (and conversion or unpacking), then
// active. The body is copied to a temporary file in the image's directory while it is hashed,
// never held in memory; it may be at most Options.MaxUploadBytes long (and no longer than the
// format's cap). On failure the image is killed with the reason in Fault and its files removed;
// the error says why. An image that is not queued answers ErrInvalidState.
func (s *Service) Upload(ctx context.Context, projectID, idOrName string, body io.Reader) (*Image, error) {
	if body == nil {
		body = strings.NewReader("")
	}
	img, ctx, end, err := s.beginUpload(ctx, projectID, idOrName)
	if err != nil {
		return nil, err
	}
	defer end()
	if err := s.receiveUpload(ctx, img, body); err != nil {
		if errors.Is(context.Cause(ctx), errDeleted) {
			err = errDeleted
		}
		return nil, s.kill(img, fmt.Errorf("upload image %s: %w", img.Name, err))
	}
	return img, nil
}

// beginUpload moves a queued image to saving, in one transaction so that two uploads (or an
// upload and a delete) cannot both win, and registers the upload for Delete to cancel: its
// context, and the function to call once the record says how it ended.
func (s *Service) beginUpload(ctx context.Context, projectID, idOrName string) (*Image, context.Context, func(), error) {
	var img *Image
	end := func() {}
	err := s.db.Update(func(tx *store.Tx) error {
		var err error
		if img, err = findOwned(tx, projectID, idOrName, "upload its data"); err != nil {
			return err
		}
		if img.Source != SourceUpload {
			return faultf(ErrInvalidState, "image %s is imported from a %s: it takes no upload", img.Name, img.Source)
		}
		if img.Status != StatusQueued {
			return faultf(ErrInvalidState, "image %s is %s: data can be uploaded only once, to a queued image", img.Name, img.Status)
		}
		ctx, end = s.flights.start(ctx, img.ID) // before the record says saving
		img.Status, img.BytesReceived, img.Source = StatusSaving, 0, SourceUpload
		if err := imageRecords.Update(tx, img); err != nil {
			return err
		}
		return imageEvent(tx, "image.state", img)
	})
	if err != nil {
		end()
	}
	return img, ctx, end, err
}

// receiveUpload copies the body into the image's directory and processes it.
func (s *Service) receiveUpload(ctx context.Context, img *Image, body io.Reader) error {
	dir, err := makeImageDir(s.dir, img.ID)
	if err != nil {
		return noSpace(err)
	}
	limit := s.dataCap(img)
	prog := s.newProgress(img.ID)
	k, err := s.newSink(dir, "upload", limit, prog.report)
	if err != nil {
		return err
	}
	k.reserve = s.reserveFor(img.ID)
	in, done := s.uploadReader(ctx, body)
	_, err = io.CopyBuffer(k, in, make([]byte, copyBufferSize))
	done()
	if err != nil {
		k.discard()
		return s.readFailed("upload", limit, err)
	}
	data := k.finishLater(fileDisk) // its fsync overlaps the inspection; install waits for it
	if err := prog.write(data.size); err != nil {
		return err
	}
	return s.process(ctx, img, dir, data, nil)
}

// dataCap is how many bytes may be received for img.
func (s *Service) dataCap(img *Image) int64 {
	if img.ContainerFormat == ContainerOVA {
		return s.maxUpload
	}
	return min(s.maxUpload, s.diskFileCap(img.DiskFormat))
}

// readFailed classifies a failed copy of received data: over the cap (ours or the web layer's),
// a failure on cloudlet's side (a full disk keeps its kind), the context's end, or data cut off by
// the sender.
func (s *Service) readFailed(what string, limit int64, err error) error {
	var mbe *http.MaxBytesError
	var local *sinkError
	switch {
	case errors.Is(err, errOverCap) || errors.As(err, &mbe):
		return overCap(what, limit)
	case errors.Is(err, ErrTooSlow):
		return err
	case errors.As(err, &local):
		return local.err
	case errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded):
		return fmt.Errorf("%s cancelled: %w", what, err)
	}
	return faultf(ErrInvalid, "%s cut off: %v", what, err)
}

// removeDir removes an image's directory and everything in it.
func (s *Service) removeDir(id string) error {
	if err := os.RemoveAll(filepath.Join(s.dir, id)); err != nil {
		return fmt.Errorf("remove files of image %s: %w", id, err)
	}
	return nil
}

// faultText is what a killed image's Fault says: the message of a caller-facing error, or a
// short internal one without the host's paths.
func (s *Service) faultText(err error) string {
	switch {
	case errors.Is(err, context.Canceled):
		return "import cancelled (the client went away or the daemon is stopping)"
	case fault.KindOf(err) != fault.Internal:
		return err.Error()
	}
	return "internal error: " + strings.ReplaceAll(err.Error(), s.dir, "<images>")
}
