package cli

import (
	"bufio"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"captune/launch"
)

// fileStamp is what a change to a file or folder would alter.
type fileStamp struct {
	exists       bool
	mode         uint32
	uid, gid     uint32
	size         int64
	mtime, ctime syscall.Timespec
}

func stampOf(path string) fileStamp {
	var st syscall.Stat_t
	if err := syscall.Lstat(path, &st); err != nil {
		return fileStamp{}
	}
	return fileStamp{true, st.Mode, st.Uid, st.Gid, st.Size, st.Mtim, st.Ctim}
}

// sensitive are files and folders a probe daemon holding cap_chown,
// cap_dac_override or cap_fowner could change if it strayed from its
// folder.
var sensitive = []string{
	"/etc", "/etc/passwd", "/etc/shadow", "/etc/group", "/etc/gshadow", "/etc/sudoers",
	"/etc/proftpd", "/etc/proftpd/proftpd.conf", "/root", "/home", "/var/tmp", "/dev/shm",
	"/usr/bin", "/usr/sbin", "/bin", "/sbin",
}

// daemonPID finds the probe daemon among the children of pid.
func daemonPID(pid int) int {
	for _, c := range childrenOf(pid) {
		b, _ := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", c))
		if argv := strings.Split(string(b), "\x00"); len(argv) > 1 && argv[1] == launch.TestdArg {
			return c
		}
	}
	return 0
}

// socketAddrs maps socket inodes to their local address in /proc/net's
// tcp, tcp6, udp, udp6 and raw tables.
func socketAddrs() map[string]string {
	out := map[string]string{}
	if b, err := os.ReadFile("/proc/net/unix"); err == nil {
		// Num RefCount Protocol Flags Type St Inode [Path]
		for i, ln := range strings.Split(string(b), "\n") {
			if f := strings.Fields(ln); i > 0 && len(f) == 7 {
				out[f[6]] = "unix" // unnamed: a socket pair
			} else if i > 0 && len(f) > 7 {
				out[f[6]] = "unix " + f[7]
			}
		}
	}
	for _, table := range []string{"tcp", "tcp6", "udp", "udp6", "raw", "raw6"} {
		b, err := os.ReadFile("/proc/net/" + table)
		if err != nil {
			continue
		}
		for i, ln := range strings.Split(string(b), "\n") {
			f := strings.Fields(ln)
			if i == 0 || len(f) < 10 {
				continue
			}
			out[f[9]] = table + " " + procNetAddr(f[1])
		}
	}
	return out
}

// procNetAddr decodes /proc/net's "0100007F:03FF" (address in the
// kernel's byte order, port in hex) as "127.0.0.1:1023".
func procNetAddr(s string) string {
	a, p, ok := strings.Cut(s, ":")
	raw, err := hex.DecodeString(a)
	port, err2 := strconv.ParseUint(p, 16, 16)
	if !ok || err != nil || err2 != nil || (len(raw) != 4 && len(raw) != 16) {
		return "?" + s
	}
	// Each 32-bit word is in host (little-endian) order.
	for i := 0; i+4 <= len(raw); i += 4 {
		raw[i], raw[i+1], raw[i+2], raw[i+3] = raw[i+3], raw[i+2], raw[i+1], raw[i]
	}
	return net.JoinHostPort(net.IP(raw).String(), strconv.FormatUint(port, 10))
}

// fdWatch records every open file of a process, and every address its
// sockets were seen bound to, until stopped.
type fdWatch struct {
	mu      sync.Mutex
	targets map[string]bool
	addrs   map[string]string // socket inode -> last address seen
	polls   int
}

func (w *fdWatch) poll(pid int) {
	ents, err := os.ReadDir(fmt.Sprintf("/proc/%d/fd", pid))
	if err != nil {
		return
	}
	var socks []string
	w.mu.Lock()
	w.polls++
	for _, e := range ents {
		l, err := os.Readlink(fmt.Sprintf("/proc/%d/fd/%s", pid, e.Name()))
		if err != nil {
			continue
		}
		if !strings.HasPrefix(l, "pipe:[") && !strings.HasPrefix(l, "socket:[") && !strings.HasPrefix(l, "anon_inode:") {
			// Files: note how they are open (fdinfo flags, octal).
			if b, err := os.ReadFile(fmt.Sprintf("/proc/%d/fdinfo/%s", pid, e.Name())); err == nil {
				for _, fl := range strings.Split(string(b), "\n") {
					if v, ok := strings.CutPrefix(fl, "flags:"); ok {
						if f, err := strconv.ParseUint(strings.TrimSpace(v), 8, 32); err == nil && f&syscall.O_ACCMODE != syscall.O_RDONLY {
							l += " (open for writing)"
						}
					}
				}
			}
		}
		w.targets[l] = true
		if ino, ok := strings.CutPrefix(l, "socket:["); ok {
			socks = append(socks, strings.TrimSuffix(ino, "]"))
		}
	}
	w.mu.Unlock()
	if len(socks) == 0 {
		return
	}
	table := socketAddrs()
	w.mu.Lock()
	defer w.mu.Unlock()
	for _, ino := range socks {
		if a, ok := table[ino]; ok {
			if _, seen := w.addrs[ino]; !seen || !strings.HasSuffix(a, ":0") {
				w.addrs[ino] = a
			}
		} else if _, seen := w.addrs[ino]; !seen {
			w.addrs[ino] = "not in /proc/net (tcp, udp, raw)"
		}
	}
}

// TestApplyDaemonConfined runs apply --wait with broad sets (modcap mode
// with +CAP_DAC_OVERRIDE +CAP_FOWNER; raw mode with cap_chown,
// cap_dac_override, cap_fowner, cap_net_bind_service) and checks that the
// probe daemon touches only its own folder and 127.0.0.1: from its start
// its open files are watched (only its folder, /dev/null, pipes, sockets,
// the Go runtime's epoll/event descriptors and its read-only look at the
// cgroup CPU limit), every socket it holds is
// bound to 127.0.0.1 or not bound, sensitive files and folders outside are
// unchanged, the probe folder holds only its fixtures, a descriptor
// captune inherited never reaches the daemon, and after the stop the
// daemon and its folder are gone.
func TestApplyDaemonConfined(t *testing.T) {
	needRoot(t)
	bin := captuneBin(t)
	for _, args := range [][]string{
		{"+CAP_DAC_OVERRIDE", "+CAP_FOWNER"},
		{"--mode", "raw", "--set", "cap_chown,cap_dac_override,cap_fowner,cap_net_bind_service"},
	} {
		t.Run(strings.Join(args, " "), func(t *testing.T) {
			before := map[string]fileStamp{}
			for _, p := range sensitive {
				before[p] = stampOf(p)
			}
			tmp := ownTmp(t)
			cmd := exec.Command(bin, append([]string{"apply", "--yes", "--json", "--wait"}, args...)...)
			cmd.Env = append(os.Environ(), "TMPDIR="+tmp)
			// A descriptor captune inherits (here a file open for writing)
			// must not reach the daemon.
			inherited, err := os.OpenFile(filepath.Join(t.TempDir(), "inherited"), os.O_RDWR|os.O_CREATE, 0o600)
			if err != nil {
				t.Fatal(err)
			}
			defer inherited.Close()
			cmd.ExtraFiles = []*os.File{nil, nil, inherited} // fd 5: past the two the daemon gets
			stdout, _ := cmd.StdoutPipe()
			stdin, _ := cmd.StdinPipe()
			var stderr strings.Builder
			cmd.Stderr = &stderr
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { stdin.Close(); cmd.Process.Kill(); cmd.Wait() })

			// Watch the daemon from its first moment: the probes open and
			// close their files and the bind probe's socket quickly.
			w := &fdWatch{targets: map[string]bool{}, addrs: map[string]string{}}
			stop := make(chan struct{})
			watched := make(chan int, 1)
			go func() {
				pid := 0
				for {
					select {
					case <-stop:
						watched <- pid
						return
					default:
					}
					if pid == 0 {
						pid = daemonPID(cmd.Process.Pid)
					}
					if pid != 0 {
						w.poll(pid)
					}
				}
			}()
			var res applyOut
			if err := json.NewDecoder(stdout).Decode(&res); err != nil {
				close(stop)
				t.Fatalf("no JSON: %v\n%s", err, stderr.String())
			}
			if res.PID == 0 || !res.Match {
				close(stop)
				t.Fatalf("apply: pid %d, match %v, %v\n%s", res.PID, res.Match, res.Differences, stderr.String())
			}
			// Keep watching the running daemon for a moment.
			time.Sleep(300 * time.Millisecond)
			close(stop)
			if pid := <-watched; pid != res.PID {
				t.Fatalf("watched PID %d, the daemon is %d", pid, res.PID)
			}

			// The run's one private folder, in the test's own TMPDIR.
			dirs, _ := filepath.Glob(filepath.Join(tmp, "captune-0", "probe-*"))
			if len(dirs) != 1 {
				t.Fatalf("probe folders in %s: %v", tmp, dirs)
			}
			spec := struct{ Dir string }{dirs[0]}
			if fi, err := os.Stat(spec.Dir); err != nil || fi.Sys().(*syscall.Stat_t).Uid != 0 || fi.Mode().Perm() != 0o711 {
				t.Errorf("probe folder %s: %v, want root's, mode 0711 (the daemon's uid may not rename entries in it)", spec.Dir, err)
			}

			w.mu.Lock()
			t.Logf("%d polls of /proc/%d/fd; open files seen: %v; sockets: %v", w.polls, res.PID, keys(w.targets), w.addrs)
			for l := range w.targets {
				switch {
				case strings.HasPrefix(l, spec.Dir+"/"), l == spec.Dir, l == "/dev/null", l == "/dev/null (open for writing)",
					strings.HasPrefix(l, "pipe:["), strings.HasPrefix(l, "socket:["),
					l == "anon_inode:[eventpoll]", l == "anon_inode:[eventfd]", l == "anon_inode:[pidfd]",
					// The Go runtime reads its CPU limit at start (read-only):
					// its own cgroup and mountinfo, then the cgroup's files.
					strings.HasPrefix(l, "/sys/fs/cgroup/") && !strings.HasSuffix(l, "(open for writing)"),
					l == fmt.Sprintf("/proc/%d/mountinfo", res.PID), l == fmt.Sprintf("/proc/%d/cgroup", res.PID):
				default:
					t.Errorf("the daemon held %q, outside its folder %s", l, spec.Dir)
				}
			}
			for ino, a := range w.addrs {
				host, port, err := net.SplitHostPort(strings.TrimPrefix(strings.TrimPrefix(a, "tcp6 "), "tcp "))
				switch {
				case err == nil && port == "0" && (host == "0.0.0.0" || host == "::"):
					// created, not bound yet
				case err == nil && (host == "127.0.0.1" || host == "::ffff:127.0.0.1") && strings.HasPrefix(a, "tcp "):
				case a == "unix":
					// unnamed: captune's socket (the daemon's plan and report)
				default:
					t.Errorf("socket %s of the daemon: %s, not 127.0.0.1", ino, a)
				}
			}
			w.mu.Unlock()

			// The probe folder holds exactly its fixtures.
			ents, err := os.ReadDir(spec.Dir)
			if err != nil {
				t.Fatal(err)
			}
			var names []string
			for _, e := range ents {
				names = append(names, e.Name())
			}
			if got := strings.Join(names, " "); got != ".captune-owner chmod-me chown-me probe-area secret setgid-me writable" {
				t.Errorf("probe folder holds %q", got)
			}

			// Stop: end of input.
			stdin.Close()
			if err := cmd.Wait(); err != nil {
				t.Errorf("apply --wait: %v\n%s", err, stderr.String())
			}
			waitGone(t, res.PID, 5*time.Second)
			if _, err := os.Stat(spec.Dir); !os.IsNotExist(err) {
				t.Errorf("probe folder %s still there after the stop (%v)", spec.Dir, err)
			}
			if left := waitEmpty(tmp, 10*time.Second); left != "" {
				t.Errorf("left behind: %s", left)
			}
			for _, p := range sensitive {
				if after := stampOf(p); after != before[p] {
					t.Errorf("%s changed while the daemon ran: %+v -> %+v", p, before[p], after)
				}
			}
		})
	}
}

func keys(m map[string]bool) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	return out
}

// racerMain is a hostile process of the probe daemon's uid: for every
// folder path it reads on standard input it swaps the probe fixtures for
// symbolic links to target, as fast as it can, until its input ends; it
// then prints how many swaps it tried and how many the kernel allowed.
func racerMain(target string) int {
	paths := make(chan string, 64)
	go func() {
		sc := bufio.NewScanner(os.Stdin)
		for sc.Scan() {
			paths <- sc.Text()
		}
		close(paths)
	}()
	names := []string{"chmod-me", "chown-me", "setgid-me", "writable", "secret"}
	var dirs []string
	tried, done := 0, 0
	for {
		select {
		case p, ok := <-paths:
			if !ok {
				fmt.Printf("tried %d swaps, %d succeeded\n", tried, done)
				return 0
			}
			dirs = append(dirs, p)
			if len(dirs) > 4 {
				dirs = dirs[1:]
			}
		default:
		}
		if len(dirs) == 0 {
			time.Sleep(50 * time.Microsecond)
			continue
		}
		for _, d := range dirs {
			for _, n := range names {
				tmp := filepath.Join(d, ".swap-"+n)
				tried++
				if os.Symlink(target, tmp) == nil && os.Rename(tmp, filepath.Join(d, n)) == nil {
					done++
				}
			}
		}
	}
}

// TestProbeFolderSymlinkRace runs apply with broad sets (cap_fowner,
// cap_chown, cap_dac_override, cap_fsetid) 30 times while a process of the
// daemon's uid (nobody) swaps the probe fixtures for symbolic links to a
// root-owned 0600 file outside, as fast as it can, from the moment the
// folder appears (the test, as root, tells it the folder's path): the
// file keeps its mode, owner and content. (Before, the folder belonged to
// the daemon's uid and the probes followed the links: the file became
// 0640 in every try.)
func TestProbeFolderSymlinkRace(t *testing.T) {
	needRoot(t)
	tmp := ownTmp(t)
	shared := sharedDir(t, 0o755)
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	racerBin := filepath.Join(shared, "racer")
	if out, err := exec.Command("cp", self, racerBin).CombinedOutput(); err != nil {
		t.Fatalf("cp: %v %s", err, out)
	}
	target := filepath.Join(shared, "root-secret")
	if err := os.WriteFile(target, []byte("root's\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	before := stampOf(target)
	racer := exec.Command(racerBin)
	racer.Env = []string{"CAPTUNE_TEST_RACER=" + target}
	racer.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: nobodyID, Gid: nobodyID, Groups: []uint32{}}}
	racer.Dir = "/"
	feed, _ := racer.StdinPipe()
	var racerOut strings.Builder
	racer.Stdout = &racerOut
	if err := racer.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { feed.Close(); racer.Wait() }()
	seen := 0
	for try := 0; try < 30; try++ {
		cmd := captuneCmd(t, tmp, "apply", "--yes", "--json", "--mode", "raw", "--set", "cap_fowner,cap_chown,cap_dac_override,cap_fsetid")
		stop := make(chan struct{})
		found := make(chan bool, 1)
		go func() {
			told := map[string]bool{}
			for {
				select {
				case <-stop:
					found <- len(told) > 0
					return
				default:
				}
				for _, pat := range []string{filepath.Join(tmp, "captune-probe-*"), filepath.Join(tmp, "captune-0", "probe-*")} {
					m, _ := filepath.Glob(pat)
					for _, d := range m {
						if !told[d] {
							told[d] = true
							fmt.Fprintln(feed, d)
						}
					}
				}
				time.Sleep(100 * time.Microsecond)
			}
		}()
		out, err := cmd.CombinedOutput()
		close(stop)
		if <-found {
			seen++
		}
		if code := exitCode(err); code != 0 && code != 1 {
			t.Fatalf("try %d: exit %d\n%s", try, code, out)
		}
		if after := stampOf(target); after != before {
			t.Fatalf("try %d: the root-owned file changed: %+v -> %+v", try, before, after)
		}
	}
	feed.Close()
	racer.Wait()
	t.Logf("the folder was handed to the racer in %d of 30 tries; racer: %s", seen, strings.TrimSpace(racerOut.String()))
	if seen == 0 {
		t.Error("the racer never saw a probe folder")
	}
	if b, _ := os.ReadFile(target); string(b) != "root's\n" || stampOf(target) != before {
		t.Errorf("the root-owned file changed")
	}
}
