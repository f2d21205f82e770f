package drift

import (
	"os/exec"
	"strings"
	"testing"
)

// TestReadOnlyRoomsDoNotLaunch pins the arrows that must never exist: the
// read-only rooms (drift, procscan, safefile) import nothing of launch/
// (which starts processes and changes the system) and no terminal
// library.
func TestReadOnlyRoomsDoNotLaunch(t *testing.T) {
	goBin, err := exec.LookPath("go")
	if err != nil {
		t.Skip("no go tool to list dependencies")
	}
	for _, pkg := range []string{"captune/drift", "captune/procscan", "captune/safefile"} {
		out, err := exec.Command(goBin, "list", "-deps", pkg).CombinedOutput()
		if err != nil {
			t.Fatalf("go list -deps %s: %v\n%s", pkg, err, out)
		}
		for _, dep := range strings.Fields(string(out)) {
			if strings.HasPrefix(dep, "captune/launch") || strings.HasPrefix(dep, "charm.land/") || strings.Contains(dep, "lipgloss") || strings.Contains(dep, "bubbletea") {
				t.Errorf("%s imports %s", pkg, dep)
			}
		}
	}
}
