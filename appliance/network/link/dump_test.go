package link

import (
	"errors"
	"testing"

	"github.com/vishvananda/netlink"
)

// Found by the crash-cycle harness: a delete failed with "netlink.LinkList(): results may be
// incomplete or inconsistent" while other instances' taps came and went. An interrupted dump is read
// again; only a table that never settles, or another error, reaches the caller.
func TestDumpReadsAgainWhileTheKernelSaysTheDumpWasInterrupted(t *testing.T) {
	calls := 0
	got, err := Dump("netlink.LinkList()", func() ([]string, error) {
		calls++
		if calls < 3 {
			return []string{"partial"}, netlink.ErrDumpInterrupted
		}
		return []string{"clbr-a", "clt-b"}, nil
	})
	if err != nil || calls != 3 || len(got) != 2 {
		t.Fatalf("got %v, %v after %d reads: want the third, complete read", got, err, calls)
	}
}

func TestDumpGivesUpOnATableThatNeverSettles(t *testing.T) {
	calls := 0
	_, err := Dump("netlink.LinkList()", func() (int, error) { calls++; return 0, netlink.ErrDumpInterrupted })
	if !errors.Is(err, netlink.ErrDumpInterrupted) || calls != dumpAttempts {
		t.Fatalf("err %v after %d reads: want ErrDumpInterrupted after %d", err, calls, dumpAttempts)
	}
}

func TestDumpReturnsOtherErrorsAtOnce(t *testing.T) {
	calls := 0
	boom := errors.New("permission denied")
	_, err := Dump("netlink.RouteList", func() (int, error) { calls++; return 0, boom })
	if !errors.Is(err, boom) || calls != 1 || err.Error() != "netlink.RouteList: permission denied" {
		t.Fatalf("err %v after %d reads: want it at once, named", err, calls)
	}
}
