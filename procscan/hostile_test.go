package procscan

import (
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
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
	case <-time.After(30 * time.Second):
		t.Fatalf("%s blocked", what)
	}
}

// hostileTree builds a proc tree a hostile user could hand to ps --proc:
// files that are FIFOs, symbolic links to /dev/zero, 10 MB lines.
func hostileTree(t *testing.T) string {
	t.Helper()
	root := t.TempDir()
	good, err := os.ReadFile(filepath.Join("testdata", "proc-proftpd", "1", "status"))
	if err != nil {
		t.Fatal(err)
	}
	mk := func(rel string, data []byte) {
		p := filepath.Join(root, rel)
		os.MkdirAll(filepath.Dir(p), 0o755)
		if err := os.WriteFile(p, data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	fifo := func(rel string) {
		p := filepath.Join(root, rel)
		os.MkdirAll(filepath.Dir(p), 0o755)
		if err := syscall.Mkfifo(p, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	link := func(rel, to string) {
		p := filepath.Join(root, rel)
		os.MkdirAll(filepath.Dir(p), 0o755)
		if err := os.Symlink(to, p); err != nil {
			t.Fatal(err)
		}
	}
	named := func(name string) []byte {
		return []byte(strings.Replace(string(good), "Name:\tsystemd\n", "Name:\t"+name+"\n", 1))
	}
	threads := func(b []byte) []byte {
		return []byte(strings.Replace(string(b), "Threads:\t1\n", "Threads:\t2\n", 1))
	}
	fifo("sys/kernel/cap_last_cap")
	mk("1/status", good)
	mk("1/cmdline", []byte("/sbin/init\x00"))
	link("10/status", "/dev/zero")
	fifo("11/status")
	mk("12/status", good)
	fifo("12/cmdline")
	mk("13/status", named(strings.Repeat("N", 10<<20)))
	mk("14/status", named(strings.Repeat("w", 1000)))
	mk("15/status", good)
	link("15/cmdline", "/dev/zero")
	mk("16/status", good)
	mk("16/cmdline", []byte(strings.Repeat("a", 10<<20)))
	mk("17/status", threads(good))
	mk("17/task/17/status", threads(good))
	fifo("17/task/170/status")
	os.MkdirAll(filepath.Join(root, "18", "status"), 0o755)
	return root
}

// TestHostileTree: a crafted --proc tree never blocks the scan, never
// grows it beyond its bounds, and pads nothing: FIFOs, devices, symbolic
// links and directories where files belong are malformed; a 10 MB status
// is malformed, a 10 MB command line is cut and marked; a long name is
// cut at the kernel's 64 bytes.
func TestHostileTree(t *testing.T) {
	root := hostileTree(t)
	fifoPasswd := filepath.Join(t.TempDir(), "passwd")
	if err := syscall.Mkfifo(fifoPasswd, 0o644); err != nil {
		t.Fatal(err)
	}
	for _, keep := range []bool{false, true} {
		t.Run("keep="+strconv.FormatBool(keep), func(t *testing.T) {
			s, err := New(root)
			if err != nil {
				t.Fatal(err)
			}
			s.SetPasswd(fifoPasswd)
			if keep {
				s.KeepOpen()
				defer s.Close()
			}
			var before, after runtime.MemStats
			runtime.GC()
			runtime.ReadMemStats(&before)
			var snap Snapshot
			for i := 0; i < 2; i++ {
				within(t, "Snapshot", func() { snap, err = s.Snapshot() })
				if err != nil {
					t.Fatal(err)
				}
			}
			runtime.ReadMemStats(&after)
			// Two scans of this tree read at most a few MiB; reading the
			// files whole would take 40 MB, /dev/zero without end.
			if grown := after.TotalAlloc - before.TotalAlloc; grown > 48<<20 {
				t.Errorf("two scans allocated %d MiB", grown>>20)
			}
			m := map[int]Process{}
			for _, p := range snap.Procs {
				m[p.PID] = p
			}
			if got := pids(m); fmt.Sprint(got) != "[1 14 16 17]" {
				t.Errorf("listed %v, want [1 14 16 17]", got)
			}
			if p := m[14]; p.Comm != strings.Repeat("w", 64) {
				t.Errorf("long name: %d bytes", len(p.Comm))
			}
			if p := m[16]; !p.CmdlineCut || len(p.Cmdline) != 1 || len(p.Cmdline[0]) != maxCmdline {
				t.Errorf("10 MB command line: cut %v, %d bytes", p.CmdlineCut, len(strings.Join(p.Cmdline, "")))
			}
			if p := m[1]; p.User != "0" {
				t.Errorf("user from a FIFO passwd: %q", p.User)
			}
			if snap.LastCap != 40 {
				t.Errorf("LastCap %d from a FIFO cap_last_cap (want the fallback 40)", snap.LastCap)
			}
			want := map[string]string{
				"10/status":          "is a symbolic link, not a regular file",
				"11/status":          "is a FIFO, not a regular file",
				"12/cmdline":         "is a FIFO, not a regular file",
				"13/status":          "is longer than 1 MiB, more than any kernel writes",
				"15/cmdline":         "is a symbolic link, not a regular file",
				"17/task/170/status": "is a FIFO, not a regular file",
				"18/status":          "is a directory, not a regular file",
			}
			got := map[string]string{}
			for _, b := range snap.Malformed {
				got[strings.TrimPrefix(b.Path, root+"/")] = b.Reason
			}
			for path, why := range want {
				if got[path] != why {
					t.Errorf("%s: %q, want %q", path, got[path], why)
				}
			}
			if len(got) != len(want) {
				t.Errorf("malformed %v", got)
			}
		})
	}
	// The root itself a FIFO: refused at once.
	var err error
	within(t, "New(fifo)", func() { _, err = New(fifoPasswd) })
	if err == nil || !strings.Contains(err.Error(), "not a directory") {
		t.Errorf("New(fifo): %v", err)
	}
}
