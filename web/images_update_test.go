package web

import "testing"

// PATCH /api/v1/images/{id} renames an image and merges its properties (null removes a key); what
// the image service refuses is 400 and changes nothing.
func TestImagePatchRenamesAndMergesProperties(t *testing.T) {
	s, _ := newImagesServer(t)
	expect(t, call(t, s, "POST", "/api/v1/images", `{"name":"base","disk_format":"raw","properties":{"a":"1","b":"2"}}`), 201, "queued")
	rec := call(t, s, "PATCH", "/api/v1/images/base", `{"name":"renamed","properties":{"a":"3","b":null}}`)
	expect(t, rec, 200, `"name":"renamed"`)
	if img := decodeImage(t, rec); len(img.Properties) != 1 || img.Properties["a"] != "3" {
		t.Errorf("properties after PATCH = %v, want only a=3", img.Properties)
	}
	expect(t, call(t, s, "PATCH", "/api/v1/images/renamed", `{"name":"Bad Name"}`), 400, "invalid name")
	expect(t, call(t, s, "PATCH", "/api/v1/images/renamed", `{"properties":{"bad key":"x"}}`), 400, "property key")
	expect(t, call(t, s, "GET", "/api/v1/images/renamed", ""), 200, `"properties":{"a":"3"}`)
}

// Tags are given at create and replaced by PATCH.
func TestImageTagsAtCreateAndPatch(t *testing.T) {
	s, _ := newImagesServer(t)
	expect(t, call(t, s, "POST", "/api/v1/images", `{"name":"t","disk_format":"raw","tags":["x","y"]}`), 201, `"tags":["x","y"]`)
	expect(t, call(t, s, "PATCH", "/api/v1/images/t", `{"tags":["z"]}`), 200, `"tags":["z"]`)
	expect(t, call(t, s, "PATCH", "/api/v1/images/t", `{"tags":[""]}`), 400, "tag")
}
