package launch

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"golang.org/x/sys/unix"
)

// needTool finds a program, or skips (fails under CAPTUNE_E2E).
func needTool(t *testing.T, name string) string {
	t.Helper()
	for _, dir := range []string{"/usr/sbin", "/sbin", "/usr/bin", "/bin"} {
		if p := filepath.Join(dir, name); isExec(p) {
			return p
		}
	}
	if p, err := exec.LookPath(name); err == nil {
		return p
	}
	if os.Getenv("CAPTUNE_E2E") != "" {
		t.Fatalf("%s is not installed, and CAPTUNE_E2E is set", name)
	}
	t.Skipf("%s is not installed (set CAPTUNE_E2E=1 to make this a failure)", name)
	return ""
}

func isExec(p string) bool {
	fi, err := os.Stat(p)
	return err == nil && fi.Mode().IsRegular() && fi.Mode()&0o111 != 0
}

// copyBinary copies the test binary (which stands in for captune) into
// dir, readable and executable by every uid.
func copyBinary(t *testing.T, dir, name string) string {
	t.Helper()
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	src, err := os.Open(self)
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	dst := filepath.Join(dir, name)
	out, err := os.OpenFile(dst, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o755)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := io.Copy(out, src); err != nil {
		t.Fatal(err)
	}
	if err := out.Close(); err != nil {
		t.Fatal(err)
	}
	return dst
}

// asNobody runs a command as uid and gid 65534 without groups, or through
// capsh with capabilities in nobody's ambient set.
func asNobody(capsh, caps string, env []string, argv ...string) *exec.Cmd {
	var cmd *exec.Cmd
	if caps == "" {
		cmd = exec.Command(argv[0], argv[1:]...)
		cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: 65534, Gid: 65534, Groups: []uint32{}}}
	} else {
		quoted := make([]string, len(argv))
		for i, a := range argv {
			quoted[i] = "'" + strings.ReplaceAll(a, "'", `'\''`) + "'"
		}
		cmd = exec.Command(capsh, "--caps="+caps+"+eip", "--keep=1", "--user=nobody", "--addamb="+caps, "--", "-c", "exec "+strings.Join(quoted, " "))
	}
	cmd.Env = append([]string{"PATH=/usr/sbin:/usr/bin:/sbin:/bin"}, env...)
	cmd.Dir = "/"
	return cmd
}

// TestHiddenModesRefuseHostileCallers runs the hidden modes directly as
// an unprivileged user who holds capabilities: from a copy of the binary
// with file capabilities (setcap cap_setuid,cap_setgid,cap_setpcap+ep),
// and inside capsh with those capabilities in nobody's ambient set. The
// hostile plan asks the supervisor to run a shell as uid 0 with the whole
// bounding set (an exec as uid 0 would refill permitted from it); a shell
// that ran would write its uid into a marker file. The plan comes in the
// old way (argv, with pipes on fds 3 and 4), over a socket the caller
// made, from a caller that is the same executable (so that the parent
// check passes and the supervisor's own Check must refuse), and by a
// caller that execs the hidden mode in place. Every attempt is refused
// and the marker never appears. The janitor, told by such a caller to
// kill PID 1's group or remove /etc, refuses; the probe daemon, pointed
// at a folder of nobody's whose fixture is a hard link to a root-owned
// 0600 file, refuses the folder and the file keeps its mode.
func TestHiddenModesRefuseHostileCallers(t *testing.T) {
	needRoot(t)
	capsh := needTool(t, "capsh")
	setcap := needTool(t, "setcap")
	getcap := needTool(t, "getcap")
	dir := parentDir(t)
	plain := copyBinary(t, dir, "captune-plain")
	capped := copyBinary(t, dir, "captune-capped")
	if out, err := exec.Command(setcap, "cap_setuid,cap_setgid,cap_setpcap+ep", capped).CombinedOutput(); err != nil {
		t.Fatalf("setcap: %v %s", err, out)
	}
	if out, _ := exec.Command(getcap, capped).Output(); !strings.Contains(string(out), "cap_setgid,cap_setuid,cap_setpcap=ep") {
		t.Fatalf("the file system of %s keeps no file capabilities: getcap says %q", dir, out)
	}
	outDir := filepath.Join(dir, "out")
	os.Mkdir(outDir, 0o777)
	os.Chmod(outDir, 0o777)
	marker := filepath.Join(outDir, "ran-as")
	shell := []string{"sh", "-c", "id -u > " + marker + "; grep CapEff /proc/self/status >> " + marker}
	hostileSpec, _ := json.Marshal(superviseSpec{Path: "/bin/sh", Args: shell, UID: 0, GID: 0, Bnd: all})
	// The spec as the supervisor once took it from its command line.
	argvSpec, _ := json.Marshal(map[string]any{"path": "/bin/sh", "args": shell, "uid": 0, "gid": 0, "groups": []int{}, "inh": 0, "amb": 0, "bnd": uint64(all), "keep": 0})
	const caps = "cap_setuid,cap_setgid,cap_setpcap"

	hostileEnv := func(h hostile) []string {
		b, _ := json.Marshal(h)
		return []string{"CAPTUNE_TEST_HOSTILE=" + string(b)}
	}
	cases := []struct {
		name string
		cmd  *exec.Cmd
		want []string // in the output
	}{
		{"setcap copy, plan in argv", asNobody("", "", nil, "/bin/sh", "-c", "exec \"$0\" "+SuperviseArg+" \"$1\" 3</dev/null 4>/dev/null", capped, string(argvSpec)),
			[]string{"takes its plan from the captune that starts it"}},
		{"capsh, plan in argv", asNobody(capsh, caps, nil, "/bin/sh", "-c", "exec \"$0\" "+SuperviseArg+" \"$1\" 3</dev/null 4>/dev/null", plain, string(argvSpec)),
			[]string{"takes its plan from the captune that starts it"}},
		{"capsh, no socket", asNobody(capsh, caps, nil, "/bin/sh", "-c", "exec \"$0\" "+SuperviseArg+" 3</dev/null 4>/dev/null", plain),
			[]string{"started by captune, not by hand"}},
		{"capsh, caller of the same executable", asNobody(capsh, caps, hostileEnv(hostile{Target: plain, Mode: SuperviseArg, Messages: []json.RawMessage{hostileSpec}}), plain),
			[]string{`"refused":true`, "the supervisor refuses the plan", "outside captune's own permitted and bounding sets", "exit 4"}},
		{"setcap copy, caller of the same executable", asNobody("", "", hostileEnv(hostile{Target: capped, Mode: SuperviseArg, Messages: []json.RawMessage{hostileSpec}}), capped),
			[]string{`"refused":true`, "cannot be looked at", "exit 4"}},
		{"setcap copy, caller is another program", asNobody("", "", hostileEnv(hostile{Target: capped, Mode: SuperviseArg, Messages: []json.RawMessage{hostileSpec}}), plain),
			[]string{`"refused":true`, "exit 4"}},
		{"capsh, hidden mode exec'd in place", asNobody(capsh, caps, hostileEnv(hostile{Target: plain, Mode: SuperviseArg, Exec: true, Messages: []json.RawMessage{hostileSpec}}), plain),
			[]string{"not by the parent PID"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			os.Remove(marker)
			out, err := c.cmd.CombinedOutput()
			t.Logf("%s", out)
			if _, statErr := os.Stat(marker); statErr == nil {
				b, _ := os.ReadFile(marker)
				t.Fatalf("the hostile shell ran: %q\n%s", b, out)
			}
			if ee, ok := err.(*exec.ExitError); ok && ee.ExitCode() == 0 {
				t.Errorf("exit 0")
			}
			for _, w := range c.want {
				if !strings.Contains(string(out), w) {
					t.Errorf("output lacks %q:\n%s", w, out)
				}
			}
		})
	}

	t.Run("janitor", func(t *testing.T) {
		reqs := []json.RawMessage{
			json.RawMessage(`{"op":"group","pid":1}`),
			json.RawMessage(`{"op":"dir","path":"/etc"}`),
			json.RawMessage(`{"op":"dir","path":"/tmp/captune-65534/../../etc"}`),
			json.RawMessage(`{"op":"keep","path":"/etc","pid":1}`),
		}
		before := stamp("/etc")
		out, _ := asNobody(capsh, caps+",cap_kill,cap_dac_override,cap_fowner", hostileEnv(hostile{Target: plain, Mode: JanitorArg, Messages: reqs}), plain).CombinedOutput()
		t.Logf("%s", out)
		if n := strings.Count(string(out), `reply: {"ok":false,"error":`); n != len(reqs) {
			t.Errorf("%d refusals of %d requests:\n%s", n, len(reqs), out)
		}
		if stamp("/etc") != before {
			t.Error("/etc changed")
		}
		if err := syscall.Kill(1, 0); err != nil {
			t.Errorf("PID 1: %v", err)
		}
	})

	t.Run("probe daemon", func(t *testing.T) {
		// A root-owned 0600 file outside, and a folder of nobody's shaped
		// like a probe folder whose chmod-me is a hard link to it.
		target := filepath.Join(dir, "root-secret")
		if err := os.WriteFile(target, []byte("root's\n"), 0o600); err != nil {
			t.Fatal(err)
		}
		place := filepath.Join(dir, "captune-65534")
		probeDir := filepath.Join(place, "probe-aaaaaaaaaaaa")
		os.MkdirAll(probeDir, 0o755)
		for _, f := range fixtures(65534, 65534) {
			p := filepath.Join(probeDir, f.name)
			if f.name == fileChmod || f.name == fileChown {
				if err := os.Link(target, p); err != nil {
					t.Fatal(err)
				}
				continue
			}
			os.WriteFile(p, []byte(f.content), os.FileMode(f.mode))
			os.Chown(p, int(f.uid), int(f.gid))
		}
		os.Chown(place, 65534, 65534)
		os.Chown(probeDir, 65534, 65534)
		before := stamp(target)
		for _, c := range []struct {
			name string
			cmd  *exec.Cmd
			want string
		}{
			{"plan over a socket", asNobody(capsh, caps+",cap_chown,cap_fowner,cap_dac_override", hostileEnv(hostile{Target: plain, Mode: TestdArg, RecordDir: probeDir}), plain), "the probe daemon refuses its folder"},
			{"plan in argv", asNobody(capsh, caps+",cap_chown,cap_fowner,cap_dac_override", nil, "/bin/sh", "-c", "exec \"$0\" "+TestdArg+" \"$1\" 3</dev/null 4>/dev/null", plain,
				fmt.Sprintf(`{"shape":false,"dir":%q,"other_uid":0,"other_gid":0,"keep":0}`, probeDir)), "takes its plan from the captune that starts it"},
		} {
			out, _ := c.cmd.CombinedOutput()
			t.Logf("%s: %s", c.name, out)
			if !strings.Contains(string(out), c.want) {
				t.Errorf("%s: output lacks %q:\n%s", c.name, c.want, out)
			}
			if after := stamp(target); after != before {
				t.Errorf("%s: the root-owned file changed: %+v -> %+v", c.name, before, after)
			}
		}
	})
}

// fileStamp is what a change to a file would alter.
type fileStamp struct {
	mode     uint32
	uid, gid uint32
	size     int64
	ctime    unix.Timespec
}

func stamp(path string) fileStamp {
	var st unix.Stat_t
	if unix.Lstat(path, &st) != nil {
		return fileStamp{}
	}
	return fileStamp{st.Mode, st.Uid, st.Gid, st.Size, st.Ctim}
}
