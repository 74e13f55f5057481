package images

import (
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"net/url"
	"strings"

	"cloudlet/store"
)

// MaxURLLen bounds an import URL.
const MaxURLLen = 2048

// ImportURLRequest imports an image from an http or https URL.
type ImportURLRequest struct {
	CreateRequest
	URL      string // http or https, without credentials
	Checksum string // optional: the sha256 of the data at URL, hex
}

// ImportURL validates the request, records the image (queued) and starts the download in the
// background; it returns at once. The download connects only to addresses the service allows
// (never loopback or link-local, on every connection and redirect), is retried (resumed when the
// server supports ranges), checked against Checksum, then processed like an upload. Progress and
// the outcome are in the record: active, or killed with the reason in Fault.
func (s *Service) ImportURL(ctx context.Context, r ImportURLRequest) (*Image, error) {
	r.normalize()
	if err := r.validate("import image"); err != nil {
		return nil, err
	}
	u, err := parseImportURL(r.URL)
	if err != nil {
		return nil, fmt.Errorf("import image %s: %w", r.Name, err)
	}
	sum, err := parseChecksum(r.Checksum)
	if err != nil {
		return nil, fmt.Errorf("import image %s: %w", r.Name, err)
	}
	img := r.record(SourceURL)
	if err := s.createRecord(img, 1); err != nil {
		return nil, err
	}
	queued := *img
	err = s.goBackground(func(ctx context.Context) { s.runURLImport(ctx, &queued, u, sum) })
	if err != nil {
		s.purge(img.ID)
		return nil, err
	}
	return img, nil
}

// parseImportURL accepts an absolute http or https URL of bounded length.
func parseImportURL(raw string) (*url.URL, error) {
	if raw == "" {
		return nil, faultf(ErrInvalid, "a URL is required")
	}
	if len(raw) > MaxURLLen || !printable(raw) {
		return nil, faultf(ErrInvalid, "the URL must be at most %d printable characters", MaxURLLen)
	}
	u, err := url.Parse(raw)
	if err != nil {
		return nil, faultf(ErrInvalid, "the URL %s does not parse: %v", quoteShort(raw), err)
	}
	u.Scheme = strings.ToLower(u.Scheme)
	if err := checkURL(u, "import from"); err != nil {
		return nil, err
	}
	return u, nil
}

// parseChecksum accepts "" or 64 hex digits, returned in lower case.
func parseChecksum(sum string) (string, error) {
	if sum == "" {
		return "", nil
	}
	sum = strings.ToLower(strings.TrimPrefix(sum, "sha256:"))
	if b, err := hex.DecodeString(sum); err != nil || len(b) != 32 {
		return "", faultf(ErrInvalid, "checksum %s is not a sha256 (64 hex digits)", quoteShort(sum))
	}
	return sum, nil
}

// runURLImport is the background half of ImportURL.
func (s *Service) runURLImport(ctx context.Context, img *Image, u *url.URL, sum string) {
	ctx, cancel := context.WithTimeout(ctx, s.fetch.totalTimeout)
	defer cancel()
	ctx, end := s.flights.start(ctx, img.ID) // before the record says saving; ends after it says how it ended
	defer end()
	started, err := s.modify(img.ID, func(rec *Image) error {
		if rec.Status != StatusQueued {
			return faultf(ErrInvalidState, "image %s is %s", rec.Name, rec.Status)
		}
		rec.Status = StatusSaving
		return nil
	})
	if errors.Is(err, store.ErrNotFound) {
		return // deleted while queued
	}
	if err == nil {
		*img = *started
		err = s.receiveURL(ctx, img, u, sum)
	}
	if err != nil {
		err = s.kill(img, fmt.Errorf("import image %s from %s: %w", img.Name, safeURL(u), err))
		s.log.Warn("image import failed", "image", img.ID, "name", img.Name, "err", err)
	}
}

// receiveURL downloads u into the image's directory, checks the checksum and processes the data.
func (s *Service) receiveURL(ctx context.Context, img *Image, u *url.URL, sum string) error {
	dir, err := makeImageDir(s.dir, img.ID)
	if err != nil {
		return noSpace(err)
	}
	limit := s.dataCap(img)
	prog := s.newProgress(img.ID)
	k, err := s.newSink(dir, "download", limit, prog.report)
	if err != nil {
		return err
	}
	k.reserve = s.reserveFor(img.ID)
	if err := s.fetch.download(ctx, u, k); err != nil {
		k.discard()
		if errors.Is(err, errOverCap) {
			return overCap("download of "+safeURL(u), limit)
		}
		return err
	}
	data, err := k.finish(fileDisk)
	if err != nil {
		return err
	}
	if sum != "" && data.sha256 != sum {
		return faultf(ErrInvalid, "checksum mismatch: the data has sha256 %s, the request expected %s", data.sha256, sum)
	}
	if err := prog.write(data.size); err != nil {
		return err
	}
	return s.process(ctx, img, dir, data, nil)
}

// ImportURLInto starts the download of rawURL into one of projectID's queued images that waits for
// an upload (Glance's image import, web-download, into an image made first); from then on it goes
// as an ImportURL: the record says saving, then active or killed with the reason in Fault.
func (s *Service) ImportURLInto(ctx context.Context, projectID, idOrName, rawURL, checksum string) (*Image, error) {
	u, err := parseImportURL(rawURL)
	if err != nil {
		return nil, fmt.Errorf("import image %s: %w", quoteShort(idOrName), err)
	}
	sum, err := parseChecksum(checksum)
	if err != nil {
		return nil, fmt.Errorf("import image %s: %w", quoteShort(idOrName), err)
	}
	var img *Image
	err = s.db.Update(func(tx *store.Tx) error {
		if img, err = findOwned(tx, projectID, idOrName, "import its data"); err != nil {
			return err
		}
		if img.Source != SourceUpload || img.Status != StatusQueued {
			return faultf(ErrInvalidState, "image %s is %s: data can be imported only once, into a queued image", img.Name, img.Status)
		}
		img.Source = SourceURL
		return imageRecords.Update(tx, img)
	})
	if err != nil {
		return nil, err
	}
	queued := *img
	if err := s.goBackground(func(ctx context.Context) { s.runURLImport(ctx, &queued, u, sum) }); err != nil {
		return nil, s.kill(img, err)
	}
	return img, nil
}
