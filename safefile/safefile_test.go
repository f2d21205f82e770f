package safefile

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// bounded runs f and fails the test if it has not returned within a
// generous time: a blocked open never returns at all.
func bounded(t *testing.T, what string, f func()) {
	t.Helper()
	done := make(chan struct{})
	go func() {
		defer close(done)
		f()
	}()
	select {
	case <-done:
	case <-time.After(20 * time.Second):
		t.Fatalf("%s did not return: blocked", what)
	}
}

func mkfifo(t *testing.T, dir string) string {
	t.Helper()
	p := filepath.Join(dir, "fifo")
	if err := syscall.Mkfifo(p, 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestReadFileRefusesWhatIsNotRegular(t *testing.T) {
	dir := t.TempDir()
	fifo := mkfifo(t, dir)
	zero := filepath.Join(dir, "zero")
	if err := os.Symlink("/dev/zero", zero); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		path   string
		rules  Rules
		detail string
	}{
		{fifo, Rules{}, "a FIFO"},
		{zero, Rules{}, "a character device"},
		{zero, Rules{NoFollow: true}, "a symbolic link"},
		{dir, Rules{}, "a directory"},
	} {
		var err error
		bounded(t, "ReadFile "+c.path, func() { _, err = ReadFile(c.path, c.rules) })
		var fe *Error
		if !errors.Is(err, ErrNotRegular) || !errors.As(err, &fe) || fe.Detail != c.detail {
			t.Errorf("%s %+v: %v, want ErrNotRegular (%s)", c.path, c.rules, err, c.detail)
		}
	}
}

func TestReadFileBound(t *testing.T) {
	p := filepath.Join(t.TempDir(), "f")
	os.WriteFile(p, []byte(strings.Repeat("x", 5000)), 0o644)
	if b, err := ReadFile(p, Rules{Max: 5000}); err != nil || len(b) != 5000 {
		t.Errorf("at the bound: %d bytes, %v", len(b), err)
	}
	if _, err := ReadFile(p, Rules{Max: 4999}); !errors.Is(err, ErrTooLarge) || !strings.Contains(err.Error(), "more than 4999 bytes") {
		t.Errorf("over the bound: %v", err)
	}
	// proc files report size 0 and are read to their end.
	b, err := ReadFile("/proc/self/status", Rules{Max: 64 << 10})
	if err != nil || !strings.Contains(string(b), "\nCapBnd:") {
		t.Errorf("/proc/self/status: %v %q", err, b)
	}
}

func TestReadFileOwners(t *testing.T) {
	p := filepath.Join(t.TempDir(), "f")
	os.WriteFile(p, []byte("1\n"), 0o644)
	me := uint32(os.Getuid())
	if _, err := ReadFile(p, Rules{Owners: []uint32{me}}); err != nil {
		t.Errorf("own file: %v", err)
	}
	_, err := ReadFile(p, Rules{Owners: []uint32{me + 1, me + 1}})
	if !errors.Is(err, ErrOwner) || !strings.Contains(err.Error(), "only uid") {
		t.Errorf("foreign owner: %v", err)
	}
	if os.Getuid() != 0 {
		return
	}
	if err := os.Chown(p, 65534, 65534); err != nil {
		t.Fatal(err)
	}
	if _, err := ReadFile(p, Rules{Owners: []uint32{0}}); !errors.Is(err, ErrOwner) || !strings.Contains(err.Error(), "uid 65534; only root may own it") {
		t.Errorf("nobody's file for root: %v", err)
	}
}

func TestOpenDirRefusesFIFO(t *testing.T) {
	dir := t.TempDir()
	fifo := mkfifo(t, dir)
	var err error
	bounded(t, "OpenDir fifo", func() {
		var f *os.File
		f, err = OpenDir(fifo)
		if f != nil {
			f.Close()
		}
	})
	if !errors.Is(err, syscall.ENOTDIR) {
		t.Errorf("OpenDir(fifo): %v, want ENOTDIR", err)
	}
	f, err := OpenDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	names, err := f.Readdirnames(-1)
	f.Close()
	if err != nil || len(names) != 1 || names[0] != "fifo" {
		t.Errorf("names %q %v", names, err)
	}
}

func TestSize(t *testing.T) {
	for n, want := range map[int]string{64 << 10: "64 KiB", 16 << 20: "16 MiB", 100: "100 bytes", 1500: "1500 bytes"} {
		if got := Size(n); got != want {
			t.Errorf("Size(%d) = %q, want %q", n, got, want)
		}
	}
}
