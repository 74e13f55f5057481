package compute

import (
	"context"
	"encoding/json"
	"testing"

	"cloudlet/store"
)

// olderInstance is an instance record as an older cloudlet stored it: a field since dropped, most of
// today's fields missing, another field order.
type olderInstance struct {
	Host string `json:"host"`
	store.Meta
	VMState    string `json:"vm_state"`
	PowerState string `json:"power_state"`
}

func TestInstanceListJSONIsTheEncodingOfTheListEvenForRecordsAnOlderBinaryStored(t *testing.T) {
	e := newEnv(t, nil)
	e.create("new")
	e.svc.Close()
	older := store.NewKind[olderInstance](store.BucketInstances, store.ScopeProject)
	err := e.db.Update(func(tx *store.Tx) error {
		return older.Create(tx, &olderInstance{Host: "old-box", Meta: store.Meta{Name: "old", ProjectID: testProject},
			VMState: string(VMStopped), PowerState: string(PowerShutdown)})
	})
	if err != nil {
		t.Fatal(err)
	}
	e.start() // a daemon restart with the new binary

	ctx := context.Background()
	for _, project := range []string{testProject, ""} {
		list, err := e.svc.List(ctx, project)
		if err != nil {
			t.Fatal(err)
		}
		want, err := json.Marshal(list)
		if err != nil {
			t.Fatal(err)
		}
		got, err := e.svc.ListJSON(ctx, project)
		if string(got) != string(want) || err != nil {
			t.Errorf("ListJSON(%q) = %s, %v\nwant json.Marshal(List) = %s", project, got, err, want)
		}
	}
}
