package firewall

import (
	"context"
	"fmt"
	"strings"
)

// replaceBridge makes the live bridge table equal to text (as buildBridge renders it; "" = no
// table). The table is replaced whole in one nft transaction, so no frame ever sees half of it.
func replaceBridge(ctx context.Context, text string) error {
	// Declaring the table first makes the delete succeed whether or not it exists.
	script := "table bridge " + BridgeTable + "\ndelete table bridge " + BridgeTable + "\n" + text
	if _, err := nft(ctx, script, "-f", "-"); err != nil {
		return fmt.Errorf("replace nft table bridge %s: %w", BridgeTable, err)
	}
	return nil
}

// listBridge returns the live bridge table as nft lists it, or "" when there is none.
func listBridge(ctx context.Context) (string, error) {
	out, err := nft(ctx, "", "list", "table", "bridge", BridgeTable)
	if err != nil && strings.Contains(err.Error(), "No such file or directory") {
		return "", nil
	}
	if err != nil {
		return "", fmt.Errorf("list nft table bridge %s: %w", BridgeTable, err)
	}
	return out, nil
}

func nft(ctx context.Context, stdin string, args ...string) (string, error) {
	return command(ctx, stdin, "nft", args...)
}
