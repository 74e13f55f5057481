package compute

import (
	"bytes"
	"fmt"
	"image/color"
	"io"
	"strings"
	"testing"
)

func TestDecodePPMReadsQEMUsScreendump(t *testing.T) {
	raster := []byte{255, 0, 0, 0, 255, 0, 0, 0, 255, 10, 20, 30, 40, 50, 60, 70, 80, 90}
	img, err := decodePPM(bytes.NewReader(append([]byte("P6\n3 2\n255\n"), raster...)), 100)
	if err != nil {
		t.Fatal(err)
	}
	if b := img.Bounds(); b.Dx() != 3 || b.Dy() != 2 {
		t.Fatalf("bounds = %v, want 3×2", b)
	}
	want := map[[2]int]color.RGBA{{0, 0}: {255, 0, 0, 255}, {2, 0}: {0, 0, 255, 255}, {2, 1}: {70, 80, 90, 255}}
	for at, c := range want {
		if got := color.RGBAModel.Convert(img.At(at[0], at[1])); got != c {
			t.Errorf("pixel %v = %v, want %v", at, got, c)
		}
	}
}

// countingReader counts the bytes a decoder pulls, to prove it stops early.
type countingReader struct {
	r io.Reader
	n int
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += n
	return n, err
}

func TestDecodePPMRefusesHostileFilesBeforeAllocatingTheRaster(t *testing.T) {
	tests := map[string]string{
		"wrong magic":          "P3\n1 1\n255\n\x00\x00\x00",
		"png instead":          "\x89PNG\r\n\x1a\n",
		"empty":                "",
		"huge dimensions":      "P6\n100000 100000\n255\n",
		"area over the cap":    "P6\n1000 1001\n255\n",
		"overflowing number":   "P6\n999999999999999999999 1\n255\n",
		"zero width":           "P6\n0 10\n255\n",
		"16-bit samples":       "P6\n1 1\n65535\n\x00\x00\x00\x00\x00\x00",
		"comment":              "P6\n# hi\n1 1\n255\n\x00\x00\x00",
		"negative height":      "P6\n2 -2\n255\n",
		"no space after digit": "P6\n2x2\n255\n",
	}
	for name, in := range tests {
		t.Run(name, func(t *testing.T) {
			r := &countingReader{r: io.MultiReader(strings.NewReader(in), strings.NewReader(strings.Repeat("\x00", 1<<20)))}
			if img, err := decodePPM(r, 1000*1000); err == nil {
				t.Fatalf("decoded %v, want an error", img.Bounds())
			}
			if r.n > len(in)+8192 { // bufio's buffer at most: the megabyte of padding was not read
				t.Errorf("read %d bytes of a %d-byte input", r.n, len(in))
			}
		})
	}
}

func TestDecodePPMRefusesATruncatedFile(t *testing.T) {
	for _, in := range []string{"P6\n10", "P6\n2 2\n", "P6\n2 2\n255\n\x01\x02\x03\x04"} {
		if img, err := decodePPM(strings.NewReader(in), 100); err == nil {
			t.Errorf("decodePPM(%q) = %v, want an error", in, img.Bounds())
		}
	}
}

func TestDecodePPMReadsNoMoreThanTheCapAllows(t *testing.T) {
	// Dimensions within the cap but a raster that goes on forever: only the raster is read.
	w, h := 16, 16
	r := &countingReader{r: io.MultiReader(strings.NewReader(fmt.Sprintf("P6\n%d %d\n255\n", w, h)), zeros{})}
	if _, err := decodePPM(r, w*h); err != nil {
		t.Fatal(err)
	}
	if max := int(maxPPMBytes(w * h)); r.n > max {
		t.Errorf("read %d bytes, cap %d", r.n, max)
	}
}

type zeros struct{}

func (zeros) Read(p []byte) (int, error) { clear(p); return len(p), nil }
