package firewall

import (
	"context"
	"fmt"
	"slices"
	"strings"
)

// applyBridge makes the live bridge table (live, as canonicalBridge puts it) equal to want (as
// buildBridge renders it; "" = no table), in one nft transaction, so no frame ever sees half of
// it: when only ports' chains and map elements differ, it adds and deletes those; otherwise it
// replaces the table whole.
func applyBridge(ctx context.Context, live, want string) error {
	if live == want {
		return nil
	}
	script, ok := bridgeDiff(live, want)
	if !ok {
		// Declaring the table first makes the delete succeed whether or not it exists.
		script = "table bridge " + BridgeTable + "\ndelete table bridge " + BridgeTable + "\n" + want
	}
	if _, err := nft(ctx, script, "-f", "-"); err != nil {
		return fmt.Errorf("update nft table bridge %s: %w", BridgeTable, err)
	}
	return nil
}

// listBridge returns the live bridge table as nft lists it, in canonical order, or "" when there
// is none.
func listBridge(ctx context.Context) (string, error) {
	out, err := nft(ctx, "", "list", "table", "bridge", BridgeTable)
	if err != nil && strings.Contains(err.Error(), "No such file or directory") {
		return "", nil
	}
	if err != nil {
		return "", fmt.Errorf("list nft table bridge %s: %w", BridgeTable, err)
	}
	return canonicalBridge(out), nil
}

func nft(ctx context.Context, stdin string, args ...string) (string, error) {
	return command(ctx, stdin, "nft", args...)
}

// bridgeBlock is one map or chain of the bridge table: its first line and the lines up to its "\t}".
type bridgeBlock struct {
	head string
	body []string
}

// parseBridge splits a listed bridge table into the elements of its map and its blocks (the
// map's body without its elements); ok is false for a text in any other shape.
func parseBridge(text string) (elems []string, blocks []bridgeBlock, ok bool) {
	lines := strings.Split(strings.TrimSuffix(text, "\n"), "\n")
	if len(lines) < 2 || lines[0] != "table bridge "+BridgeTable+" {" || lines[len(lines)-1] != "}" {
		return nil, nil, false
	}
	var cur *bridgeBlock
	for _, l := range lines[1 : len(lines)-1] {
		switch {
		case cur == nil && l == "":
		case cur == nil && strings.HasPrefix(l, "\t") && strings.HasSuffix(l, " {"):
			blocks = append(blocks, bridgeBlock{head: l})
			cur = &blocks[len(blocks)-1]
		case cur == nil:
			return nil, nil, false
		case l == "\t}":
			cur = nil
		case strings.HasPrefix(l, "\t\telements = { ") || strings.HasPrefix(l, "\t\t\t     "):
			e := strings.TrimPrefix(strings.TrimPrefix(l, "\t\telements = { "), "\t\t\t     ")
			elems = append(elems, strings.TrimSuffix(strings.TrimSuffix(e, ","), " }"))
		default:
			cur.body = append(cur.body, l)
		}
	}
	return elems, blocks, cur == nil
}

// canonicalBridge orders a listed bridge table as buildBridge renders it: maps first, then chains
// by name; the map's elements sorted. nft lists chains in the order they were made.
func canonicalBridge(text string) string {
	elems, blocks, ok := parseBridge(text)
	if !ok {
		return text
	}
	slices.Sort(elems)
	slices.SortStableFunc(blocks, func(a, b bridgeBlock) int {
		am, bm := strings.HasPrefix(a.head, "\tmap "), strings.HasPrefix(b.head, "\tmap ")
		if am != bm {
			if am {
				return -1
			}
			return 1
		}
		return strings.Compare(a.head, b.head)
	})
	var b strings.Builder
	b.WriteString("table bridge " + BridgeTable + " {\n")
	for i, blk := range blocks {
		if i > 0 {
			b.WriteString("\n")
		}
		b.WriteString(blk.head + "\n")
		for _, l := range blk.body {
			b.WriteString(l + "\n")
		}
		if strings.HasPrefix(blk.head, "\tmap ") {
			b.WriteString(mapElements(elems))
		}
		b.WriteString("\t}\n")
	}
	b.WriteString("}\n")
	return b.String()
}

// bridgeDiff returns the nft script that turns table live into want when they differ in ports'
// chains and map elements only; ok is false when anything else differs (or a table is missing).
func bridgeDiff(live, want string) (script string, ok bool) {
	le, lb, ok1 := parseBridge(live)
	we, wb, ok2 := parseBridge(want)
	if !ok1 || !ok2 || !slices.EqualFunc(fixedBlocks(lb), fixedBlocks(wb), blockEqual) {
		return "", false
	}
	lc, wc := portChains(lb), portChains(wb)
	var b strings.Builder
	t := "bridge " + BridgeTable
	for _, e := range le {
		if !slices.Contains(we, e) {
			key, _, _ := strings.Cut(e, " : ")
			b.WriteString("delete element " + t + " " + bridgePorts + " { " + key + " }\n")
		}
	}
	for _, c := range lc {
		if !slices.ContainsFunc(wc, func(w bridgeBlock) bool { return w.head == c.head }) {
			b.WriteString("delete chain " + t + " " + blockName(c) + "\n")
		}
	}
	for _, c := range wc {
		i := slices.IndexFunc(lc, func(l bridgeBlock) bool { return l.head == c.head })
		switch {
		case i < 0:
			b.WriteString("add chain " + t + " " + blockName(c) + "\n")
		case blockEqual(lc[i], c):
			continue
		default:
			b.WriteString("flush chain " + t + " " + blockName(c) + "\n")
		}
		for _, r := range c.body {
			b.WriteString("add rule " + t + " " + blockName(c) + " " + strings.TrimSpace(r) + "\n")
		}
	}
	for _, e := range we {
		if !slices.Contains(le, e) {
			b.WriteString("add element " + t + " " + bridgePorts + " { " + e + " }\n")
		}
	}
	return b.String(), true
}

func isPortChain(b bridgeBlock) bool { return strings.HasPrefix(b.head, "\tchain port-") }

func portChains(blocks []bridgeBlock) []bridgeBlock {
	return slices.DeleteFunc(slices.Clone(blocks), func(b bridgeBlock) bool { return !isPortChain(b) })
}

func fixedBlocks(blocks []bridgeBlock) []bridgeBlock {
	return slices.DeleteFunc(slices.Clone(blocks), isPortChain)
}

func blockEqual(a, b bridgeBlock) bool { return a.head == b.head && slices.Equal(a.body, b.body) }

// blockName is the chain's name from its head line "\tchain NAME {".
func blockName(b bridgeBlock) string {
	return strings.TrimSuffix(strings.TrimPrefix(b.head, "\tchain "), " {")
}
