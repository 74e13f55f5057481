package web

import (
	"testing"

	"cloudlet/appliance/volume"
)

func TestVolumePatchRenamesDescribesAndSetsMetadataForMembersOnly(t *testing.T) {
	f := newAuthFixture(t)
	f.callAPI("member", "POST", "/api/v1/volumes", `{"name":"data","size_gib":1,"description":"d1","metadata":{"a":"b"}}`, 201, nil)
	var v volume.Volume
	f.callAPI("member", "PATCH", "/api/v1/volumes/data", `{"name":"logs","description":"d2"}`, 200, &v)
	if v.Name != "logs" || v.Description != "d2" || v.Metadata["a"] != "b" {
		t.Fatalf("after PATCH name and description: %+v", v)
	}
	var after volume.Volume
	f.callAPI("member", "PATCH", "/api/v1/volumes/"+v.ID, `{"metadata":{"c":"d"}}`, 200, &after)
	if len(after.Metadata) != 1 || after.Metadata["c"] != "d" || after.Name != "logs" {
		t.Fatalf("after PATCH metadata: %+v, want the set replaced", after)
	}
	f.callAPI("reader", "PATCH", "/api/v1/volumes/"+v.ID, `{"name":"x"}`, 403, nil)
	f.callAPI("memberb", "PATCH", "/api/v1/volumes/"+v.ID, `{"name":"x"}`, 404, nil)
	f.callAPI("member", "PATCH", "/api/v1/volumes/"+v.ID, `{"name":"a/b"}`, 400, nil)
	f.callAPI("member", "PATCH", "/api/v1/volumes/"+v.ID, `{"size_gib":3}`, 400, nil)
}

func TestSnapshotPatchRenamesAndDescribesForMembersOnly(t *testing.T) {
	f := newAuthFixture(t)
	f.callAPI("member", "POST", "/api/v1/volumes", `{"name":"data","size_gib":1}`, 201, nil)
	f.callAPI("member", "POST", "/api/v1/volumes/data/snapshots", `{"name":"before"}`, 201, nil)
	var sn volume.Snapshot
	f.callAPI("member", "PATCH", "/api/v1/snapshots/before", `{"name":"after","description":"d"}`, 200, &sn)
	if sn.Name != "after" || sn.Description != "d" {
		t.Fatalf("after PATCH: %+v", sn)
	}
	f.callAPI("reader", "PATCH", "/api/v1/snapshots/"+sn.ID, `{"name":"x"}`, 403, nil)
	f.callAPI("memberb", "PATCH", "/api/v1/snapshots/"+sn.ID, `{"name":"x"}`, 404, nil)
	f.callAPI("member", "PATCH", "/api/v1/snapshots/"+sn.ID, `{"name":"a/b"}`, 400, nil)
}
