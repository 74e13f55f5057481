package images

import (
	"context"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"cloudlet/appliance/fault"
)

// Tags are kept as given without repeats, replaced by Update, and bounded: an empty, over-long or
// control-character tag, or too many, is refused and changes nothing.
func TestImageTagsAreKeptReplacedAndBounded(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t)
	img, err := e.svc.Create(ctx, CreateRequest{ProjectID: projectA, Name: "tagged", DiskFormat: FormatRaw, Tags: []string{"b", "a", "b"}})
	if err != nil || !cmp.Equal(img.Tags, []string{"b", "a"}) {
		t.Fatalf("Create with tags = %+v, %v; want tags [b a]", img, err)
	}
	tags := []string{"c"}
	if got, err := e.svc.Update(ctx, projectA, "tagged", UpdateRequest{Tags: &tags}); err != nil || !cmp.Equal(got.Tags, []string{"c"}) {
		t.Errorf("Update tags = %+v, %v; want [c]", got, err)
	}
	many := make([]string, MaxTags+1)
	for i := range many {
		many[i] = "t" + strings.Repeat("x", i)
	}
	for _, bad := range [][]string{{""}, {strings.Repeat("x", MaxTagLen+1)}, {"a\nb"}, many} {
		if _, err := e.svc.Update(ctx, projectA, "tagged", UpdateRequest{Tags: &bad}); fault.KindOf(err) != fault.Invalid {
			t.Errorf("Update with tags %.40q: %v, want invalid", bad, err)
		}
		if _, err := e.svc.Create(ctx, CreateRequest{ProjectID: projectA, Name: "bad", DiskFormat: FormatRaw, Tags: bad}); fault.KindOf(err) != fault.Invalid {
			t.Errorf("Create with tags %.40q: %v, want invalid", bad, err)
		}
	}
	if got, _ := e.svc.Get(ctx, projectA, "tagged"); !cmp.Equal(got.Tags, []string{"c"}) {
		t.Errorf("tags after refused updates = %v, want [c]", got.Tags)
	}
}
