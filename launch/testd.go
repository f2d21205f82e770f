package launch

import (
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
	"kernel.org/pub/linux/libs/security/libcap/cap"

	"captune/capset"
)

// testdMain is the probe daemon, run as `captune __captune-testd` with
// captune's socket on fd 3. It reads its plan from the socket, checks
// that its folder is the one captune made for it, shapes its own sets if
// asked, runs the probes, reports once, then waits: until the socket
// closes (captune exited, however it died), or in keep mode until its
// deadline or SIGTERM. The folder is captune's (root's): the janitor, or
// captune itself, removes it.
func testdMain() int {
	c, par, code := hiddenStart("probe daemon", true)
	if code != 0 {
		return code
	}
	var spec testdSpec
	if err := c.recv(&spec, specTimeout); err != nil {
		_ = c.send(report{Error: "no plan from captune: " + err.Error()})
		return hiddenUsage
	}
	env, err := openProbeDir(spec, par)
	if err != nil {
		_ = c.send(report{Error: "the probe daemon refuses its folder: " + err.Error(), Refused: true})
		return hiddenRefused
	}
	r := report{PID: os.Getpid()}
	if spec.Shape {
		if err := shape(spec.Permitted, spec.Effective); err != nil {
			r.Error = "shaping the daemon's sets failed: " + err.Error()
		}
	}
	if r.Error == "" {
		r.Probes = runProbes(env)
	}
	unix.Close(env.dir)
	if err := c.send(r); err != nil || r.Error != "" {
		return 1
	}
	if spec.Keep > 0 {
		// Detached once captune has handed the folder over; should
		// captune die first, so does the daemon.
		signal.Ignore(syscall.SIGINT, syscall.SIGHUP)
		var m control
		if err := c.recv(&m, 0); err != nil || m.Op != "detach" {
			return 0
		}
		c.close()
		term := make(chan os.Signal, 1)
		signal.Notify(term, syscall.SIGTERM, syscall.SIGINT, syscall.SIGHUP)
		select {
		case <-term:
		case <-time.After(spec.Keep):
		}
		return 0
	}
	signal.Ignore(syscall.SIGINT, syscall.SIGHUP)
	for {
		var m control
		if err := c.recv(&m, 0); err != nil {
			return 0
		}
	}
}

// openProbeDir opens the daemon's folder and checks it before any probe
// runs: reached without any symbolic link, a private folder of captune's
// (named so, in captune's place, owned by captune's uid, writable by no
// one else), whose owner record names the captune that started this
// daemon, holding exactly the fixtures captune made (same device and
// inode, regular files with one link, the owners captune gave them).
func openProbeDir(spec testdSpec, par parent) (*probeEnv, error) {
	dir := filepath.Clean(spec.Dir)
	if !filepath.IsAbs(dir) || !validName(filepath.Base(dir)) || filepath.Base(filepath.Dir(dir)) != placeName(int(par.UID)) {
		return nil, fmt.Errorf("%q is not a private folder of captune's", spec.Dir)
	}
	fd, err := unix.Openat2(unix.AT_FDCWD, dir, &unix.OpenHow{
		Flags:   unix.O_PATH | unix.O_DIRECTORY | unix.O_CLOEXEC,
		Resolve: unix.RESOLVE_NO_SYMLINKS | unix.RESOLVE_NO_MAGICLINKS,
	})
	if err != nil {
		return nil, fmt.Errorf("%s: %v", dir, err)
	}
	fail := func(format string, a ...any) (*probeEnv, error) {
		unix.Close(fd)
		return nil, fmt.Errorf(format, a...)
	}
	var st unix.Stat_t
	if err := unix.Fstat(fd, &st); err != nil {
		return fail("%s: %v", dir, err)
	}
	if st.Uid != par.UID || st.Mode&0o022 != 0 {
		return fail("%s belongs to uid %d with mode %o, not to captune (uid %d) alone", dir, st.Uid, st.Mode&0o7777, par.UID)
	}
	rec, err := readRecordIn(fd, par.UID)
	if err != nil {
		return fail("%s: %v", dir, err)
	}
	if rec.Kind != "probe" || len(rec.Holders) == 0 || rec.Holders[0].PID != par.PID || rec.Holders[0].Start != par.Start {
		return fail("%s does not belong to the captune that started this daemon (PID %d)", dir, par.PID)
	}
	uid, gid := uint32(os.Getuid()), uint32(os.Getgid())
	env := &probeEnv{dir: fd, ids: map[string]fixtureID{}, otherUID: otherID(uid), otherGID: otherID(gid)}
	for _, id := range spec.Fixtures {
		env.ids[id.Name] = id
	}
	for _, f := range fixtures(uid, gid) {
		if _, ok := env.ids[f.name]; !ok {
			return fail("no fixture %s in the plan", f.name)
		}
		ffd, err := unix.Openat(fd, f.name, unix.O_PATH|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
		if err != nil {
			return fail("%s: %v", filepath.Join(dir, f.name), err)
		}
		err = env.same(ffd, f.name)
		var fst unix.Stat_t
		if err == nil {
			err = unix.Fstat(ffd, &fst)
		}
		unix.Close(ffd)
		if err != nil {
			return fail("%s: %v", filepath.Join(dir, f.name), err)
		}
		if fst.Nlink != 1 || fst.Uid != f.uid || fst.Gid != f.gid {
			return fail("%s: owner %d:%d with %d links, not the file captune made", filepath.Join(dir, f.name), fst.Uid, fst.Gid, fst.Nlink)
		}
	}
	return env, nil
}

// fixture is one file of the probe folder.
type fixture struct {
	name     string
	mode     uint32
	uid, gid uint32
	content  string
}

// fixtures are the files whose owners make each probe need exactly one
// capability, for a daemon running as uid and gid.
func fixtures(uid, gid uint32) []fixture {
	other, otherG := otherID(uid), otherID(gid)
	return []fixture{
		{fileMarker, 0o644, other, otherG, "captune's probe daemon works only inside this folder; it is removed when the daemon stops\n"},
		{fileChown, 0o644, uid, gid, ""},
		{fileSecret, 0o600, other, otherG, "secret\n"},
		{fileWrite, 0o644, other, otherG, ""},
		{fileChmod, 0o644, other, otherG, ""},
		{fileSetgid, 0o755, uid, otherG, ""},
	}
}

// makeFixtures creates the fixtures in the folder dfd: each new (never an
// existing file, never through a symbolic link), mode and owner set on
// the descriptor. It returns their identities for the daemon and the
// descriptors, which the caller keeps open until the probes have run:
// while a file is open its inode number cannot be given to another file,
// so the device and inode name that very file.
func makeFixtures(dfd int, uid, gid uint32) ([]fixtureID, fixtureFDs, error) {
	var ids []fixtureID
	var fds fixtureFDs
	for _, f := range fixtures(uid, gid) {
		fd, err := unix.Openat(dfd, f.name, unix.O_WRONLY|unix.O_CREAT|unix.O_EXCL|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0o600)
		if err != nil {
			fds.close()
			return nil, nil, fmt.Errorf("%s: %v", f.name, err)
		}
		fds = append(fds, fd)
		err = writeAll(fd, []byte(f.content))
		if err == nil {
			err = unix.Fchmod(fd, f.mode)
		}
		if err == nil {
			err = unix.Fchown(fd, int(f.uid), int(f.gid))
		}
		var st unix.Stat_t
		if err == nil {
			err = unix.Fstat(fd, &st)
		}
		if err != nil {
			fds.close()
			return nil, nil, fmt.Errorf("%s: %v", f.name, err)
		}
		ids = append(ids, fixtureID{Name: f.name, Dev: st.Dev, Ino: st.Ino})
	}
	return ids, fds, nil
}

// fixtureFDs are the open fixtures.
type fixtureFDs []int

func (f fixtureFDs) close() {
	for _, fd := range f {
		unix.Close(fd)
	}
}

func writeAll(fd int, b []byte) error {
	for len(b) > 0 {
		n, err := unix.Write(fd, b)
		if err != nil {
			return err
		}
		b = b[n:]
	}
	return nil
}

// otherID is an id that is not id: root's, or for root a high unused one.
func otherID(id uint32) uint32 {
	if id == 0 {
		return 64999
	}
	return 0
}

// shape sets the whole process (every thread, through libcap's psx
// mechanism) to permitted P, effective E, empty inheritable and ambient.
func shape(p, e capset.Set) error {
	c := cap.NewSet()
	for _, v := range p.Caps() {
		if err := c.SetFlag(cap.Permitted, true, cap.Value(v)); err != nil {
			return err
		}
	}
	for _, v := range e.Caps() {
		if err := c.SetFlag(cap.Effective, true, cap.Value(v)); err != nil {
			return err
		}
	}
	if err := cap.ResetAmbient(); err != nil {
		return fmt.Errorf("clearing ambient: %w", err)
	}
	if err := c.SetProc(); err != nil {
		return fmt.Errorf("capset: %w", err)
	}
	return nil
}
