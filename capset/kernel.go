package capset

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// LastCap reads the running kernel's highest capability number from
// ROOT/sys/kernel/cap_last_cap (root is a proc mount, usually "/proc").
func LastCap(procRoot string) (Cap, error) {
	b, err := os.ReadFile(filepath.Join(procRoot, "sys", "kernel", "cap_last_cap"))
	if err != nil {
		return 0, err
	}
	n, err := strconv.Atoi(strings.TrimSpace(string(b)))
	if err != nil || n < 0 || n >= MaxBits {
		return 0, fmt.Errorf("cap_last_cap: unexpected value %q", strings.TrimSpace(string(b)))
	}
	return Cap(n), nil
}

// KnownSet returns every capability numbered up to and including last.
func KnownSet(last Cap) Set { return Upto(int(last) + 1) }
