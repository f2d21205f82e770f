package launch

import (
	"errors"
	"os"
	"path/filepath"
	"syscall"
	"testing"

	"golang.org/x/sys/unix"
)

// TestProbesActOnTheirFixturesOnly swaps each fixture of a probe folder
// for a symbolic link, a hard link, a FIFO and another regular file, each
// pointing at or standing in for a root-owned 0600 file outside, and runs
// every probe as root (every capability in effect, so that any probe that
// followed a path would change the file): the outside file keeps its
// mode, owner and content, and every probe of a swapped fixture fails
// without blocking.
func TestProbesActOnTheirFixturesOnly(t *testing.T) {
	needRoot(t)
	parent := parentDir(t)
	pl := placeUnder(t, parent)
	outside := filepath.Join(parent, "root-secret")
	if err := os.WriteFile(outside, []byte("root's\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, swap := range []string{"symlink", "hardlink", "fifo", "file"} {
		t.Run(swap, func(t *testing.T) {
			self, _ := HolderOf(os.Getpid())
			f, dfd, err := pl.NewFolder("probe", []Holder{self})
			if err != nil {
				t.Fatal(err)
			}
			defer f.Remove()
			defer unix.Close(dfd)
			ids, held, err := makeFixtures(dfd, 65534, 65534)
			if err != nil {
				t.Fatal(err)
			}
			defer held.close()
			for _, fx := range fixtures(65534, 65534) {
				p := filepath.Join(f.Path, fx.name)
				os.Remove(p)
				switch swap {
				case "symlink":
					err = os.Symlink(outside, p)
				case "hardlink":
					err = os.Link(outside, p)
				case "fifo":
					err = syscall.Mkfifo(p, 0o666)
				case "file":
					err = os.WriteFile(p, nil, 0o666)
				}
				if err != nil {
					t.Fatal(err)
				}
			}
			before := stamp(outside)
			env := &probeEnv{dir: dfd, ids: map[string]fixtureID{}, otherUID: 0, otherGID: 0}
			for _, id := range ids {
				env.ids[id.Name] = id
			}
			for _, p := range probes() {
				if p.cap.String() == "cap_net_bind_service" || p.cap.String() == "cap_setuid" || p.cap.String() == "cap_setgid" {
					continue // no fixture
				}
				err := p.run(env)
				if err == nil {
					t.Errorf("%s on a swapped fixture (%s) succeeded", p.cap, swap)
				} else if !errors.Is(err, errSwapped) && !errors.Is(err, unix.ELOOP) && !errors.Is(err, unix.ENXIO) {
					t.Errorf("%s: %v", p.cap, err)
				}
			}
			if after := stamp(outside); after != before {
				t.Errorf("the outside file changed: %+v -> %+v", before, after)
			}
			if b, _ := os.ReadFile(outside); string(b) != "root's\n" {
				t.Errorf("content %q", b)
			}
		})
	}
}

// TestProbeDirChecks: the probe daemon refuses a folder that is not the
// one captune made for it (another name, a symbolic link on the way, a
// record naming another captune, a missing or swapped fixture) and takes
// the one it made.
func TestProbeDirChecks(t *testing.T) {
	needRoot(t)
	base := parentDir(t)
	pl := placeUnder(t, base)
	self, _ := HolderOf(os.Getpid())
	par := parent0(t, self)
	f, dfd, err := pl.NewFolder("probe", []Holder{self})
	if err != nil {
		t.Fatal(err)
	}
	defer f.Remove()
	ids, held, err := makeFixtures(dfd, 0, 0)
	unix.Close(dfd)
	defer held.close()
	if err != nil {
		t.Fatal(err)
	}
	good := testdSpec{Dir: f.Path, Fixtures: ids}
	env, err := openProbeDir(good, par)
	if err != nil {
		t.Fatalf("captune's own folder refused: %v", err)
	}
	unix.Close(env.dir)
	link := filepath.Join(base, "link")
	os.Symlink(pl.Path, link)
	other := par
	other.Start++
	swapped := append([]fixtureID(nil), ids...)
	swapped[0].Ino++
	for name, c := range map[string]struct {
		spec testdSpec
		par  parent
	}{
		"not a private folder": {testdSpec{Dir: base, Fixtures: ids}, par},
		"symlink on the way":   {testdSpec{Dir: filepath.Join(link, f.Name), Fixtures: ids}, par},
		"another captune":      {good, other},
		"missing fixture":      {testdSpec{Dir: f.Path, Fixtures: ids[1:]}, par},
		"swapped fixture":      {testdSpec{Dir: f.Path, Fixtures: swapped}, par},
	} {
		if env, err := openProbeDir(c.spec, c.par); err == nil {
			unix.Close(env.dir)
			t.Errorf("%s: accepted", name)
		}
	}
}

func parent0(t *testing.T, h Holder) parent {
	t.Helper()
	return parent{PID: h.PID, UID: uint32(os.Geteuid()), GID: uint32(os.Getegid()), Start: h.Start}
}
