package main

import (
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"maps"
	"os"
	"slices"
	"strconv"
	"strings"

	"github.com/spf13/pflag"

	"cloudlet/appliance/compute"
)

// guestFlags are what instance create (and rebuild) give the guest: user-data from a file, a hostname,
// a password (given or generated here and printed once), Nova's metadata and the config drive kind.
type guestFlags struct {
	userDataFile string
	password     string
	generate     bool
	metadata     []string
	hostname     string
	configDrive  string
}

func (f *guestFlags) add(fs *pflag.FlagSet, create bool) {
	fs.StringVar(&f.userDataFile, "user-data", "", "a file the guest runs or applies at first boot (cloud-config, script, MIME multipart, gzip; at most 64 KiB)")
	fs.StringVar(&f.password, "password", "", "the default user's console password (the daemon keeps only its hash)")
	fs.BoolVar(&f.generate, "generate-password", false, "generate the default user's console password and print it once")
	fs.StringArrayVar(&f.metadata, "metadata", nil, "KEY=VALUE server metadata, shown to the guest (repeatable)")
	if create {
		fs.StringVar(&f.hostname, "hostname", "", "the guest's hostname (default: made from the name)")
		fs.StringVar(&f.configDrive, "config-drive", "", "how the guest reads its data: nocloud (default), configdrive or none (metadata service only)")
	}
}

// fields resolves the flags into the request's guest fields; a generated password is returned too, to
// be printed once the request is accepted.
func (f *guestFlags) fields() (userData, password string, metadata map[string]string, generated string, err error) {
	if f.userDataFile != "" {
		raw, err := os.ReadFile(f.userDataFile)
		if err != nil {
			return "", "", nil, "", fmt.Errorf("--user-data: %w", err)
		}
		if len(raw) > compute.MaxUserData {
			return "", "", nil, "", fmt.Errorf("--user-data: %s is %d bytes; at most %d", f.userDataFile, len(raw), compute.MaxUserData)
		}
		userData = base64.StdEncoding.EncodeToString(raw)
	}
	if f.generate && f.password != "" {
		return "", "", nil, "", errors.New("--password and --generate-password exclude each other")
	}
	password = f.password
	if f.generate {
		generated = rand.Text()[:20]
		password = generated
	}
	for _, kv := range f.metadata {
		k, v, ok := strings.Cut(kv, "=")
		if !ok {
			return "", "", nil, "", fmt.Errorf("--metadata %q: want KEY=VALUE", kv)
		}
		if metadata == nil {
			metadata = map[string]string{}
		}
		metadata[k] = v
	}
	return userData, password, metadata, generated, nil
}

// applyCreate fills r's guest fields.
func (f *guestFlags) applyCreate(r *compute.CreateRequest) (generated string, err error) {
	r.UserData, r.Password, r.Metadata, generated, err = f.fields()
	r.Hostname, r.ConfigDrive = f.hostname, f.configDrive
	return generated, err
}

// applyRebuild fills a rebuild's guest fields: what is given replaces the guest's.
func (f *guestFlags) applyRebuild(a *compute.ActionArgs) (generated string, err error) {
	a.UserData, a.Password, a.Metadata, generated, err = f.fields()
	return generated, err
}

// printGenerated prints a generated password once, on stderr (stdout stays the instance's output).
func (g *globals) printGenerated(password string) {
	if password != "" {
		fmt.Fprintf(g.stderr, "The generated password of the default user, shown once (the daemon keeps only its hash): %s\n", password)
	}
}

// guestDetail are instance show's rows about what the guest is given (never the user-data itself).
func guestDetail(i *compute.Instance) [][]string {
	drive := i.ConfigDrive
	if drive == "" {
		drive = compute.ConfigDriveNoCloud
	}
	var meta []string
	for _, k := range slices.Sorted(maps.Keys(i.Metadata)) {
		meta = append(meta, k+"="+i.Metadata[k])
	}
	return [][]string{{"hostname", i.Hostname}, {"key_name", i.KeyName}, {"config_drive", drive},
		{"user_data_size", strconv.Itoa(i.UserDataSize)}, {"password_set", strconv.FormatBool(i.PasswordSet)},
		{"metadata", strings.Join(meta, ", ")}}
}
