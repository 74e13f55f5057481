package metering

import (
	"os"
	"strings"
	"testing"
)

func TestParseStatReadsCPUTimeAndStartPastAParenthesizedName(t *testing.T) {
	stat := "4242 (qemu (x) S) S 1 4242 4242 0 -1 4194624 100 0 0 0 250 50 0 0 20 0 5 0 987654 1000000 300 18446744073709551615\n"
	p, start, err := parseStat([]byte(stat))
	if err != nil {
		t.Fatal(err)
	}
	if p.cpuSeconds != 3 || start != 987654 {
		t.Fatalf("cpu %v s, start %d; want 3 s (300 ticks), 987654", p.cpuSeconds, start)
	}
	if _, _, err := parseStat([]byte("4242 (qemu) S 1 2 3")); err == nil {
		t.Fatal("a truncated stat parsed")
	}
}

func TestParseStatmReadsResidentPages(t *testing.T) {
	rss, err := parseStatm([]byte("250000 1234 1000 100 0 2000 0\n"), 4096)
	if err != nil || rss != 1234*4096 {
		t.Fatalf("rss %d, %v; want %d", rss, err, 1234*4096)
	}
}

func TestReadProcessRefusesAReusedPID(t *testing.T) {
	p := newProcFixture(t)
	p.process(77, 100, 100, 5555, 10)
	if got, err := readProcess(p.dir, 77, 5555); err != nil || got.cpuSeconds != 2 || got.rssBytes != 10*uint64(os.Getpagesize()) {
		t.Fatalf("readProcess = %+v, %v", got, err)
	}
	if _, err := readProcess(p.dir, 77, 1111); err == nil || !strings.Contains(err.Error(), "another process") {
		t.Fatalf("a process started at another tick was taken for the instance's QEMU: %v", err)
	}
}

func TestHostCPUAndMemoryParse(t *testing.T) {
	busy, total, err := parseCPULine([]byte("cpu  10 1 2 100 7 3 4 5 9 0\ncpu0 1 1 1 1 1 1 1 1 1 1\n"))
	if err != nil || busy != 10+1+2+3+4+5 || total != 10+1+2+100+7+3+4+5 {
		t.Fatalf("busy %d total %d, %v", busy, total, err)
	}
	mt, ma := parseMeminfo([]byte("MemTotal:  2000 kB\nMemFree: 10 kB\nMemAvailable:  1500 kB\n"))
	if mt != 2000<<10 || ma != 1500<<10 {
		t.Fatalf("meminfo %d %d", mt, ma)
	}
}
