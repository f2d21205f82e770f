package launch

import (
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"golang.org/x/sys/unix"
)

// ErrUnsafePlace reports that captune's private place cannot be trusted
// (owned by someone else, a symbolic link, in a folder others may rename
// entries in) or cannot be made; nothing was created.
var ErrUnsafePlace = errors.New("no safe private folder")

// ownerFile is the owner record inside every private folder: which
// processes hold the folder, so that a later run can tell a leftover of a
// dead run from a folder in use.
const ownerFile = ".captune-owner"

// maxRecord bounds an owner record.
const maxRecord = 4096

// Place is captune's one place for private folders:
// PARENT/captune-EUID, owned by captune's effective uid, mode 0711 (others
// may pass through to the folders they are handed, never list or change
// it). PARENT is TMPDIR (os.TempDir) when every uid may pass through it,
// else /tmp: the probe daemon's uid and verify's login uid must reach
// their folders. Every private folder of every run lives in it, each with
// an owner record; runs sweep the leftovers of dead runs.
type Place struct {
	// Path is PARENT/captune-EUID.
	Path string
}

// CheckPlace checks the private place under parent (empty: TMPDIR)
// without making anything: an error wrapping ErrUnsafePlace when the
// parent, or a place someone else made first, cannot be trusted. A place
// that does not exist yet is fine.
func CheckPlace(parent string) error {
	pl, err := PlaceIn(parent)
	if err != nil {
		return err
	}
	fd, err := pl.open(false)
	if err != nil {
		if errors.Is(err, unix.ENOENT) {
			return nil
		}
		return err
	}
	unix.Close(fd)
	return nil
}

// placeName is the place's name for an effective uid.
func placeName(euid int) string { return "captune-" + strconv.Itoa(euid) }

// PlaceIn returns the place under parent (empty: os.TempDir()), without
// creating anything. A parent that some uid cannot pass through gives way
// to /tmp.
func PlaceIn(parent string) (Place, error) {
	if parent == "" {
		parent = os.TempDir()
	}
	abs, err := filepath.Abs(parent)
	if err != nil {
		return Place{}, fmt.Errorf("%w: %s: %v", ErrUnsafePlace, parent, err)
	}
	if real, err := filepath.EvalSymlinks(abs); err == nil {
		abs = real
	}
	if !passable(abs) {
		abs = "/tmp"
	}
	if err := safeParent(abs); err != nil {
		return Place{}, err
	}
	return Place{Path: filepath.Join(abs, placeName(os.Geteuid()))}, nil
}

// passable reports whether every uid may pass through every folder from /
// down to dir.
func passable(dir string) bool {
	for p := dir; ; p = filepath.Dir(p) {
		var st unix.Stat_t
		if unix.Stat(p, &st) != nil || st.Mode&unix.S_IFMT != unix.S_IFDIR || st.Mode&0o001 == 0 {
			return false
		}
		if p == "/" {
			return true
		}
	}
}

// safeParent refuses a parent (or a folder above it) that another user
// owns or may rename entries in: there, the place could be swapped.
func safeParent(dir string) error {
	euid := uint32(os.Geteuid())
	for p := dir; ; p = filepath.Dir(p) {
		var st unix.Stat_t
		if err := unix.Stat(p, &st); err != nil {
			return fmt.Errorf("%w: %s: %v", ErrUnsafePlace, p, err)
		}
		if st.Uid != 0 && st.Uid != euid {
			return fmt.Errorf("%w: %s belongs to uid %d (give TMPDIR a folder of root's or captune's own)", ErrUnsafePlace, p, st.Uid)
		}
		if st.Mode&0o022 != 0 && st.Mode&unix.S_ISVTX == 0 {
			return fmt.Errorf("%w: others may rename entries in %s (mode %o without the sticky bit)", ErrUnsafePlace, p, st.Mode&0o7777)
		}
		if p == "/" {
			return nil
		}
	}
}

// open opens the place, making it when create is set, and checks it: a
// folder (not a symbolic link) owned by captune's effective uid. A mode
// other than 0711 on captune's own folder is corrected.
func (pl Place) open(create bool) (int, error) {
	parent, name := filepath.Dir(pl.Path), filepath.Base(pl.Path)
	pfd, err := unix.Open(parent, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return -1, fmt.Errorf("%w: %s: %w", ErrUnsafePlace, parent, err)
	}
	defer unix.Close(pfd)
	if create {
		if err := unix.Mkdirat(pfd, name, 0o711); err != nil && err != unix.EEXIST {
			return -1, fmt.Errorf("%w: making %s: %v", ErrUnsafePlace, pl.Path, err)
		}
	}
	fd, err := unix.Openat(pfd, name, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
	if err != nil {
		if err == unix.ELOOP || err == unix.ENOTDIR {
			return -1, fmt.Errorf("%w: %s is not a folder (a symbolic link or a file someone put there: remove it, or set TMPDIR)", ErrUnsafePlace, pl.Path)
		}
		return -1, fmt.Errorf("%w: %s: %w", ErrUnsafePlace, pl.Path, err)
	}
	var st unix.Stat_t
	if err := unix.Fstat(fd, &st); err != nil {
		unix.Close(fd)
		return -1, fmt.Errorf("%w: %s: %w", ErrUnsafePlace, pl.Path, err)
	}
	if st.Uid != uint32(os.Geteuid()) {
		unix.Close(fd)
		return -1, fmt.Errorf("%w: %s belongs to uid %d, not to captune (uid %d): someone made it first; remove it, or set TMPDIR", ErrUnsafePlace, pl.Path, st.Uid, os.Geteuid())
	}
	if st.Mode&0o7777 != 0o711 {
		if err := unix.Fchmod(fd, 0o711); err != nil {
			unix.Close(fd)
			return -1, fmt.Errorf("%w: %s: %w", ErrUnsafePlace, pl.Path, err)
		}
	}
	return fd, nil
}

// Holder is a process that keeps a private folder in use, named by PID
// and start time (so a reused PID is not mistaken for it).
type Holder struct {
	PID   int    `json:"pid"`
	Start uint64 `json:"start"`
}

// ownerRecord is the content of a folder's owner record.
type ownerRecord struct {
	// Kind is the folder's use ("probe", "verify").
	Kind string `json:"kind"`
	// Boot is the kernel's boot id: after a reboot every holder is gone.
	Boot    string   `json:"boot"`
	Holders []Holder `json:"holders"`
}

// alive reports whether the holder still runs (and is not a zombie).
func (h Holder) alive() bool {
	start, state, err := procStart(h.PID)
	return err == nil && start == h.Start && state != 'Z' && state != 'X'
}

// HolderOf names a running process as a holder.
func HolderOf(pid int) (Holder, error) {
	start, _, err := procStart(pid)
	if err != nil {
		return Holder{}, err
	}
	return Holder{PID: pid, Start: start}, nil
}

// procStart reads a process's start time (clock ticks after boot) and
// state letter from /proc/PID/stat.
func procStart(pid int) (uint64, byte, error) {
	b, err := readSmall("/proc/"+strconv.Itoa(pid)+"/stat", 4096)
	if err != nil {
		return 0, 0, err
	}
	s := string(b)
	i := strings.LastIndexByte(s, ')')
	if i < 0 {
		return 0, 0, fmt.Errorf("/proc/%d/stat: malformed", pid)
	}
	f := strings.Fields(s[i+1:])
	// After the name: state is field 3, starttime field 22.
	if len(f) < 20 || len(f[0]) != 1 {
		return 0, 0, fmt.Errorf("/proc/%d/stat: malformed", pid)
	}
	start, err := strconv.ParseUint(f[19], 10, 64)
	if err != nil {
		return 0, 0, fmt.Errorf("/proc/%d/stat: %v", pid, err)
	}
	return start, f[0][0], nil
}

// procStatField reads field n (1-based, as proc(5) counts) of
// /proc/PID/stat; n must be past the name (3 or more).
func procStatField(pid, n int) (int, error) {
	b, err := readSmall("/proc/"+strconv.Itoa(pid)+"/stat", 4096)
	if err != nil {
		return 0, err
	}
	s := string(b)
	i := strings.LastIndexByte(s, ')')
	if i < 0 {
		return 0, fmt.Errorf("/proc/%d/stat: malformed", pid)
	}
	f := strings.Fields(s[i+1:])
	if n < 3 || len(f) < n-2 {
		return 0, fmt.Errorf("/proc/%d/stat: malformed", pid)
	}
	return strconv.Atoi(f[n-3])
}

// readSmall reads a file of at most max bytes without following a final
// symbolic link and without blocking (a FIFO or device is refused).
func readSmall(path string, max int) ([]byte, error) {
	fd, err := unix.Open(path, unix.O_RDONLY|unix.O_NOFOLLOW|unix.O_NONBLOCK|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, err
	}
	defer unix.Close(fd)
	return readFD(fd, path, max)
}

func readFD(fd int, path string, max int) ([]byte, error) {
	var st unix.Stat_t
	if err := unix.Fstat(fd, &st); err != nil {
		return nil, err
	}
	if st.Mode&unix.S_IFMT != unix.S_IFREG {
		return nil, fmt.Errorf("%s: not a regular file", path)
	}
	buf := make([]byte, max+1)
	n := 0
	for n < len(buf) {
		m, err := unix.Read(fd, buf[n:])
		if err == unix.EINTR {
			continue
		}
		if err != nil {
			return nil, err
		}
		if m == 0 {
			break
		}
		n += m
	}
	if n > max {
		return nil, fmt.Errorf("%s: larger than %d bytes", path, max)
	}
	return buf[:n], nil
}

func bootID() string {
	b, err := readSmall("/proc/sys/kernel/random/boot_id", 64)
	if err != nil {
		return ""
	}
	return strings.TrimSpace(string(b))
}

// Folder is one private folder in the place: PLACE/KIND-RANDOM, with an
// owner record.
type Folder struct {
	Place Place
	// Name is KIND-RANDOM; Path the whole path.
	Name, Path string
}

// folderKinds are the kinds of private folders.
var folderKinds = []string{"probe", "verify"}

// validName reports whether name is a private folder's name.
func validName(name string) bool {
	kind, rnd, ok := strings.Cut(name, "-")
	if !ok || len(rnd) != 12 || strings.Trim(rnd, "abcdefghijklmnopqrstuvwxyz0123456789") != "" {
		return false
	}
	for _, k := range folderKinds {
		if k == kind {
			return true
		}
	}
	return false
}

func randomName() string {
	const alpha = "abcdefghijklmnopqrstuvwxyz0123456789"
	b := make([]byte, 12)
	_, _ = rand.Read(b)
	for i := range b {
		b[i] = alpha[int(b[i])%len(alpha)]
	}
	return string(b)
}

// NewFolder makes a private folder of the kind (mode 0711, captune's),
// whose owner record names the holders, and returns it with a descriptor
// open on it (close it). The folder appears under its name only once the
// record is written.
func (pl Place) NewFolder(kind string, holders []Holder) (Folder, int, error) {
	rec, err := json.Marshal(ownerRecord{Kind: kind, Boot: bootID(), Holders: holders})
	if err != nil {
		return Folder{}, -1, err
	}
	// A run that just removed the empty place races with this one: try
	// again with a fresh place.
	var lastErr error
	for try := 0; try < 5; try++ {
		pfd, err := pl.open(true)
		if err != nil {
			return Folder{}, -1, err
		}
		f, fd, err := pl.newFolderIn(pfd, kind, rec)
		unix.Close(pfd)
		if err == nil {
			return f, fd, nil
		}
		lastErr = err
		if !errors.Is(err, unix.ENOENT) {
			break
		}
	}
	return Folder{}, -1, lastErr
}

func (pl Place) newFolderIn(pfd int, kind string, rec []byte) (Folder, int, error) {
	name := kind + "-" + randomName()
	// The unfinished folder's name says who makes it: should the maker
	// die before the record is written, a sweep knows it is abandoned.
	tmp := ".new-" + strconv.Itoa(os.Getpid()) + "." + startTag() + "-" + name
	if err := unix.Mkdirat(pfd, tmp, 0o700); err != nil {
		return Folder{}, -1, fmt.Errorf("making a private folder in %s: %w", pl.Path, err)
	}
	fail := func(err error) (Folder, int, error) {
		removeIn(pl, tmp)
		return Folder{}, -1, fmt.Errorf("making a private folder in %s: %w", pl.Path, err)
	}
	fd, err := unix.Openat(pfd, tmp, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
	if err != nil {
		return fail(err)
	}
	if err := writeNew(fd, ownerFile, rec, 0o644); err != nil {
		unix.Close(fd)
		return fail(err)
	}
	if err := unix.Fchmod(fd, 0o711); err != nil {
		unix.Close(fd)
		return fail(err)
	}
	if err := unix.Renameat2(pfd, tmp, pfd, name, unix.RENAME_NOREPLACE); err != nil {
		unix.Close(fd)
		return fail(err)
	}
	return Folder{Place: pl, Name: name, Path: filepath.Join(pl.Path, name)}, fd, nil
}

// writeNew creates name in the folder dfd (never an existing file, never
// through a symbolic link) with content and mode.
func writeNew(dfd int, name string, content []byte, mode uint32) error {
	fd, err := unix.Openat(dfd, name, unix.O_WRONLY|unix.O_CREAT|unix.O_EXCL|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0o600)
	if err != nil {
		return err
	}
	defer unix.Close(fd)
	for len(content) > 0 {
		n, err := unix.Write(fd, content)
		if err != nil {
			return err
		}
		content = content[n:]
	}
	return unix.Fchmod(fd, mode)
}

// SetHolders rewrites the folder's owner record (a detached daemon takes
// over the folder). The new record replaces the old one in one rename.
func (f Folder) SetHolders(kind string, holders []Holder) error {
	rec, err := json.Marshal(ownerRecord{Kind: kind, Boot: bootID(), Holders: holders})
	if err != nil {
		return err
	}
	pfd, err := f.Place.open(false)
	if err != nil {
		return err
	}
	defer unix.Close(pfd)
	fd, err := unix.Openat(pfd, f.Name, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
	if err != nil {
		return err
	}
	defer unix.Close(fd)
	tmp := ownerFile + ".new"
	_ = unix.Unlinkat(fd, tmp, 0)
	if err := writeNew(fd, tmp, rec, 0o644); err != nil {
		return err
	}
	return unix.Renameat(fd, tmp, fd, ownerFile)
}

// Remove removes the folder and everything in it (never following a
// symbolic link out of it), then the place if it is empty.
func (f Folder) Remove() error {
	if f.Name == "" {
		return nil
	}
	err := removeIn(f.Place, f.Name)
	f.Place.removeIfEmpty()
	return err
}

// removeIn removes name (a private folder) from the place.
func removeIn(pl Place, name string) error {
	pfd, err := pl.open(false)
	if err != nil {
		if errors.Is(err, unix.ENOENT) {
			return nil
		}
		return err
	}
	defer unix.Close(pfd)
	root, err := os.OpenRoot("/proc/self/fd/" + strconv.Itoa(pfd))
	if err != nil {
		return err
	}
	defer root.Close()
	if err := root.RemoveAll(name); err != nil {
		return fmt.Errorf("removing %s: %w", filepath.Join(pl.Path, name), err)
	}
	return nil
}

// removeIfEmpty removes the place when no folder is left in it (another
// run's folder keeps it).
func (pl Place) removeIfEmpty() {
	parent, name := filepath.Dir(pl.Path), filepath.Base(pl.Path)
	pfd, err := unix.Open(parent, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return
	}
	defer unix.Close(pfd)
	var st unix.Stat_t
	if unix.Fstatat(pfd, name, &st, unix.AT_SYMLINK_NOFOLLOW) != nil || st.Uid != uint32(os.Geteuid()) || st.Mode&unix.S_IFMT != unix.S_IFDIR {
		return
	}
	_ = unix.Unlinkat(pfd, name, unix.AT_REMOVEDIR)
}

// readRecord reads and checks a folder's owner record: a regular file of
// captune's effective uid with one link, read without blocking.
func readRecord(pfd int, name string) (ownerRecord, error) {
	var rec ownerRecord
	dfd, err := unix.Openat(pfd, name, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
	if err != nil {
		return rec, err
	}
	defer unix.Close(dfd)
	return readRecordIn(dfd, uint32(os.Geteuid()))
}

// readRecordIn reads the owner record in the open folder dfd, which owner
// must own.
func readRecordIn(dfd int, owner uint32) (ownerRecord, error) {
	var rec ownerRecord
	fd, err := unix.Openat(dfd, ownerFile, unix.O_RDONLY|unix.O_NOFOLLOW|unix.O_NONBLOCK|unix.O_CLOEXEC, 0)
	if err != nil {
		return rec, err
	}
	defer unix.Close(fd)
	var st unix.Stat_t
	if err := unix.Fstat(fd, &st); err != nil {
		return rec, err
	}
	if st.Uid != owner || st.Nlink != 1 {
		return rec, fmt.Errorf("owner record of uid %d with %d links", st.Uid, st.Nlink)
	}
	b, err := readFD(fd, ownerFile, maxRecord)
	if err != nil {
		return rec, err
	}
	if err := json.Unmarshal(b, &rec); err != nil {
		return rec, fmt.Errorf("owner record: %v", err)
	}
	return rec, nil
}

// stale reports whether every holder of the record is gone; gone is a
// holder known to have ended (it may still be exiting).
func (rec ownerRecord) stale(gone Holder) bool {
	if rec.Boot != bootID() {
		return true
	}
	for _, h := range rec.Holders {
		if h.alive() && h != gone {
			return false
		}
	}
	return true
}

// abandonAfter is how old an unfinished folder (no record, or not yet
// renamed) must be before a sweep removes it.
const abandonAfter = 10 * time.Minute

// Sweep removes the leftovers of dead runs from the place: folders whose
// owner record names only processes that are gone (or a previous boot),
// and folders left unfinished long ago. It returns what it removed.
// Folders of running captunes and detached daemons stay.
func (pl Place) Sweep() []string { return pl.sweep(Holder{}) }

// sweep is Sweep, counting the holder gone as ended: the janitor knows
// that captune ended when its socket closed, while /proc may still show
// captune exiting for a moment.
func (pl Place) sweep(gone Holder) []string {
	pfd, err := pl.open(false)
	if err != nil {
		return nil
	}
	defer unix.Close(pfd)
	dir := os.NewFile(uintptr(mustDup(pfd)), pl.Path)
	if dir == nil {
		return nil
	}
	names, _ := dir.Readdirnames(-1)
	dir.Close()
	var removed []string
	for _, name := range names {
		base, maker, unfinished := unfinishedName(name)
		if !validName(base) {
			continue
		}
		rec, err := readRecord(pfd, name)
		switch {
		case err == nil && rec.stale(gone):
		case unfinished && (!maker.alive() || maker == gone):
		case err != nil && old(pfd, name):
		default:
			continue
		}
		if removeIn(pl, name) == nil {
			removed = append(removed, filepath.Join(pl.Path, name))
		}
	}
	pl.removeIfEmpty()
	return removed
}

func old(pfd int, name string) bool {
	var st unix.Stat_t
	if unix.Fstatat(pfd, name, &st, unix.AT_SYMLINK_NOFOLLOW) != nil {
		return false
	}
	return time.Since(time.Unix(st.Mtim.Sec, st.Mtim.Nsec)) > abandonAfter
}

func mustDup(fd int) int {
	n, err := unix.FcntlInt(uintptr(fd), unix.F_DUPFD_CLOEXEC, 0)
	if err != nil {
		return -1
	}
	return n
}

// startTag is this process's start time, for names.
func startTag() string {
	start, _, err := procStart(os.Getpid())
	if err != nil {
		return "0"
	}
	return strconv.FormatUint(start, 10)
}

// unfinishedName splits ".new-PID.START-KIND-RANDOM" into the folder's
// name and its maker; other names come back as they are.
func unfinishedName(name string) (base string, maker Holder, unfinished bool) {
	rest, ok := strings.CutPrefix(name, ".new-")
	if !ok {
		return name, Holder{}, false
	}
	tag, base, ok := strings.Cut(rest, "-")
	if !ok {
		return rest, Holder{}, false
	}
	pid, start, ok := strings.Cut(tag, ".")
	p, err1 := strconv.Atoi(pid)
	st, err2 := strconv.ParseUint(start, 10, 64)
	if !ok || err1 != nil || err2 != nil {
		return rest, Holder{}, false
	}
	return base, Holder{PID: p, Start: st}, true
}
