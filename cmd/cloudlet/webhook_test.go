package main

import (
	"strings"
	"testing"
)

// The webhook commands send what the API takes and show what it answers; create prints the secret
// (shown once by the daemon), list and show have no secret to print.
func TestWebhookCommands(t *testing.T) {
	api := newFakeAPI(t)
	hook := `{"id":"w-1","name":"ci","project_id":"p","url":"https://ci.example.com/h","events":["instance.*"],"created_at":"2026-01-01T00:00:00Z"}`
	created := strings.TrimSuffix(hook, "}") + `,"secret":"whsec_abc"}`
	delivery := `[{"time":"2026-01-01T00:00:01Z","delivery_id":"d","event_seq":7,"event_type":"instance.created","attempt":2,"outcome":"retrying","status_code":503,"duration_ms":12}]`
	for _, tc := range []struct {
		args         []string
		answer       string
		method, path string
		body         string
		out          []string
	}{
		{[]string{"webhook", "create", "https://ci.example.com/h", "--event", "instance.*", "--name", "ci"}, created,
			"POST", "/api/v1/webhooks", `{"url":"https://ci.example.com/h","events":["instance.*"],"name":"ci"}`, []string{"w-1", "secret: whsec_abc"}},
		{[]string{"webhook", "list"}, "[" + hook + "]", "GET", "/api/v1/webhooks", "", []string{"https://ci.example.com/h", "instance.*"}},
		{[]string{"webhook", "show", "ci"}, hook, "GET", "/api/v1/webhooks/ci", "", []string{"w-1"}},
		{[]string{"webhook", "deliveries", "ci"}, delivery, "GET", "/api/v1/webhooks/ci/deliveries", "", []string{"instance.created", "retrying", "503"}},
		{[]string{"webhook", "delete", "ci"}, "", "DELETE", "/api/v1/webhooks/ci", "", nil},
	} {
		code := 200
		if tc.answer == "" {
			code = 204
		}
		api.answerWith(code, tc.answer)
		out, errOut, err := runIn("", append([]string{"--url", api.URL, "--token", "t"}, tc.args...)...)
		if err != nil {
			t.Errorf("%v: %v\n%s", tc.args, err, errOut)
			api.take()
			continue
		}
		r := api.only()
		if r.Method != tc.method || r.Path != tc.path {
			t.Errorf("%v: sent %s %s, want %s %s", tc.args, r.Method, r.Path, tc.method, tc.path)
		}
		wantJSON(t, strings.Join(tc.args, " "), r.Body, tc.body)
		for _, want := range tc.out {
			if !strings.Contains(out, want) {
				t.Errorf("%v: output lacks %q:\n%s", tc.args, want, out)
			}
		}
	}
}
