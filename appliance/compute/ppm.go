package compute

import (
	"bufio"
	"errors"
	"fmt"
	"image"
	"io"
)

// ppmHeaderMax bounds the header of a PPM: magic, width, height and maxval with their whitespace.
const ppmHeaderMax = 64

// maxPPMBytes is the largest binary PPM of at most maxPixels pixels with 8-bit samples.
func maxPPMBytes(maxPixels int) int64 { return int64(maxPixels)*3 + ppmHeaderMax }

// decodePPM decodes a binary PPM (P6, maxval 255: what QEMU's screendump writes) of at most
// maxPixels pixels. Anything else — another magic, a maxval other than 255, huge or zero
// dimensions, comments, a truncated raster — is an error, found before the raster is allocated.
func decodePPM(r io.Reader, maxPixels int) (image.Image, error) {
	br := bufio.NewReader(io.LimitReader(r, maxPPMBytes(maxPixels)))
	magic := make([]byte, 2)
	if _, err := io.ReadFull(br, magic); err != nil || string(magic) != "P6" {
		return nil, errors.New("decode ppm: not a binary PPM (magic P6)")
	}
	var dims [3]int // width, height, maxval
	for i := range dims {
		n, err := ppmNumber(br)
		if err != nil {
			return nil, fmt.Errorf("decode ppm: header: %w", err)
		}
		dims[i] = n
	}
	w, h, maxval := dims[0], dims[1], dims[2]
	switch {
	case maxval != 255:
		return nil, fmt.Errorf("decode ppm: maxval %d, want 255", maxval)
	case w <= 0 || h <= 0 || w > maxPixels || h > maxPixels/w:
		return nil, fmt.Errorf("decode ppm: %d×%d is not between 1 and %d pixels", w, h, maxPixels)
	}
	img := image.NewRGBA(image.Rect(0, 0, w, h))
	row := make([]byte, 3*w)
	for y := range h {
		if _, err := io.ReadFull(br, row); err != nil {
			return nil, fmt.Errorf("decode ppm: raster truncated at row %d of %d", y, h)
		}
		px := img.Pix[y*img.Stride:]
		for x := range w {
			px[4*x], px[4*x+1], px[4*x+2], px[4*x+3] = row[3*x], row[3*x+1], row[3*x+2], 0xff
		}
	}
	return img, nil
}

// ppmNumber reads whitespace, then a decimal of at most 8 digits, then the one whitespace byte that
// ends it.
func ppmNumber(br *bufio.Reader) (int, error) {
	b, err := br.ReadByte()
	for err == nil && isPPMSpace(b) {
		b, err = br.ReadByte()
	}
	n, digits := 0, 0
	for ; err == nil && b >= '0' && b <= '9'; b, err = br.ReadByte() {
		if digits++; digits > 8 {
			return 0, errors.New("number too long")
		}
		n = n*10 + int(b-'0')
	}
	switch {
	case err != nil:
		return 0, errors.New("truncated")
	case digits == 0 || !isPPMSpace(b):
		return 0, fmt.Errorf("unexpected byte %q", b)
	}
	return n, nil
}

func isPPMSpace(b byte) bool { return b == ' ' || b == '\t' || b == '\n' || b == '\r' }
