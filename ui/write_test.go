package ui

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestExpandPath(t *testing.T) {
	lookup := func(name string) (string, error) {
		if name == "alice" {
			return "/home/alice", nil
		}
		return "", os.ErrNotExist
	}
	for _, c := range []struct{ in, home, want, err string }{
		{"~", "/root", "/root", ""},
		{"~/mod_cap.conf", "/root", "/root/mod_cap.conf", ""},
		{"~alice/x.conf", "/root", "/home/alice/x.conf", ""},
		{"~bob/x.conf", "/root", "", "~bob: no such user"},
		{"~/x", "", "", "~: HOME is not set"},
		{"/etc/x~", "/root", "/etc/x~", ""},
		{"a~/b", "/root", "", ""},
	} {
		got, err := expandPath(c.in, c.home, lookup)
		switch {
		case c.err != "":
			if err == nil || err.Error() != c.err {
				t.Errorf("%q: err %v, want %q", c.in, err, c.err)
			}
		case err != nil:
			t.Errorf("%q: %v", c.in, err)
		case c.want != "" && got != c.want:
			t.Errorf("%q: %q, want %q", c.in, got, c.want)
		case c.want == "" && !filepath.IsAbs(got):
			t.Errorf("%q: %q is not absolute", c.in, got)
		}
	}
}

// flat joins a screen's words with single spaces (undoing wrapping).
func flat(s string) string { return strings.Join(strings.Fields(s), " ") }

// writeTo drives e, w, the name and enter, running the write.
func writeTo(t *testing.T, m Model, name string) Model {
	t.Helper()
	m = press(m, "e", "w")
	m = typeText(m, name)
	return runKey(m, "enter")
}

// TestWriteExpandsHome: w writes ~/NAME into $HOME and says where.
func TestWriteExpandsHome(t *testing.T) {
	home := t.TempDir()
	t.Setenv("HOME", home)
	m := writeTo(t, newTest(t, 120, 40), "~/mod_cap.conf")
	want := filepath.Join(home, "mod_cap.conf")
	b, err := os.ReadFile(want)
	if err != nil || !strings.Contains(string(b), "CapabilitiesEngine on") {
		t.Fatalf("%s: %v %q (status %q)", want, err, b, m.status)
	}
	if m.statusErr || m.status != "wrote ~/mod_cap.conf ("+want+")" {
		t.Errorf("status %q", m.status)
	}
	if fi, _ := os.Stat(want); fi.Mode().Perm() != 0o644 {
		t.Errorf("mode %v", fi.Mode())
	}
	if left, _ := filepath.Glob(filepath.Join(home, ".*captune*")); len(left) > 0 {
		t.Errorf("temporary files left: %v", left)
	}
}

// TestWriteErrorsNameTheTarget: a failed write names the file the user
// asked for, never the hidden temporary file, and leaves nothing.
func TestWriteErrorsNameTheTarget(t *testing.T) {
	dir := t.TempDir()
	notDir := filepath.Join(dir, "plain")
	if err := os.WriteFile(notDir, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct{ name, want string }{
		{filepath.Join(dir, "missing", "x.conf"), "its folder " + filepath.Join(dir, "missing") + "/: no such file or directory"},
		{filepath.Join(notDir, "x.conf"), "its folder " + notDir + "/: not a directory"},
		{dir, "is a folder"},
	} {
		m := writeTo(t, newTest(t, 120, 40), c.name)
		if !m.statusErr || !strings.HasPrefix(m.status, "not written: "+c.name+": ") || !strings.Contains(m.status, c.want) || strings.Contains(m.status, ".captune") {
			t.Errorf("%s: status %q, want the target and %q", c.name, m.status, c.want)
		}
	}
	if left, _ := filepath.Glob(filepath.Join(dir, ".*captune*")); len(left) > 0 {
		t.Errorf("temporary files left: %v", left)
	}
}

// TestWriteNoStaleStatus: what the status line said before a write is
// gone once the write starts, so it never reads as the write's result.
func TestWriteNoStaleStatus(t *testing.T) {
	dir := t.TempDir()
	m := newTest(t, 120, 40)
	m.setStatus("wrote /somewhere/else.conf")
	m = press(m, "e", "w")
	if m.status != "" {
		t.Errorf("w kept the old status %q", m.status)
	}
	m = press(m, "enter")
	if !m.statusErr || m.status != "no file name given" {
		t.Errorf("status %q", m.status)
	}
	existing := filepath.Join(dir, "there.conf")
	os.WriteFile(existing, []byte("x"), 0o644)
	m = typeText(m, existing)
	m = runKey(m, "enter")
	if m.overlay != overlayOverwrite || m.status != "" {
		t.Errorf("at the question: overlay %d, status %q", m.overlay, m.status)
	}
	if s := flat(screen(m)); !strings.Contains(s, existing+" is a file of 1 bytes: overwrite? y/N") {
		t.Errorf("question:\n%s", s)
	}
	m = press(m, "n")
	if m.status != "not written: "+existing+" is there" {
		t.Errorf("after n: %q", m.status)
	}
}

// TestWriteReplacesASymlinkWithoutFollowing: a symbolic link at the
// target is named in the question and replaced; what it points to is not
// written.
func TestWriteReplacesASymlinkWithoutFollowing(t *testing.T) {
	dir := t.TempDir()
	victim := filepath.Join(dir, "victim")
	os.WriteFile(victim, []byte("secret\n"), 0o600)
	link := filepath.Join(dir, "out.conf")
	if err := os.Symlink(victim, link); err != nil {
		t.Fatal(err)
	}
	m := writeTo(t, newTest(t, 120, 40), link)
	if s := flat(screen(m)); !strings.Contains(s, "a symbolic link to "+victim+" (the link is replaced, its target is not written)") {
		t.Errorf("question:\n%s", s)
	}
	m = runKey(m, "y")
	if b, _ := os.ReadFile(victim); string(b) != "secret\n" {
		t.Errorf("the link's target was written: %q", b)
	}
	if fi, err := os.Lstat(link); err != nil || !fi.Mode().IsRegular() {
		t.Errorf("target is not a regular file now: %v %v (status %q)", fi.Mode(), err, m.status)
	}
	if fi, _ := os.Stat(victim); fi.Mode().Perm() != 0o600 {
		t.Errorf("victim mode changed: %v", fi.Mode())
	}
}
