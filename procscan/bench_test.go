package procscan

import (
	"os"
	"path/filepath"
	"strconv"
	"testing"
)

// BenchmarkSnapshotLive scans this machine's /proc.
func BenchmarkSnapshotLive(b *testing.B) {
	s, err := New("/proc")
	if err != nil {
		b.Fatal(err)
	}
	var n int
	for b.Loop() {
		snap, err := s.Snapshot()
		if err != nil {
			b.Fatal(err)
		}
		n = len(snap.Procs)
	}
	b.ReportMetric(float64(n), "procs")
}

// BenchmarkSnapshotFixture scans a synthetic proc tree of 2,000 processes
// (copies of a real status file), which isolates captune's own parsing
// from the kernel's cost of generating status text.
func BenchmarkSnapshotFixture(b *testing.B) {
	root := b.TempDir()
	status, err := os.ReadFile("/proc/self/status")
	if err != nil {
		b.Skip("no /proc/self/status to copy")
	}
	if err := os.MkdirAll(filepath.Join(root, "sys", "kernel"), 0o755); err != nil {
		b.Fatal(err)
	}
	os.WriteFile(filepath.Join(root, "sys", "kernel", "cap_last_cap"), []byte("40\n"), 0o644)
	for pid := 1; pid <= 2000; pid++ {
		dir := filepath.Join(root, strconv.Itoa(pid))
		os.MkdirAll(dir, 0o755)
		os.WriteFile(filepath.Join(dir, "status"), status, 0o644)
		os.WriteFile(filepath.Join(dir, "cmdline"), []byte("/usr/bin/example\x00--flag\x00"), 0o644)
	}
	s, err := New(root)
	if err != nil {
		b.Fatal(err)
	}
	s.FileCaps = false
	var n int
	for b.Loop() {
		snap, err := s.Snapshot()
		if err != nil {
			b.Fatal(err)
		}
		n = len(snap.Procs)
	}
	b.ReportMetric(float64(n), "procs")
}
