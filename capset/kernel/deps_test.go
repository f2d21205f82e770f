package kernel

import (
	"os/exec"
	"strings"
	"testing"
)

// TestPure pins the package's room: the model imports nothing of
// captune but capset, nothing that draws, and nothing that starts or
// reads processes.
func TestPure(t *testing.T) {
	out, err := exec.Command("go", "list", "-deps", "captune/capset/kernel").Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	for _, p := range strings.Fields(string(out)) {
		switch {
		case strings.HasPrefix(p, "captune/") && p != "captune/capset" && p != "captune/capset/kernel",
			strings.Contains(p, "charm.land"), strings.Contains(p, "lipgloss"), p == "os/exec":
			t.Errorf("capset/kernel depends on %s", p)
		}
	}
}
