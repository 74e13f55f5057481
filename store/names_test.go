package store

import (
	"strings"
	"testing"
	"unicode"
)

func TestValidateName(t *testing.T) {
	tests := []struct {
		name    string
		wantErr string // "" means valid
	}{
		{"web", ""},
		{"m1.small", ""},
		{"web-1", ""},
		{"a", ""},
		{"0", ""},
		{"web-", ""},
		{strings.Repeat("a", 63), ""},
		{"", `invalid name "": must match ^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$`},
		{strings.Repeat("a", 64), "must match"},
		{"../x", `invalid name "../x": must match ^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$`},
		{"a/b", "must match"},
		{"a,b", "must match"},
		{"-rf", "must match"},
		{".hidden", "must match"},
		{"Web", ""},
		{"tempest-ServersTestJSON-server-2035646959", ""},
		{"New_network", ""},
		{"_web", "must match"},
		{"web 1", "must match"},
		{"web\n", "must match"},
		{"wéb", "must match"},
		{"a..b", `invalid name "a..b": must not contain ".."`},
		{"web.", `invalid name "web.": must not end with "."`},
		{"1b4e28ba-2fa1-4d2b-a1b3-5e4a7c9d0f12", "must not look like an ID"},
		{"1B4E28BA-2FA1-4D2B-A1B3-5E4A7C9D0F12", "must not look like an ID"},
		{strings.Repeat("x", 1000) + "/", `invalid name "` + strings.Repeat("x", 80) + `"...: must match`},
	}
	for _, tt := range tests {
		err := ValidateName(tt.name)
		switch {
		case tt.wantErr == "" && err != nil:
			t.Errorf("ValidateName(%q) = %v, want nil", tt.name, err)
		case tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr)):
			t.Errorf("ValidateName(%q) = %v, want an error containing %q", tt.name, err, tt.wantErr)
		case tt.wantErr != "":
			wantErr(t, "ValidateName("+tt.name+")", err, ErrInvalid)
		}
	}
}

func FuzzValidateName(f *testing.F) {
	for _, seed := range []string{"web", "m1.small", "../etc/passwd", "a,b", "-rf", "a..b", "web.", " web", "A",
		"x\x00y", "1b4e28ba-2fa1-4d2b-a1b3-5e4a7c9d0f12", strings.Repeat("a", 64)} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, name string) {
		if ValidateName(name) != nil {
			return
		}
		switch {
		case len(name) == 0 || len(name) > MaxNameLen:
			t.Errorf("accepted %q of length %d", name, len(name))
		case strings.ContainsAny(name, "/,") || strings.Contains(name, ".."):
			t.Errorf("accepted %q with '/', ',' or '..'", name)
		case strings.IndexFunc(name, unicode.IsSpace) >= 0:
			t.Errorf("accepted %q with white space", name)
		case name[0] == '-' || name[0] == '.' || strings.HasSuffix(name, "."):
			t.Errorf("accepted %q with a leading '-' or '.' or a trailing '.'", name)
		case strings.Trim(name, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-") != "":
			t.Errorf("accepted %q with characters outside [A-Za-z0-9._-]", name)
		case IsID(strings.ToLower(name)):
			t.Errorf("accepted the ID-shaped %q", name)
		}
	})
}
