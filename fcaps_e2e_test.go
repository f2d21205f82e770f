package main

import (
	"encoding/json"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"testing"
)

// TestPsFileCapsUnknownWithoutRoot: run as nobody, captune cannot read a
// root process's executable, so it must say its file capabilities are
// unknown (null in JSON), never "none"; as root it reads them.
func TestPsFileCapsUnknownWithoutRoot(t *testing.T) {
	needRootE2E(t)
	bin := buildShared(t)
	sleeper := exec.Command("sleep", "300")
	if err := sleeper.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { sleeper.Process.Kill(); sleeper.Wait() })
	pid := strconv.Itoa(sleeper.Process.Pid)
	ps := func(asNobody bool, args ...string) string {
		t.Helper()
		cmd := exec.Command(bin, append([]string{"ps"}, args...)...)
		if asNobody {
			cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: 65534, Gid: 65534}}
		}
		out, err := cmd.Output()
		if err != nil {
			t.Fatalf("ps %v (nobody %v): %v\n%s", args, asNobody, err, out)
		}
		return string(out)
	}
	fileCaps := func(asNobody bool) *string {
		var procs []struct {
			PID      int     `json:"pid"`
			FileCaps *string `json:"file_caps"`
		}
		if err := json.Unmarshal([]byte(ps(asNobody, "--json", pid)), &procs); err != nil || len(procs) != 1 {
			t.Fatalf("ps --json %s: %v %v", pid, procs, err)
		}
		return procs[0].FileCaps
	}
	if fc := fileCaps(true); fc != nil {
		t.Errorf("as nobody, file_caps of root's sleep = %q, want null (unknown)", *fc)
	}
	if text := ps(true, pid); !strings.Contains(text, "file caps:   unknown") {
		t.Errorf("as nobody, ps %s does not say the file capabilities are unknown:\n%s", pid, text)
	}
	if fc := fileCaps(false); fc == nil || *fc != "" {
		t.Errorf("as root, file_caps of sleep = %v, want \"\" (none)", fc)
	}
	if text := ps(false, pid); !strings.Contains(text, "file caps:   none") {
		t.Errorf("as root, ps %s does not say none:\n%s", pid, text)
	}
}
