package launch

import (
	"os"
	"testing"
)

// TestMain lets the test binary stand in for captune: the hidden modes
// the tests start (janitor, probe daemon, supervisor) are this binary
// re-executed.
func TestMain(m *testing.M) {
	if code, ok := Hidden(os.Args[1:]); ok {
		os.Exit(code)
	}
	code := m.Run()
	Shutdown()
	os.Exit(code)
}
