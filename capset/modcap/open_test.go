package modcap

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// within runs f and fails the test when it has not returned in a
// generous time: an open that blocks on a FIFO never returns.
func within(t *testing.T, what string, f func()) {
	t.Helper()
	done := make(chan struct{})
	go func() {
		defer close(done)
		f()
	}()
	select {
	case <-done:
	case <-time.After(20 * time.Second):
		t.Fatalf("%s blocked", what)
	}
}

func fifoIn(t *testing.T, dir, name string) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := syscall.Mkfifo(p, 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// TestReadFileFIFO: a FIFO named as the configuration, or included from
// it (by name, in an included folder, through a pattern), ends with a
// clear error instead of blocking the reader.
func TestReadFileFIFO(t *testing.T) {
	dir := t.TempDir()
	fifo := fifoIn(t, dir, "fifo.conf")
	var err error
	within(t, "ReadFile(fifo)", func() { _, err = ReadFile(fifo, Options{}) })
	if !errors.Is(err, ErrNotRegular) || !strings.Contains(err.Error(), "not a regular file (a FIFO)") {
		t.Errorf("ReadFile(fifo): %v", err)
	}

	sub := filepath.Join(dir, "conf.d")
	os.Mkdir(sub, 0o755)
	os.WriteFile(filepath.Join(sub, "a.conf"), []byte("ServerName a\n"), 0o644)
	fifoIn(t, sub, "b.conf")
	for _, c := range []struct{ name, include, want string }{
		{"by name", fifo, fmt.Sprintf("main.conf:2: Include: '%s': not a regular file (a FIFO)", fifo)},
		{"folder", sub, fmt.Sprintf("main.conf:2: Include: '%s': not a regular file (a FIFO)", filepath.Join(sub, "b.conf"))},
		{"pattern", filepath.Join(sub, "*.conf"), fmt.Sprintf("main.conf:2: Include: '%s': not a regular file (a FIFO)", filepath.Join(sub, "b.conf"))},
	} {
		t.Run(c.name, func(t *testing.T) {
			main := filepath.Join(dir, "main.conf")
			os.WriteFile(main, []byte("ServerName x\nInclude "+c.include+"\n"), 0o644)
			var err error
			within(t, "ReadFile(main)", func() { _, err = ReadFile(main, Options{}) })
			var ce *Error
			if !errors.As(err, &ce) || !strings.Contains(err.Error(), c.want) || !strings.Contains(err.Error(), "refused by captune") {
				t.Errorf("%v, want %q", err, c.want)
			}
		})
	}
}

// TestReadDirFIFO: a folder swapped for a FIFO after the reader looked at
// it fails at once (O_DIRECTORY) instead of blocking.
func TestReadDirFIFO(t *testing.T) {
	fifo := fifoIn(t, t.TempDir(), "d")
	r := newReader(Options{})
	var err error
	within(t, "readDir(fifo)", func() { _, err = r.readDir(fifo) })
	if !errors.Is(err, syscall.ENOTDIR) {
		t.Errorf("readDir(fifo): %v, want ENOTDIR", err)
	}
}

// TestTrust: Options.Trust sees the main file, every included file and
// every included folder, and a refusal stops the configuration.
func TestTrust(t *testing.T) {
	dir := t.TempDir()
	sub := filepath.Join(dir, "conf.d")
	os.Mkdir(sub, 0o755)
	inc := filepath.Join(sub, "caps.conf")
	os.WriteFile(inc, []byte("CapabilitiesSet +CAP_FOWNER\n"), 0o644)
	main := filepath.Join(dir, "main.conf")
	os.WriteFile(main, []byte("ServerName x\nInclude "+sub+"\n"), 0o644)

	var seen []string
	all := func(path string, info fs.FileInfo) error { seen = append(seen, path); return nil }
	if _, err := ReadFile(main, Options{Trust: all}); err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(seen, " "); got != main+" "+sub+" "+inc {
		t.Errorf("Trust saw %q", got)
	}
	for _, refuse := range []string{main, sub, inc} {
		opt := Options{Trust: func(path string, info fs.FileInfo) error {
			if path == refuse {
				return fmt.Errorf("owned by uid 1000")
			}
			return nil
		}}
		_, err := ReadFile(main, opt)
		if err == nil || !strings.Contains(err.Error(), "owned by uid 1000") {
			t.Errorf("refusing %s: %v", refuse, err)
		}
		if refuse != main && !strings.Contains(err.Error(), "main.conf:2: Include: '"+refuse+"'") {
			t.Errorf("refusing %s: %v", refuse, err)
		}
	}
}
