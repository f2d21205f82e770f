package launch

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
)

// needRoot skips without root, or fails when CAPTUNE_E2E is set.
func needRoot(t *testing.T) {
	t.Helper()
	if os.Geteuid() != 0 {
		if os.Getenv("CAPTUNE_E2E") != "" {
			t.Fatal("this test needs root, and CAPTUNE_E2E is set")
		}
		t.Skip("this test needs root (set CAPTUNE_E2E=1 to make this a failure)")
	}
}

// parentDir is a folder every uid may pass through, the test's own
// (directly in the temporary folder: t.TempDir's parent is 0700).
func parentDir(t *testing.T) string {
	t.Helper()
	dir, err := os.MkdirTemp("", "captune-launch-test-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	if !passable(dir) {
		t.Fatalf("%s is not passable", dir)
	}
	return dir
}

// placeUnder is the place under the test's own parent, never elsewhere.
func placeUnder(t *testing.T, parent string) Place {
	t.Helper()
	pl, err := PlaceIn(parent)
	if err != nil {
		t.Fatal(err)
	}
	if filepath.Dir(pl.Path) != parent {
		t.Fatalf("place %s is not in the test's folder %s", pl.Path, parent)
	}
	return pl
}

// deadHolder names a process that has ended.
func deadHolder(t *testing.T) Holder {
	t.Helper()
	cmd := exec.Command("/bin/true")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	h, err := HolderOf(cmd.Process.Pid)
	if err != nil {
		t.Fatal(err)
	}
	cmd.Wait()
	return h
}

func TestPlaceFolders(t *testing.T) {
	parent := parentDir(t)
	pl := placeUnder(t, parent)
	if want := filepath.Join(parent, placeName(os.Geteuid())); pl.Path != want {
		t.Fatalf("place %s, want %s", pl.Path, want)
	}
	self, err := HolderOf(os.Getpid())
	if err != nil {
		t.Fatal(err)
	}
	f, fd, err := pl.NewFolder("probe", []Holder{self})
	if err != nil {
		t.Fatal(err)
	}
	syscall.Close(fd)
	for path, mode := range map[string]os.FileMode{pl.Path: 0o711, f.Path: 0o711} {
		fi, err := os.Lstat(path)
		if err != nil || !fi.IsDir() || fi.Mode().Perm() != mode {
			t.Errorf("%s: %v %v, want a folder of mode %o", path, fi.Mode(), err, mode)
		}
	}
	if !validName(f.Name) || !strings.HasPrefix(f.Name, "probe-") {
		t.Errorf("name %q", f.Name)
	}
	pfd, err := pl.open(false)
	if err != nil {
		t.Fatal(err)
	}
	rec, err := readRecord(pfd, f.Name)
	syscall.Close(pfd)
	if err != nil || rec.Kind != "probe" || len(rec.Holders) != 1 || rec.Holders[0] != self || rec.stale(Holder{}) {
		t.Errorf("record %+v, %v", rec, err)
	}
	// A live holder keeps the folder through a sweep.
	if removed := pl.Sweep(); len(removed) != 0 {
		t.Errorf("sweep removed a live folder: %v", removed)
	}
	if err := f.Remove(); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Lstat(pl.Path); !os.IsNotExist(err) {
		t.Errorf("empty place %s left after the last folder (%v)", pl.Path, err)
	}
}

// TestSweep: a folder whose holders are all gone, or that was written
// before this boot, is removed; one with a live holder (a detached daemon
// beside a dead captune) stays; an unfinished one stays until it is old.
func TestSweep(t *testing.T) {
	pl := placeUnder(t, parentDir(t))
	self, _ := HolderOf(os.Getpid())
	dead := deadHolder(t)
	mk := func(holders ...Holder) Folder {
		f, fd, err := pl.NewFolder("verify", holders)
		if err != nil {
			t.Fatal(err)
		}
		syscall.Close(fd)
		return f
	}
	gone := mk(dead)
	kept := mk(dead, self)
	reused := mk(Holder{PID: self.PID, Start: self.Start + 1}) // same PID, another process
	// A record from another boot naming this very process.
	oldBoot := mk(self)
	rec := fmt.Sprintf(`{"kind":"verify","boot":"another-boot","holders":[{"pid":%d,"start":%d}]}`, self.PID, self.Start)
	os.Remove(filepath.Join(oldBoot.Path, ownerFile))
	if err := os.WriteFile(filepath.Join(oldBoot.Path, ownerFile), []byte(rec), 0o644); err != nil {
		t.Fatal(err)
	}
	// A detached daemon took over a folder of a captune that has ended.
	handed := mk(self)
	if err := handed.SetHolders("probe", []Holder{dead, self}); err != nil {
		t.Fatal(err)
	}
	// Unfinished folders: one of a live maker stays, one of a dead maker
	// goes (its maker died before writing the record).
	unfinished := filepath.Join(pl.Path, fmt.Sprintf(".new-%d.%d-probe-%s", self.PID, self.Start, randomName()))
	abandoned := filepath.Join(pl.Path, fmt.Sprintf(".new-%d.%d-probe-%s", dead.PID, dead.Start, randomName()))
	for _, d := range []string{unfinished, abandoned} {
		if err := os.Mkdir(d, 0o700); err != nil {
			t.Fatal(err)
		}
	}
	foreign := filepath.Join(pl.Path, "not-ours")
	if err := os.Mkdir(foreign, 0o700); err != nil {
		t.Fatal(err)
	}

	removed := pl.Sweep()
	want := map[string]bool{gone.Path: true, reused.Path: true, oldBoot.Path: true, abandoned: true}
	if len(removed) != len(want) {
		t.Errorf("removed %v, want %v", removed, want)
	}
	for _, r := range removed {
		if !want[r] {
			t.Errorf("removed %s", r)
		}
	}
	for _, p := range []string{kept.Path, handed.Path, unfinished, foreign} {
		if _, err := os.Lstat(p); err != nil {
			t.Errorf("%s: %v, want it kept", p, err)
		}
	}
	for p := range want {
		if _, err := os.Lstat(p); !os.IsNotExist(err) {
			t.Errorf("%s still there (%v)", p, err)
		}
	}
}

// TestSweepAsJanitor: once captune's socket has closed, the janitor counts
// captune as ended although /proc may still show it exiting: its folders,
// finished or left half-made, go; another live holder's stay.
func TestSweepAsJanitor(t *testing.T) {
	pl := placeUnder(t, parentDir(t))
	self, _ := HolderOf(os.Getpid())
	other := Holder{PID: 1}
	if h, err := HolderOf(1); err == nil {
		other = h
	}
	f, fd, err := pl.NewFolder("verify", []Holder{self})
	if err != nil {
		t.Fatal(err)
	}
	syscall.Close(fd)
	shared, fd, err := pl.NewFolder("probe", []Holder{self, other})
	if err != nil {
		t.Fatal(err)
	}
	syscall.Close(fd)
	half := filepath.Join(pl.Path, fmt.Sprintf(".new-%d.%d-probe-%s", self.PID, self.Start, randomName()))
	if err := os.Mkdir(half, 0o700); err != nil {
		t.Fatal(err)
	}
	if removed := pl.Sweep(); len(removed) != 0 {
		t.Fatalf("a plain sweep removed folders of a live captune: %v", removed)
	}
	removed := pl.sweep(self)
	want := map[string]bool{f.Path: true, half: true}
	if len(removed) != len(want) || !want[removed[0]] || !want[removed[1]] {
		t.Errorf("removed %v, want %v", removed, want)
	}
	if _, err := os.Lstat(shared.Path); err != nil {
		t.Errorf("the folder another holder still holds went: %v", err)
	}
}

// TestPlaceHostile: a place another user made first (a folder of theirs,
// a symbolic link to a folder of theirs, a file) is refused with a clear
// error, nothing is created in it and nothing of theirs changes; so is a
// parent others may rename entries in.
func TestPlaceHostile(t *testing.T) {
	needRoot(t)
	for _, c := range []struct {
		name, want string
		make       func(t *testing.T, place, elsewhere string)
	}{
		{"their folder", "belongs to uid 65534, not to captune", func(t *testing.T, place, _ string) {
			os.Mkdir(place, 0o777)
			os.Chown(place, 65534, 65534)
		}},
		{"symlink", "is not a folder", func(t *testing.T, place, elsewhere string) {
			os.Symlink(elsewhere, place)
		}},
		{"file", "is not a folder", func(t *testing.T, place, _ string) {
			os.WriteFile(place, nil, 0o666)
		}},
	} {
		t.Run(c.name, func(t *testing.T) {
			parent := parentDir(t)
			os.Chmod(parent, 0o777|os.ModeSticky)
			elsewhere := t.TempDir()
			os.Chown(elsewhere, 65534, 65534)
			pl := placeUnder(t, parent)
			c.make(t, pl.Path, elsewhere)
			before, _ := os.Lstat(pl.Path)
			_, _, err := pl.NewFolder("probe", nil)
			if !errors.Is(err, ErrUnsafePlace) || !strings.Contains(err.Error(), c.want) || !strings.Contains(err.Error(), pl.Path) {
				t.Errorf("got %v, want ErrUnsafePlace naming %s with %q", err, pl.Path, c.want)
			}
			after, _ := os.Lstat(pl.Path)
			if before.Mode() != after.Mode() || !os.SameFile(before, after) {
				t.Errorf("the pre-made %s changed: %v -> %v", pl.Path, before.Mode(), after.Mode())
			}
			if ents, _ := os.ReadDir(elsewhere); len(ents) > 0 {
				t.Errorf("something was made in the user's folder: %s", ents[0].Name())
			}
			pl.Sweep()
			if _, err := os.Lstat(pl.Path); err != nil {
				t.Errorf("the sweep removed the user's %s", pl.Path)
			}
		})
	}
	// A parent anyone may rename entries in (no sticky bit).
	parent := parentDir(t)
	os.Chmod(parent, 0o777)
	if _, err := PlaceIn(parent); !errors.Is(err, ErrUnsafePlace) || !strings.Contains(err.Error(), "without the sticky bit") {
		t.Errorf("world-writable parent: %v", err)
	}
}

// TestPlaceUnreachable: a parent some uid cannot pass through gives way
// to /tmp, so the daemon and the login user reach their folders.
func TestPlaceUnreachable(t *testing.T) {
	dir := filepath.Join(parentDir(t), "private")
	os.Mkdir(dir, 0o700)
	pl, err := PlaceIn(dir)
	if err != nil {
		t.Fatal(err)
	}
	if filepath.Dir(pl.Path) != "/tmp" {
		t.Errorf("place %s, want one in /tmp", pl.Path)
	}
}

// TestCheckPlace: a place not made yet is fine (nothing is made); one of
// captune's own is fine; removing a folder when the place is gone is no
// error.
func TestCheckPlace(t *testing.T) {
	parent := parentDir(t)
	if err := CheckPlace(parent); err != nil {
		t.Errorf("no place yet: %v", err)
	}
	if ents, _ := os.ReadDir(parent); len(ents) > 0 {
		t.Errorf("CheckPlace made %s", ents[0].Name())
	}
	pl := placeUnder(t, parent)
	f, fd, err := pl.NewFolder("probe", nil)
	if err != nil {
		t.Fatal(err)
	}
	syscall.Close(fd)
	if err := CheckPlace(parent); err != nil {
		t.Errorf("captune's own place: %v", err)
	}
	if err := f.Remove(); err != nil {
		t.Fatal(err)
	}
	if err := f.Remove(); err != nil {
		t.Errorf("removing again, with the place gone: %v", err)
	}
}
