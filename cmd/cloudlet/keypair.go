package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"

	"github.com/spf13/cobra"

	"cloudlet/appliance/identity"
)

const keypairsPath = "/api/v1/keypairs"

var keypairHeader = []string{"ID", "NAME", "TYPE", "FINGERPRINT"}

func keypairRow(k *identity.Keypair) []string { return []string{k.ID, k.Name, k.Type, k.Fingerprint} }

func newKeypairCmd(g *globals) *cobra.Command {
	cmd := &cobra.Command{Use: "keypair", Short: "SSH keys that instances get through cloud-init"}
	cmd.AddCommand(newKeypairCreateCmd(g),
		&cobra.Command{Use: "import NAME FILE", Short: "import an SSH public key (one authorized_keys line)",
			Args: cobra.ExactArgs(2),
			RunE: func(_ *cobra.Command, a []string) error { return g.createKeypair(a[0], a[1], "") }})
	cmd.AddCommand(crudCommands(g, "keypair", keypairsPath, keypairHeader, keypairRow)...)
	return cmd
}

func newKeypairCreateCmd(g *globals) *cobra.Command {
	var publicKey, privateOut string
	cmd := &cobra.Command{Use: "create NAME [--public-key FILE] [--private-key-out FILE]",
		Short: "create a keypair: import --public-key, or have the daemon generate one and print (or save) its private key once",
		Args:  cobra.ExactArgs(1),
		RunE: func(_ *cobra.Command, a []string) error {
			if publicKey != "" && privateOut != "" {
				return errors.New("--private-key-out is for generated keys: with --public-key the private key stays yours")
			}
			return g.createKeypair(a[0], publicKey, privateOut)
		}}
	cmd.Flags().StringVar(&publicKey, "public-key", "", "import this SSH public key file instead of generating a key")
	cmd.Flags().StringVar(&privateOut, "private-key-out", "", "write the generated private key to this new file (mode 0600) instead of stdout")
	return cmd
}

// createKeypair imports the public key in file publicKey, or has one generated. A generated
// private key exists only in the answer: it goes to privateOut (created 0600 before the request,
// so a bad path fails before the key is made) or to stdout, once.
func (g *globals) createKeypair(name, publicKey, privateOut string) (err error) {
	in := map[string]string{"name": name}
	if publicKey != "" {
		b, err := os.ReadFile(publicKey)
		if err != nil {
			return fmt.Errorf("read public key: %w", err)
		}
		in["public_key"] = string(b)
	}
	var out *os.File
	if privateOut != "" {
		if out, err = os.OpenFile(privateOut, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600); err != nil {
			return fmt.Errorf("private key file: %w", err)
		}
		defer func() {
			if cerr := out.Close(); err == nil && cerr != nil {
				err = fmt.Errorf("write private key %s: %w", privateOut, cerr)
			}
			if err != nil {
				os.Remove(privateOut)
			}
		}()
	}
	var k identity.Keypair
	raw, err := g.fetch("POST", keypairsPath, in, &k)
	if err != nil {
		return err
	}
	if k.PrivateKey == "" && out != nil {
		return fmt.Errorf("create keypair %s: the daemon returned no private key to write to %s", name, privateOut)
	}
	if k.PrivateKey != "" && out != nil {
		if _, err := out.WriteString(k.PrivateKey); err != nil {
			return fmt.Errorf("write private key %s: %w", privateOut, err)
		}
		fmt.Fprintf(g.stderr, "Wrote the private key to %s (mode 0600); the daemon keeps no copy.\n", privateOut)
		if raw, err = withoutField(raw, "private_key"); err != nil {
			return err
		}
	} else if k.PrivateKey != "" {
		fmt.Fprintln(g.stderr, "The private key is shown once; the daemon keeps no copy. Save it now (or use --private-key-out).")
	}
	if g.output == "json" {
		return g.printJSON(raw)
	}
	if err := g.printTable(keypairHeader, [][]string{keypairRow(&k)}); err != nil {
		return err
	}
	if k.PrivateKey != "" && out == nil {
		_, err = fmt.Fprint(g.stdout, k.PrivateKey)
	}
	return err
}

// withoutField drops one field of a JSON object.
func withoutField(raw json.RawMessage, field string) (json.RawMessage, error) {
	var m map[string]json.RawMessage
	if err := json.Unmarshal(raw, &m); err != nil {
		return nil, fmt.Errorf("decode answer: %w", err)
	}
	delete(m, field)
	return json.Marshal(m)
}
