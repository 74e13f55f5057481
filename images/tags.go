package images

import "slices"

// Bounds on an image's tags (Glance's image_tag_quota and tag length).
const (
	MaxTags   = 128
	MaxTagLen = 255
)

// normalizeTags checks tags (1..MaxTagLen bytes of UTF-8 without control characters, at most
// MaxTags) and returns them without repeats, in their order; none is nil.
func normalizeTags(tags []string) ([]string, error) {
	var out []string
	for _, t := range tags {
		if t == "" || len(t) > MaxTagLen || !printable(t) {
			return nil, faultf(ErrInvalid, "tag %s must be 1..%d bytes of UTF-8 without control characters", quoteShort(t), MaxTagLen)
		}
		if !slices.Contains(out, t) {
			out = append(out, t)
		}
	}
	if len(out) > MaxTags {
		return nil, faultf(ErrInvalid, "%d tags, the limit is %d", len(out), MaxTags)
	}
	return out, nil
}
