package kernel

import (
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"unsafe"

	"captune/capset"
)

// stepsEnv carries the steps for the helper process (TestMain): the test
// binary re-executed as root runs them on one locked thread with the
// real system calls, then prints its status (or execs a program that
// prints it).
const stepsEnv = "CAPTUNE_KERNEL_STEPS"

func TestMain(m *testing.M) {
	if steps := os.Getenv(stepsEnv); steps != "" {
		runtime.LockOSThread()
		if err := runSteps(strings.Split(steps, ";")); err != nil {
			fmt.Fprintln(os.Stderr, "helper:", err)
			os.Exit(3)
		}
		os.Exit(0)
	}
	os.Exit(m.Run())
}

func rawErr(errno syscall.Errno) error {
	if errno != 0 {
		return errno
	}
	return nil
}

func realCapset(p, e, i capset.Set) error {
	hdr := struct {
		version uint32
		pid     int32
	}{version: 0x20080522}
	var data [2]struct{ eff, perm, inh uint32 }
	for k := range 2 {
		sh := 32 * k
		data[k].eff, data[k].perm, data[k].inh = uint32(e>>sh), uint32(p>>sh), uint32(i>>sh)
	}
	_, _, errno := syscall.RawSyscall(syscall.SYS_CAPSET, uintptr(unsafe.Pointer(&hdr)), uintptr(unsafe.Pointer(&data[0])), 0)
	return rawErr(errno)
}

func prctl(op, a uintptr, b uintptr) error {
	_, _, errno := syscall.RawSyscall6(syscall.SYS_PRCTL, op, a, b, 0, 0, 0)
	return rawErr(errno)
}

// runSteps runs "capset P E I" (hex), "keepcaps", "nnp", "setresuid R E S",
// "ambient N", "dropbnd N" and a last "exec PATH" or nothing (print the
// thread's status).
func runSteps(steps []string) error {
	for _, s := range steps {
		f := strings.Fields(s)
		num := func(i int, base int) uint64 {
			v, _ := strconv.ParseUint(f[i], base, 64)
			return v
		}
		var err error
		switch f[0] {
		case "capset":
			err = realCapset(capset.Set(num(1, 16)), capset.Set(num(2, 16)), capset.Set(num(3, 16)))
		case "keepcaps":
			err = prctl(syscall.PR_SET_KEEPCAPS, 1, 0)
		case "nnp":
			err = prctl(38 /* PR_SET_NO_NEW_PRIVS */, 1, 0)
		case "setresuid":
			_, _, errno := syscall.RawSyscall(syscall.SYS_SETRESUID, uintptr(num(1, 10)), uintptr(num(2, 10)), uintptr(num(3, 10)))
			err = rawErr(errno)
		case "ambient":
			err = prctl(47 /* PR_CAP_AMBIENT */, 2 /* RAISE */, uintptr(num(1, 10)))
		case "dropbnd":
			err = prctl(syscall.PR_CAPBSET_DROP, uintptr(num(1, 10)), 0)
		case "exec":
			err = syscall.Exec(f[1], []string{"cat", "/proc/self/status"}, nil)
		default:
			err = fmt.Errorf("unknown step %q", s)
		}
		if err != nil {
			return fmt.Errorf("%s: %v", s, err)
		}
	}
	b, err := os.ReadFile("/proc/thread-self/status")
	if err != nil {
		return err
	}
	_, err = os.Stdout.Write(b)
	return err
}

// parseStatus reads the uids and the five sets from a status file.
func parseStatus(t *testing.T, text string) Cred {
	t.Helper()
	var c Cred
	for _, ln := range strings.Split(text, "\n") {
		k, v, ok := strings.Cut(ln, ":")
		if !ok {
			continue
		}
		v = strings.TrimSpace(v)
		set := func() capset.Set {
			s, err := capset.ParseHex(v)
			if err != nil {
				t.Fatalf("%s: %v", ln, err)
			}
			return s
		}
		switch k {
		case "Uid":
			f := strings.Fields(v)
			u := func(i int) uint32 { n, _ := strconv.ParseUint(f[i], 10, 32); return uint32(n) }
			c.UID, c.EUID, c.SUID = u(0), u(1), u(2)
		case "CapInh":
			c.Inheritable = set()
		case "CapPrm":
			c.Permitted = set()
		case "CapEff":
			c.Effective = set()
		case "CapBnd":
			c.Bounding = set()
		case "CapAmb":
			c.Ambient = set()
		}
	}
	return c
}

// TestModelMatchesTheKernel runs scenarios on the running kernel (as root,
// in a helper process) and through the model, and compares the
// resulting uids and five sets. Each is one of the rules the explorer's
// primer states.
func TestModelMatchesTheKernel(t *testing.T) {
	if os.Getenv("CAPTUNE_E2E") == "" {
		t.Skip("end-to-end: set CAPTUNE_E2E=1 (needs root and setcap)")
	}
	if os.Geteuid() != 0 {
		t.Fatal("this test needs root, and CAPTUNE_E2E is set")
	}
	setcap, err := exec.LookPath("setcap")
	if err != nil {
		if setcap, err = exec.LookPath("/usr/sbin/setcap"); err != nil {
			t.Fatalf("setcap is not installed (apt-get install libcap2-bin): %v", err)
		}
	}
	self, err := os.ReadFile("/proc/self/status")
	if err != nil {
		t.Fatal(err)
	}
	start := parseStatus(t, string(self))
	start.Secure, start.NoNewPrivs = Securebits{}, false
	full := start.Bounding
	if start.Permitted != full || !full.Has(capset.NetRaw) || !full.Has(capset.Setpcap) {
		t.Fatalf("the test runs as a root with every capability of its bounding set (it has %+v)", start)
	}
	dir, err := os.MkdirTemp("", "captune-kernel-e2e-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	// program copies /bin/cat into the folder with the given file
	// capabilities ("" for none).
	program := func(name, caps string) string {
		src, err := os.Open("/bin/cat")
		if err != nil {
			t.Fatal(err)
		}
		defer src.Close()
		path := filepath.Join(dir, name)
		dst, err := os.OpenFile(path, os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o755)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := io.Copy(dst, src); err != nil {
			t.Fatal(err)
		}
		dst.Close()
		if caps != "" {
			if out, err := exec.Command(setcap, caps, path).CombinedOutput(); err != nil {
				t.Fatalf("setcap %s: %v %s", caps, err, out)
			}
		}
		return path
	}
	plain := program("plain", "")
	rawI := program("raw-i", "cap_net_raw+ei")
	hex := func(s capset.Set) string { return strconv.FormatUint(uint64(s), 16) }
	nr := capset.NetRaw

	type op struct {
		step string
		do   func(Cred) (Cred, error)
	}
	capsetOp := func(p, e, i capset.Set) op {
		return op{fmt.Sprintf("capset %s %s %s", hex(p), hex(e), hex(i)), func(c Cred) (Cred, error) { return c.Capset(p, e, i) }}
	}
	resuid := func(r, e, s uint32) op {
		return op{fmt.Sprintf("setresuid %d %d %d", r, e, s), func(c Cred) (Cred, error) { return c.SetResUID(int64(r), int64(e), int64(s)) }}
	}
	keep := op{"keepcaps", func(c Cred) (Cred, error) { c.Secure.KeepCaps = true; return c, nil }}
	nnp := op{"nnp", func(c Cred) (Cred, error) { c.NoNewPrivs = true; return c, nil }}
	ambient := func(cp capset.Cap) op {
		return op{fmt.Sprintf("ambient %d", cp), func(c Cred) (Cred, error) { return c.RaiseAmbient(cp) }}
	}
	dropbnd := func(cp capset.Cap) op {
		return op{fmt.Sprintf("dropbnd %d", cp), func(c Cred) (Cred, error) { return c.DropBounding(cp) }}
	}
	execOp := func(path string, f File) op {
		return op{"exec " + path, func(c Cred) (Cred, error) { return Exec(c, f) }}
	}
	for _, sc := range []struct {
		name string
		ops  []op
	}{
		{"exec with real uid 0 and effective uid 1000: permitted from the bounding set, effective empty",
			[]op{resuid(0, 1000, 0), execOp(plain, File{})}},
		{"exec as root: permitted and effective are the bounding set",
			[]op{execOp(plain, File{})}},
		{"an inheritable capability outside the bounding set is gained at execve",
			[]op{capsetOp(full, full, capset.Of(nr)), dropbnd(nr), keep, resuid(1000, 1000, 1000),
				execOp(rawI, File{Caps: true, Inheritable: capset.Of(nr), Effective: true})}},
		{"KEEPCAPS with the effective uid already nonzero: effective stays",
			[]op{resuid(0, 1000, 0), capsetOp(full, capset.Of(nr), 0), keep, resuid(1000, 1000, 1000)}},
		{"KEEPCAPS from euid 0: effective cleared, permitted kept",
			[]op{keep, resuid(1000, 1000, 1000)}},
		{"ambient survives the execve of a plain program",
			[]op{capsetOp(full, full, capset.Of(nr)), keep, resuid(1000, 1000, 1000), ambient(nr), execOp(plain, File{})}},
		{"no_new_privs: an execve as root adds nothing to permitted",
			[]op{capsetOp(capset.Of(capset.Chown), capset.Of(capset.Chown), 0), nnp, execOp(plain, File{})}},
	} {
		t.Run(sc.name, func(t *testing.T) {
			want := start
			var steps []string
			for _, o := range sc.ops {
				steps = append(steps, o.step)
				if want, err = o.do(want); err != nil {
					t.Fatalf("model: %s: %v", o.step, err)
				}
			}
			cmd := exec.Command(os.Args[0], "-test.run=^$")
			cmd.Env = append(os.Environ(), stepsEnv+"="+strings.Join(steps, ";"))
			out, err := cmd.Output()
			if err != nil {
				t.Fatalf("helper: %v %s", err, out)
			}
			got := parseStatus(t, string(out))
			want.Secure, want.NoNewPrivs = Securebits{}, false
			if got != want {
				t.Errorf("steps %q\nkernel %+v\nmodel  %+v", steps, got, want)
			}
		})
	}
}
