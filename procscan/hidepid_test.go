package procscan

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"testing"

	"golang.org/x/sys/unix"
)

const (
	helperHidepid = "hidepid"
	procDirEnv    = "CAPTUNE_TEST_PROCDIR"
	hidepidEnv    = "CAPTUNE_TEST_HIDEPID"
	nobodyPIDEnv  = "CAPTUNE_TEST_NOBODY_PID"
	hostMntEnv    = "CAPTUNE_TEST_HOST_MNTNS"
)

// TestLiveHidepid mounts a fresh proc with hidepid in a private mount
// namespace (unshare --mount --propagation private --fork), drops to
// nobody there and scans it. The host's /proc is never touched.
func TestLiveHidepid(t *testing.T) {
	requireRoot(t)
	unshare := requireTool(t, "unshare")
	s := liveScanner(t)
	nobody := capshChild(t, s, "--user=nobody")
	hostNS, err := os.Readlink("/proc/self/ns/mnt")
	if err != nil {
		t.Fatal(err)
	}

	for _, mode := range []string{"invisible", "noaccess", "stacked"} {
		t.Run(mode, func(t *testing.T) {
			// The mount point must be reachable by nobody after the drop.
			dir, err := os.MkdirTemp("", "captune-hidepid-")
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { os.RemoveAll(dir) })
			if err := os.Chmod(dir, 0o755); err != nil {
				t.Fatal(err)
			}
			cmd := exec.Command(unshare, "--mount", "--propagation", "private", "--fork",
				os.Args[0], "-test.run=^TestHelperHidepid$", "-test.v")
			cmd.Env = append(os.Environ(), helperEnv+"="+helperHidepid, procDirEnv+"="+dir, hidepidEnv+"="+mode,
				nobodyPIDEnv+"="+strconv.Itoa(nobody.PID), hostMntEnv+"="+hostNS)
			out, err := cmd.CombinedOutput()
			t.Logf("helper output:\n%s", out)
			if err != nil {
				t.Fatalf("helper: %v", err)
			}
			if !strings.Contains(string(out), "--- PASS: TestHelperHidepid") {
				t.Fatal("helper did not run")
			}
			// The host never sees the private mount.
			if mi, err := os.ReadFile("/proc/self/mountinfo"); err != nil || strings.Contains(string(mi), dir) {
				t.Errorf("%s is mounted in the host's namespace (%v)", dir, err)
			}
		})
	}
}

// TestHelperHidepid is not a test: it is the process TestLiveHidepid
// starts inside a private mount namespace, as root.
func TestHelperHidepid(t *testing.T) {
	if os.Getenv(helperEnv) != helperHidepid {
		t.Skip("helper process for TestLiveHidepid")
	}
	dir, mode := os.Getenv(procDirEnv), os.Getenv(hidepidEnv)
	nobodyPID, _ := strconv.Atoi(os.Getenv(nobodyPIDEnv))
	if dir == "" || dir == "/proc" || !strings.HasPrefix(dir, os.TempDir()) {
		t.Fatalf("refusing to mount on %q", dir)
	}
	// Only ever in a mount namespace of our own, not the test's.
	mine, err := os.Readlink("/proc/self/ns/mnt")
	host := os.Getenv(hostMntEnv)
	if err != nil || host == "" || mine == host {
		t.Fatalf("not in a private mount namespace (%q, host %q; %v)", mine, host, err)
	}
	flags := uintptr(unix.MS_NOSUID | unix.MS_NODEV | unix.MS_NOEXEC)
	opt := "hidepid=" + mode
	if mode == "stacked" {
		// A plain proc mount with a hidepid one on top: the top one counts.
		if err := unix.Mount("proc", dir, "proc", flags, ""); err != nil {
			t.Fatal(err)
		}
		opt = "hidepid=invisible"
	}
	if err := unix.Mount("proc", dir, "proc", flags, opt); err != nil {
		t.Fatalf("mount -t proc -o %s proc %s: %v", opt, dir, err)
	}
	// hidepid hides other users' processes from an unprivileged reader.
	if err := syscall.Setgroups(nil); err != nil {
		t.Fatal(err)
	}
	if err := syscall.Setresgid(nobodyUID, nobodyUID, nobodyUID); err != nil {
		t.Fatal(err)
	}
	if err := syscall.Setresuid(nobodyUID, nobodyUID, nobodyUID); err != nil {
		t.Fatal(err)
	}
	if k := kernelSets(t, "/proc/self/status"); k.Effective != 0 || k.Permitted != 0 || os.Geteuid() != nobodyUID {
		t.Fatalf("still privileged: euid %d %+v", os.Geteuid(), k)
	}

	s, err := New(dir)
	if err != nil {
		t.Fatal(err)
	}
	snap, err := s.Snapshot()
	if err != nil {
		t.Fatal(err)
	}
	seen := map[int]bool{}
	for _, p := range snap.Procs {
		seen[p.PID] = true
		if p.UID != nobodyUID || p.EUID != nobodyUID {
			t.Errorf("pid %d of uid %d/%d visible to nobody under hidepid=%s", p.PID, p.UID, p.EUID, mode)
		}
	}
	t.Logf("%d processes visible, %d unreadable, hidden others %v, notes %q", len(snap.Procs), snap.Unreadable, snap.HiddenOthers, snap.Notes())
	if !seen[os.Getpid()] || !seen[nobodyPID] {
		t.Errorf("own pid %d seen %v, nobody's sleep %d seen %v", os.Getpid(), seen[os.Getpid()], nobodyPID, seen[nobodyPID])
	}
	if seen[1] {
		t.Error("PID 1 visible")
	}
	_, err = s.Process(1)
	switch mode {
	case "invisible", "stacked":
		if !snap.HiddenOthers || snap.Unreadable != 0 {
			t.Errorf("HiddenOthers %v, Unreadable %d", snap.HiddenOthers, snap.Unreadable)
		}
		if !hasNote(snap.Notes(), "other users' processes are not visible") {
			t.Errorf("notes %q", snap.Notes())
		}
		if !errors.Is(err, ErrProcGone) {
			t.Errorf("Process(1): %v, want ErrProcGone (invisible)", err)
		}
	case "noaccess":
		if snap.HiddenOthers || snap.Unreadable == 0 {
			t.Errorf("HiddenOthers %v, Unreadable %d", snap.HiddenOthers, snap.Unreadable)
		}
		if !hasNote(snap.Notes(), "processes could not be read: permission") {
			t.Errorf("notes %q", snap.Notes())
		}
		if !errors.Is(err, ErrNotPermitted) {
			t.Errorf("Process(1): %v, want ErrNotPermitted", err)
		}
	default:
		t.Fatalf("mode %q", mode)
	}
	fmt.Println("helper done")
}

func hasNote(notes []string, text string) bool {
	for _, n := range notes {
		if strings.Contains(n, text) {
			return true
		}
	}
	return false
}
