package capset_test

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"captune/capset"
)

// findCapsh locates capsh (Debian package libcap2-bin). Without it the test
// is skipped, unless CAPTUNE_E2E is set, which makes it required.
func findCapsh(t *testing.T) string {
	t.Helper()
	if p, err := exec.LookPath("capsh"); err == nil {
		return p
	}
	// /usr/sbin is often missing from a non-root PATH.
	for _, p := range []string{"/usr/sbin/capsh", "/sbin/capsh"} {
		if fi, err := os.Stat(p); err == nil && fi.Mode().IsRegular() && fi.Mode()&0o111 != 0 {
			return p
		}
	}
	msg := "capsh not found in PATH, /usr/sbin or /sbin; install it with: apt-get install libcap2-bin"
	if os.Getenv("CAPTUNE_E2E") != "" {
		t.Fatal(msg + " (CAPTUNE_E2E is set, so the comparison with capsh is required)")
	}
	t.Skip(msg + " (set CAPTUNE_E2E=1 to make this a failure)")
	return ""
}

// capshDecode runs capsh once for a batch of masks (capsh accepts many
// --decode options and prints one line for each) and returns its lines.
func capshDecode(t *testing.T, capsh string, masks []capset.Set) []string {
	t.Helper()
	args := make([]string, len(masks))
	for i, m := range masks {
		args[i] = fmt.Sprintf("--decode=0x%016x", uint64(m))
	}
	var stdout, stderr bytes.Buffer
	cmd := exec.Command(capsh, args...)
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("%s --decode=... (%d masks): %v\n%s", capsh, len(masks), err, stderr.String())
	}
	// Keep only decode lines: capsh may warn about a kernel that knows
	// capabilities libcap cannot name.
	var lines []string
	for l := range strings.Lines(stdout.String()) {
		if strings.HasPrefix(l, "0x") {
			lines = append(lines, strings.TrimRight(l, "\r\n"))
		}
	}
	if len(lines) != len(masks) {
		t.Fatalf("capsh printed %d decode lines for %d masks:\n%s", len(lines), len(masks), stdout.String())
	}
	return lines
}

// TestDecodeMatchesCapsh compares Set.Decode with capsh --decode for 2,000
// random 64-bit masks and the edge masks.
func TestDecodeMatchesCapsh(t *testing.T) {
	capsh := findCapsh(t)

	masks := []capset.Set{0, ^capset.Set(0), capset.Upto(capset.NamedCount), ^capset.Upto(capset.NamedCount), 0x200004c1}
	for i := range capset.MaxBits {
		masks = append(masks, 1<<i)
	}
	masks = append(masks, randomMasks(2000, ^capset.Set(0))...)

	const batch = 250 // about 7 KB of arguments per capsh run
	start := time.Now()
	runs, mismatches := 0, 0
	for lo := 0; lo < len(masks); lo += batch {
		chunk := masks[lo:min(lo+batch, len(masks))]
		lines := capshDecode(t, capsh, chunk)
		runs++
		for i, m := range chunk {
			if got := m.Decode(); got != lines[i] {
				mismatches++
				if mismatches <= 10 {
					t.Errorf("mask %#016x:\n capset: %s\n capsh:  %s", uint64(m), got, lines[i])
				}
			}
		}
	}
	if mismatches > 10 {
		t.Errorf("... %d mismatches in all", mismatches)
	}
	t.Logf("compared %d masks with %s in %d runs (%v)", len(masks), capsh, runs, time.Since(start).Round(time.Millisecond))
}
