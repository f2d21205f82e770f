package procscan

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"

	"captune/capset"
)

const (
	capChown     = capset.Cap(0)
	capSetgid    = capset.Cap(6)
	capSetuid    = capset.Cap(7)
	capNetRaw    = capset.Cap(13)
	capSysAdmin  = capset.Cap(21)
	nobodyUID    = 65534
	helperEnv    = "CAPTUNE_TEST_HELPER"
	helperThread = "thread"
)

// selfSets are the test process's own sets, as the kernel prints them:
// children's expected sets are derived from them (a container or VM may
// run everything with a narrowed bounding set).
func selfSets(t *testing.T) Sets {
	return kernelSets(t, "/proc/self/status")
}

// capshChild starts `capsh ARGS -- -c 'exec sleep 60'` and waits until
// the shell has exec'd sleep, returning the scanned process.
func capshChild(t *testing.T, s *Scanner, args ...string) Process {
	t.Helper()
	capsh := requireTool(t, "capsh")
	cmd := startChild(t, capsh, append(args, "--", "-c", "exec "+sleepPath(t)+" 60")...)
	return waitProcess(t, s, cmd.Process.Pid, func(p Process) bool { return p.Comm == "sleep" })
}

// checkAgainstKernel compares a scanned process with /proc/PID/status.
func checkAgainstKernel(t *testing.T, p Process) {
	t.Helper()
	path := fmt.Sprintf("/proc/%d/status", p.PID)
	if k := kernelSets(t, path); p.Sets != k {
		t.Errorf("pid %d: procscan %+v, kernel %+v", p.PID, p.Sets, k)
	}
	st := kernelStatus(t, path)
	if nnp := st["NoNewPrivs"] == "1"; p.NoNewPrivs != nnp {
		t.Errorf("pid %d: NoNewPrivs %v, kernel %q", p.PID, p.NoNewPrivs, st["NoNewPrivs"])
	}
	if uid := strings.Fields(st["Uid"]); len(uid) < 3 || fmt.Sprint(p.UID, p.EUID, p.SUID) != strings.Join(uid[:3], " ") {
		t.Errorf("pid %d: uid %d/%d/%d, kernel %q", p.PID, p.UID, p.EUID, p.SUID, st["Uid"])
	}
	if !p.HasAmbient {
		t.Errorf("pid %d: HasAmbient false on a kernel with CapAmb", p.PID)
	}
	if p.UserNSChild == nil || *p.UserNSChild {
		t.Errorf("pid %d: UserNSChild %v, want false", p.PID, p.UserNSChild)
	}
}

func TestLiveCapshAmbient(t *testing.T) {
	requireRoot(t)
	s := liveScanner(t)
	self := selfSets(t)
	p := capshChild(t, s, `--caps=cap_net_raw,cap_chown+eip cap_setuid,cap_setgid+ep`, "--keep=1", "--user=nobody", "--addamb=cap_net_raw")
	checkAgainstKernel(t, p)
	want := Sets{
		Inheritable: capset.Of(capNetRaw, capChown),
		Permitted:   capset.Of(capNetRaw),
		Effective:   capset.Of(capNetRaw),
		Bounding:    self.Bounding,
		Ambient:     capset.Of(capNetRaw),
	}
	if p.Sets != want {
		t.Errorf("sets %+v, want %+v", p.Sets, want)
	}
	if p.Sets.Ambient != 1<<13 {
		t.Errorf("ambient %s, want cap_net_raw (bit 13)", p.Sets.Ambient.Hex())
	}
	if p.UID != nobodyUID || p.EUID != nobodyUID || p.SUID != nobodyUID || p.GID != nobodyUID || p.User != "nobody" || p.NoNewPrivs {
		t.Errorf("ids %d/%d/%d gid %d user %q nnp %v", p.UID, p.EUID, p.SUID, p.GID, p.User, p.NoNewPrivs)
	}
	if p.Comm != "sleep" || len(p.Cmdline) != 2 || p.Cmdline[1] != "60" || p.State == 0 || p.KernelThread {
		t.Errorf("comm %q cmdline %q state %q", p.Comm, p.Cmdline, p.State)
	}
}

func TestLiveCapshDropBounding(t *testing.T) {
	requireRoot(t)
	s := liveScanner(t)
	self := selfSets(t)
	if !self.Bounding.Has(capSysAdmin) {
		t.Skip("cap_sys_admin is not in this process's bounding set")
	}
	p := capshChild(t, s, "--drop=cap_sys_admin")
	checkAgainstKernel(t, p)
	if p.Sets.Bounding != self.Bounding.Without(capSysAdmin) || p.Sets.Bounding.Has(capSysAdmin) {
		t.Errorf("bounding %s, want %s without cap_sys_admin", p.Sets.Bounding.Hex(), self.Bounding.Hex())
	}
	// Root execs sleep: permitted and effective are the new bounding set.
	if p.Sets.Permitted != p.Sets.Bounding || p.Sets.Effective != p.Sets.Bounding || p.Sets.Ambient != 0 || p.Sets.Inheritable != 0 {
		t.Errorf("sets %+v", p.Sets)
	}
	if p.UID != 0 || p.User != "root" || p.NoNewPrivs {
		t.Errorf("uid %d user %q nnp %v", p.UID, p.User, p.NoNewPrivs)
	}
}

func TestLiveCapshNoNewPrivs(t *testing.T) {
	requireRoot(t)
	s := liveScanner(t)
	self := selfSets(t)
	p := capshChild(t, s, "--no-new-privs")
	checkAgainstKernel(t, p)
	if !p.NoNewPrivs {
		t.Error("NoNewPrivs false")
	}
	if p.Sets.Bounding != self.Bounding || p.Sets.Ambient != 0 || p.UID != 0 {
		t.Errorf("sets %+v uid %d", p.Sets, p.UID)
	}
}

func TestLiveCapshNobodyHoldsNothing(t *testing.T) {
	requireRoot(t)
	s := liveScanner(t)
	self := selfSets(t)
	p := capshChild(t, s, "--user=nobody")
	checkAgainstKernel(t, p)
	if p.Sets != (Sets{Bounding: self.Bounding}) {
		t.Errorf("sets %+v, want nothing but the bounding set", p.Sets)
	}
	if p.UID != nobodyUID || p.EUID != nobodyUID || p.User != "nobody" || p.NoNewPrivs {
		t.Errorf("uid %d euid %d user %q nnp %v", p.UID, p.EUID, p.User, p.NoNewPrivs)
	}
}

// A snapshot lists the capsh children with the same values as Process.
func TestLiveSnapshotHasChildren(t *testing.T) {
	requireRoot(t)
	s := liveScanner(t)
	a := capshChild(t, s, "--user=nobody")
	b := capshChild(t, s, "--no-new-privs")
	snap, err := s.Snapshot()
	if err != nil {
		t.Fatal(err)
	}
	found := 0
	for _, p := range snap.Procs {
		if p.PID == a.PID || p.PID == b.PID {
			found++
			want := a
			if p.PID == b.PID {
				want = b
			}
			if p.Sets != want.Sets || p.NoNewPrivs != want.NoNewPrivs || p.UID != want.UID {
				t.Errorf("pid %d: snapshot %+v, Process %+v", p.PID, p, want)
			}
		}
	}
	if found != 2 || snap.Unreadable != 0 || snap.HiddenOthers {
		t.Errorf("found %d of 2; unreadable %d hidden %v", found, snap.Unreadable, snap.HiddenOthers)
	}
	if want, err := capset.LastCap("/proc"); err != nil || snap.LastCap != want {
		t.Errorf("LastCap %d, kernel %d (%v)", snap.LastCap, want, err)
	}
}

// A process's name is what the kernel keeps of its executable's file
// name: a symlink named with spaces, parentheses, a newline, a backslash
// and a byte that is not UTF-8 gives a comm with all of them.
func TestLiveAwkwardName(t *testing.T) {
	s := liveScanner(t)
	name := " x(y)\n\\\xff z "
	link := filepath.Join(t.TempDir(), name)
	if err := os.Symlink(sleepPath(t), link); err != nil {
		t.Fatal(err)
	}
	cmd := startChild(t, link, "60")
	// The kernel sets the new name during the exec a moment before the
	// new command line's bounds: wait for both.
	p := waitProcess(t, s, cmd.Process.Pid, func(p Process) bool { return p.Comm == name && len(p.Cmdline) > 0 })
	comm, err := os.ReadFile(fmt.Sprintf("/proc/%d/comm", p.PID))
	if err != nil {
		t.Fatal(err)
	}
	if want := strings.TrimSuffix(string(comm), "\n"); p.Comm != want {
		t.Errorf("Comm %q, kernel comm %q", p.Comm, want)
	}
	if len(p.Cmdline) != 2 || p.Cmdline[0] != link {
		t.Errorf("Cmdline %q", p.Cmdline)
	}
}

// A zombie keeps its row: state Z, no command line.
func TestLiveZombie(t *testing.T) {
	s := liveScanner(t)
	sh := requireTool(t, "sh")
	// sh forks a child that exits at once, then becomes sleep, which
	// never reaps it.
	cmd := startChild(t, sh, "-c", "/bin/true & exec "+sleepPath(t)+" 60")
	deadline := time.Now().Add(10 * time.Second)
	for {
		snap, err := s.Snapshot()
		if err != nil {
			t.Fatal(err)
		}
		for _, p := range snap.Procs {
			if p.PPID == cmd.Process.Pid && p.State == 'Z' {
				if p.Cmdline != nil || p.Comm == "" || p.Sets.Bounding == 0 {
					t.Errorf("zombie %+v", p)
				}
				return
			}
		}
		if time.Now().After(deadline) {
			t.Fatal("no zombie child seen")
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func init() {
	// The thread helper must keep the main thread (the leader) for the
	// main goroutine, so that the thread that drops its effective set is
	// never the leader.
	if os.Getenv(helperEnv) == helperThread {
		runtime.LockOSThread()
	}
}

// TestHelperThread is not a test: it is the process TestLiveThread
// starts. One of its threads clears its own effective set with a raw
// capset, prints its TID and waits.
func TestHelperThread(t *testing.T) {
	if os.Getenv(helperEnv) != helperThread {
		t.Skip("helper process for TestLiveThread")
	}
	tids := make(chan string)
	go func() {
		runtime.LockOSThread() // never unlocked: the thread keeps its sets
		hdr := unix.CapUserHeader{Version: 0x20080522}
		var data [2]unix.CapUserData
		if _, _, e := unix.RawSyscall(unix.SYS_CAPGET, uintptr(unsafe.Pointer(&hdr)), uintptr(unsafe.Pointer(&data[0])), 0); e != 0 {
			tids <- "capget: " + e.Error()
			return
		}
		data[0].Effective, data[1].Effective = 0, 0
		if _, _, e := unix.RawSyscall(unix.SYS_CAPSET, uintptr(unsafe.Pointer(&hdr)), uintptr(unsafe.Pointer(&data[0])), 0); e != 0 {
			tids <- "capset: " + e.Error()
			return
		}
		tids <- "TID=" + strconv.Itoa(unix.Gettid())
		select {}
	}()
	fmt.Println(<-tids)
	// Exit when the parent closes stdin (or dies), or after a minute.
	go func() { _, _ = io.Copy(io.Discard, os.Stdin); os.Exit(0) }()
	time.Sleep(time.Minute)
}

// TestLiveThread checks that a thread whose effective set differs from
// its leader's is reported in Threads, and only that one.
func TestLiveThread(t *testing.T) {
	requireRoot(t)
	cmd := exec.Command(os.Args[0], "-test.run=^TestHelperThread$")
	cmd.Env = append(os.Environ(), helperEnv+"="+helperThread)
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		stdin.Close()
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
	})
	line, err := bufio.NewReader(out).ReadString('\n')
	if err != nil {
		t.Fatalf("helper: %q %v", line, err)
	}
	tidText, ok := strings.CutPrefix(strings.TrimSpace(line), "TID=")
	if !ok {
		t.Fatalf("helper: %q", line)
	}
	tid, _ := strconv.Atoi(tidText)
	pid := cmd.Process.Pid
	if tid == pid {
		t.Fatalf("the helper cleared the leader's effective set (tid %d)", tid)
	}

	p, err := liveScanner(t).Process(pid)
	if err != nil {
		t.Fatal(err)
	}
	leader := kernelSets(t, fmt.Sprintf("/proc/%d/status", pid))
	thread := kernelSets(t, fmt.Sprintf("/proc/%d/task/%d/status", pid, tid))
	if thread.Effective != 0 || leader.Effective == 0 {
		t.Fatalf("kernel: leader effective %s, thread %d effective %s", leader.Effective.Hex(), tid, thread.Effective.Hex())
	}
	if p.Sets != leader || p.Sets.Effective == 0 {
		t.Errorf("leader sets %+v, kernel %+v", p.Sets, leader)
	}
	if p.NumThreads < 2 {
		t.Errorf("NumThreads %d", p.NumThreads)
	}
	if len(p.Threads) != 1 {
		t.Fatalf("Threads %+v, want only %d", p.Threads, tid)
	}
	th := p.Threads[0]
	want := leader
	want.Effective = 0
	if th.TID != tid || th.Sets != want || th.Sets != thread || th.Comm == "" {
		t.Errorf("thread %+v, want tid %d sets %+v", th, tid, want)
	}
}
