package store

import (
	"encoding/json"
	"fmt"
	"testing"
)

// oldInstance is instance as an older binary stored it: a field since dropped, no tags, the
// fields in another order.
type oldInstance struct {
	Retired string `json:"retired"`
	Meta
	Flavor string `json:"flavor,omitempty"`
}

// listEncoding is what a list answer held before AppendJSON: json.Marshal of List's decoded records.
func listEncoding(t *testing.T, tx *Tx, projectID string) string {
	t.Helper()
	recs, err := instanceKind().List(tx, projectID)
	if err != nil {
		t.Fatal(err)
	}
	out, err := json.Marshal(recs)
	if err != nil {
		t.Fatal(err)
	}
	return string(out)
}

func appendJSON(t *testing.T, tx *Tx, projectID string) string {
	t.Helper()
	out, err := instanceKind().AppendJSON(tx, projectID, nil)
	if err != nil {
		t.Fatal(err)
	}
	return string(out)
}

func TestAppendJSONGivesTheBytesEncodingListGives(t *testing.T) {
	db := openTestDB(t)
	kind := instanceKind()
	mustUpdate(t, db, func(tx *Tx) error {
		// Names against ID order, a name in two projects, records without a name (they sort first),
		// HTML-escaped characters and a tag list.
		for i, r := range []instance{
			{Meta: Meta{ID: "a9", Name: "web", ProjectID: "p1"}, Flavor: "<m1&small>"},
			{Meta: Meta{ID: "a1", Name: "zz", ProjectID: "p1"}, Tags: []string{"x", "y"}},
			{Meta: Meta{ID: "a5", Name: "web", ProjectID: "p2"}},
			{Meta: Meta{ID: "a7", ProjectID: "p1"}},
			{Meta: Meta{ID: "a3", ProjectID: "p2"}},
			{Meta: Meta{ID: "a2", Name: "db", ProjectID: "p1"}},
		} {
			r.Flavor += fmt.Sprint(i)
			if err := kind.Create(tx, &r); err != nil {
				return err
			}
		}
		return nil
	})
	err := db.View(func(tx *Tx) error {
		for _, p := range []string{"", "p1", "p2", "empty"} {
			if got, want := appendJSON(t, tx, p), listEncoding(t, tx, p); got != want {
				t.Errorf("AppendJSON(%q) =\n%s\nwant (json.Marshal of List)\n%s", p, got, want)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

func TestAppendJSONAppendsToWhatDstHolds(t *testing.T) {
	db := openTestDB(t)
	mustUpdate(t, db, func(tx *Tx) error { return instanceKind().Create(tx, &instance{Meta: Meta{ID: "a1", Name: "vm"}}) })
	err := db.View(func(tx *Tx) error {
		out, err := instanceKind().AppendJSON(tx, "", []byte(`{"list":`))
		if want := `{"list":` + listEncoding(t, tx, ""); string(out) != want || err != nil {
			t.Errorf("AppendJSON after a prefix = %s, %v; want %s", out, err, want)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

func TestCanonicalizeRewritesRecordsAnOlderTypeStoredSoAppendJSONMatchesList(t *testing.T) {
	db := openTestDB(t)
	old := NewKind[oldInstance](BucketInstances, ScopeProject)
	mustUpdate(t, db, func(tx *Tx) error {
		if err := old.Create(tx, &oldInstance{Retired: "gone", Meta: Meta{ID: "a1", Name: "old", ProjectID: "p1"}, Flavor: "m1"}); err != nil {
			return err
		}
		return instanceKind().Create(tx, &instance{Meta: Meta{ID: "a2", Name: "new", ProjectID: "p1"}, Tags: []string{"t"}})
	})
	var before *instance
	mustUpdate(t, db, func(tx *Tx) (err error) {
		if appendJSON(t, tx, "p1") == listEncoding(t, tx, "p1") {
			t.Fatal("the old record's stored bytes already read as instance encodes it: the test proves nothing")
		}
		before, err = instanceKind().Get(tx, "a1")
		if err != nil {
			return err
		}
		n, err := instanceKind().Canonicalize(tx)
		if n != 1 || err != nil {
			t.Errorf("Canonicalize = %d, %v; want 1 record rewritten (the old one)", n, err)
		}
		return nil
	})
	mustUpdate(t, db, func(tx *Tx) error {
		if got, want := appendJSON(t, tx, "p1"), listEncoding(t, tx, "p1"); got != want {
			t.Errorf("after Canonicalize, AppendJSON =\n%s\nwant\n%s", got, want)
		}
		after, err := instanceKind().Get(tx, "a1")
		if err != nil || after.Revision != before.Revision || !after.UpdatedAt.Equal(before.UpdatedAt) {
			t.Errorf("after Canonicalize the record's meta is %+v (%v), want it unchanged: %+v", after.Meta, err, before.Meta)
		}
		if n, err := instanceKind().Canonicalize(tx); n != 0 || err != nil {
			t.Errorf("a second Canonicalize = %d, %v; want nothing rewritten", n, err)
		}
		return nil
	})
}
