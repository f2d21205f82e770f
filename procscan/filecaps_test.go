package procscan

import (
	"encoding/binary"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/sys/unix"
)

// vfsCap builds a security.capability value (struct vfs_cap_data):
// magic|flags, then permitted/inheritable pairs of 32-bit words, then the
// root uid for revision 3.
func vfsCap(rev int, effective bool, prm, inh uint64, rootid uint32) []byte {
	magic := uint32(rev) << 24
	if effective {
		magic |= 1
	}
	b := binary.LittleEndian.AppendUint32(nil, magic)
	b = binary.LittleEndian.AppendUint32(b, uint32(prm))
	b = binary.LittleEndian.AppendUint32(b, uint32(inh))
	if rev == 1 {
		return b
	}
	b = binary.LittleEndian.AppendUint32(b, uint32(prm>>32))
	b = binary.LittleEndian.AppendUint32(b, uint32(inh>>32))
	if rev == 3 {
		b = binary.LittleEndian.AppendUint32(b, rootid)
	}
	return b
}

const netRaw = 1 << 13

func TestDecodeFileCaps(t *testing.T) {
	for _, c := range []struct {
		name string
		blob []byte
		want string
		ok   bool
	}{
		{"v2 cap_net_raw+ep", vfsCap(2, true, netRaw, 0, 0), "cap_net_raw=ep", true},
		{"v2 cap_net_raw+p", vfsCap(2, false, netRaw, 0, 0), "cap_net_raw=p", true},
		{"v2 inheritable only", vfsCap(2, false, 0, netRaw, 0), "cap_net_raw=i", true},
		{"v2 inheritable only, effective flag", vfsCap(2, true, 0, netRaw, 0), "cap_net_raw=ei", true},
		{"v3 cap_net_raw+ep", vfsCap(3, true, netRaw, 0, 1000), "cap_net_raw=ep", true},
		{"v3 inheritable only", vfsCap(3, false, 0, 1<<0|1<<5, 0), "cap_chown,cap_kill=i", true},
		{"v3 high word", vfsCap(3, true, 1<<40, 0, 0), "cap_checkpoint_restore=ep", true},
		{"v2 mixed", vfsCap(2, false, netRaw|1<<10, netRaw, 0), "cap_net_raw=ip cap_net_bind_service+p", true},
		{"v1", vfsCap(1, true, 1<<7|1<<6, 0, 0), "cap_setgid,cap_setuid=ep", true},
		{"v2 empty", vfsCap(2, true, 0, 0, 0), "", true},
		{"v2 short", vfsCap(2, true, netRaw, 0, 0)[:16], "", false},
		{"v1 short", vfsCap(1, true, netRaw, 0, 0)[:8], "", false},
		{"bad magic", vfsCap(4, true, netRaw, 0, 0), "", false},
		{"nothing", nil, "", false},
		{"three bytes", []byte{1, 0, 0}, "", false},
	} {
		got, ok := decodeFileCaps(c.blob)
		if got != c.want || ok != c.ok {
			t.Errorf("%s (% x): %q %v, want %q %v", c.name, c.blob, got, ok, c.want, c.ok)
		}
	}
}

// TestFileCapsLive sets file capabilities with setcap on a copy of sleep,
// checks fileCaps against getcap, and runs it to see FileCaps on the
// process.
func TestFileCapsLive(t *testing.T) {
	requireRoot(t)
	setcap, err1 := exec.LookPath("setcap")
	getcap, err2 := exec.LookPath("getcap")
	if err1 != nil || err2 != nil {
		t.Skip("setcap/getcap not installed (libcap2-bin)")
	}
	dir := t.TempDir()
	bin := filepath.Join(dir, "capsleep")
	copyFile(t, sleepPath(t), bin)
	for _, text := range []string{"cap_net_raw=ep", "cap_net_raw=i", "cap_net_raw=ei", "cap_net_bind_service+p cap_net_raw+ip", "cap_chown,cap_net_raw,cap_kill+eip", "cap_checkpoint_restore+ep"} {
		if out, err := exec.Command(setcap, text, bin).CombinedOutput(); err != nil {
			if strings.Contains(string(out), "Operation not supported") {
				t.Skipf("%s: no security xattrs here: %s", dir, out)
			}
			t.Fatalf("setcap %s: %v %s", text, err, out)
		}
		out, err := exec.Command(getcap, bin).Output()
		if err != nil {
			t.Fatal(err)
		}
		want := strings.TrimSpace(strings.TrimPrefix(strings.TrimSpace(string(out)), bin))
		if got, unknown := fileCaps(bin); got != want || unknown {
			t.Errorf("setcap %q: fileCaps %q, getcap %q", text, got, want)
		}
	}
	// A process running the file shows its file capabilities.
	if err := unix.Setxattr(bin, "security.capability", vfsCap(2, true, netRaw, 0, 0), 0); err != nil {
		t.Fatal(err)
	}
	cmd := startChild(t, bin, "60")
	s := liveScanner(t)
	p := waitProcess(t, s, cmd.Process.Pid, func(p Process) bool { return p.Comm == "capsleep" })
	if p.FileCaps != "cap_net_raw=ep" {
		t.Errorf("FileCaps %q", p.FileCaps)
	}
	s.FileCaps = false
	if p, err := s.Process(cmd.Process.Pid); err != nil || p.FileCaps != "" {
		t.Errorf("FileCaps off: %q %v", p.FileCaps, err)
	}
	if err := os.Remove(bin); err != nil {
		t.Fatal(err)
	}
}
