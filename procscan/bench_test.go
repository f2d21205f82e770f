package procscan

import "testing"

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
