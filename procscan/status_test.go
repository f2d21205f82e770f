package procscan

import (
	"bytes"
	"errors"
	"math/rand"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"captune/capset"
)

// realStatus is a status file as Linux 6.x prints it.
const realStatus = "Name:\tcat\nUmask:\t0022\nState:\tR (running)\nTgid:\t13923\nNgid:\t0\nPid:\t13923\nPPid:\t13919\n" +
	"TracerPid:\t0\nUid:\t0\t1\t2\t3\nGid:\t4\t5\t6\t7\nFDSize:\t256\nGroups:\t \nNStgid:\t13923\nNSpid:\t13923\n" +
	"NSpgid:\t13919\nNSsid:\t13530\nKthread:\t0\nVmPeak:\t    3060 kB\nVmSize:\t    3060 kB\nThreads:\t1\n" +
	"SigQ:\t0/96364\nSigPnd:\t0000000000000000\nCapInh:\t0000000000000001\nCapPrm:\t000001fffeffffff\n" +
	"CapEff:\t000001fffefffffe\nCapBnd:\t000001fffeffffff\nCapAmb:\t0000000000000001\nNoNewPrivs:\t1\nSeccomp:\t2\n" +
	"Seccomp_filters:\t1\nSpeculation_Store_Bypass:\tthread vulnerable\nCpus_allowed_list:\t0-1\n" +
	"voluntary_ctxt_switches:\t0\nnonvoluntary_ctxt_switches:\t1\n"

func TestParseStatusReal(t *testing.T) {
	st, err := parseStatus([]byte(realStatus))
	if err != nil {
		t.Fatal(err)
	}
	want := status{
		name: "cat", state: 'R', tgid: 13923, ppid: 13919, uid: 0, euid: 1, suid: 2, gid: 4, egid: 5,
		threads: 1, kthread: 0, inh: 1, prm: 0x1fffeffffff, eff: 0x1fffefffffe, bnd: 0x1fffeffffff, amb: 1,
		hasAmb: true, noNewPrivs: true, seccomp: 2, haveCaps: true, haveUID: true, haveBnd: true,
	}
	if st != want {
		t.Errorf("\n got %+v\nwant %+v", st, want)
	}
	// This machine's own status parses, and agrees with the process.
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		t.Skip(err)
	}
	st, err = parseStatus(b)
	if err != nil || st.tgid != os.Getpid() || int(st.uid) != os.Getuid() || st.ppid != os.Getppid() {
		t.Errorf("/proc/self/status: %+v %v", st, err)
	}
}

// Cut anywhere in the middle of a line, a status file is rejected; cut
// at a line boundary, it is rejected until CapBnd has been read and never
// reports a value it did not read whole.
func TestParseStatusEveryCut(t *testing.T) {
	full, _ := parseStatus([]byte(realStatus))
	for i := 0; i < len(realStatus); i++ {
		b := []byte(realStatus[:i])
		st, err := parseStatus(b)
		if i == 0 || realStatus[i-1] != '\n' {
			if err == nil {
				t.Fatalf("cut at %d (mid-line %q): accepted", i, b[bytes.LastIndexByte(b, '\n')+1:])
			}
			continue
		}
		bndEnd := strings.Index(realStatus, "CapBnd:")
		bndEnd += strings.IndexByte(realStatus[bndEnd:], '\n') + 1
		if (err == nil) != (i >= bndEnd) {
			t.Fatalf("cut at %d (line boundary): err %v", i, err)
		}
		if err != nil {
			continue
		}
		if st.inh != full.inh || st.prm != full.prm || st.eff != full.eff || st.bnd != full.bnd || st.uid != full.uid || st.name != full.name {
			t.Fatalf("cut at %d: %+v", i, st)
		}
		if st.hasAmb && st.amb != full.amb {
			t.Fatalf("cut at %d: ambient %s", i, st.amb.Hex())
		}
	}
}

func TestParseStatusFields(t *testing.T) {
	base := "Uid:\t1\t2\t3\t4\nCapEff:\t0000000000000001\nCapBnd:\t000001ffffffffff\n"
	for _, c := range []struct {
		in    string
		check func(status) bool
	}{
		{"Name:\ta\\nb\n", func(s status) bool { return s.name == "a\nb" }},
		{"Name:\ta\\\\nb\n", func(s status) bool { return s.name == `a\nb` }},
		{"Name:\ttrailing\\\n", func(s status) bool { return s.name == `trailing\` }},
		{"Name:\t\xff\xfe\n", func(s status) bool { return s.name == "\xff\xfe" }},
		{"Name:\t\n", func(s status) bool { return s.name == "" }},
		{"Name:\t  \n", func(s status) bool { return s.name == "  " }},
		{"Name:\ta:b: c\n", func(s status) bool { return s.name == "a:b: c" }},
		{"Name:\tx\r\n", func(s status) bool { return s.name == "x\r" }},
		{"State:\tZ (zombie)\n", func(s status) bool { return s.state == 'Z' }},
		{"State:\t\n", func(s status) bool { return s.state == 0 }},
		{"Kthread:\t1\n", func(s status) bool { return s.kthread == 1 }},
		{"", func(s status) bool { return s.kthread == -1 && s.threads == 1 && !s.hasAmb && !s.noNewPrivs }},
		{"Threads:\t7\n", func(s status) bool { return s.threads == 7 }},
		{"CapAmb:\t0000000000002000\n", func(s status) bool { return s.hasAmb && s.amb == 1<<13 }},
		{"CapAmb:\t4c1\n", func(s status) bool { return s.hasAmb && s.amb == 0x4c1 }},
		{"CapInh:\tFFFFFFFFFFFFFFFF\n", func(s status) bool { return s.inh == ^capset.Set(0) }},
		{"NoNewPrivs:\t1\nSeccomp:\t2\n", func(s status) bool { return s.noNewPrivs && s.seccomp == 2 }},
		{"NoNewPrivs:\t0\n", func(s status) bool { return !s.noNewPrivs }},
		{"Gid:\t10\t11\t12\t13\n", func(s status) bool { return s.gid == 10 && s.egid == 11 }},
		{"Name:\t" + strings.Repeat("n", 300) + "\n", func(s status) bool { return s.name == strings.Repeat("n", maxName) }},
		{"Uid:\t4294967295\t0\t0\t0\n", func(s status) bool { return s.uid == 4294967295 }},
	} {
		st, err := parseStatus([]byte(base + c.in))
		if err != nil || !c.check(st) {
			t.Errorf("%q: %+v, %v", c.in, st, err)
		}
	}
	// Malformed: what no kernel writes, with the line and the bad token.
	for _, c := range []struct{ in, why string }{
		{"", "empty"},
		{"\n", "no Uid: line"},
		{"Uid:\t1\t2\t3\t4\n", "no CapEff: line"},
		{"CapEff:\t0\nCapBnd:\t0\n", "no Uid: line"},
		{"Uid:\t1\t2\nCapEff:\t0\nCapBnd:\t0\n", `Uid: "1\t2" is not three or four uids`},
		{"Uid:\t1\t2\t3\t4\nCapEff:\tnothex\nCapBnd:\t0\n", `CapEff: "nothex" is not a hex mask`},
		{"Uid:\t1\t2\t3\t4\nCapEff:\t0\n", "no CapBnd: line"},
		{"Uid:\t1\t2\t3\t4\nCapEff:\t0\nCapBnd:\t0", "cut short: the last line has no newline"},
		{"Uid:\t4294967296\t0\t0\t0\nCapEff:\t0\nCapBnd:\t0\n", `Uid: "4294967296\t0\t0\t0" is not three or four uids`},
		{"Uid:\t1\t2\t3\t4\t5\nCapEff:\t0\nCapBnd:\t0\n", `Uid: "1\t2\t3\t4\t5" is not three or four uids`},
		{"Uid:\t1x\t2\t3\nCapEff:\t0\nCapBnd:\t0\n", `Uid: "1x\t2\t3" is not three or four uids`},
		{base + "CapPrm:\tzz00000000000000\n", `CapPrm: "zz00000000000000" is not a hex mask`},
		{base + "CapInh:\t0000000000000000001\n", `CapInh: "0000000000000000001" has 19 hex digits (a mask has at most 16)`},
		{base + "CapAmb:\tzz\n", `CapAmb: "zz" is not a hex mask`},
		{base + "CapAmb:\t\n", `CapAmb: "" is not a hex mask`},
		{base + "PPid:\t99999999999999999999\n", `PPid: "99999999999999999999" is not a number`},
		{base + "Threads:\t-1\n", `Threads: "-1" is not a number`},
		{base + "Gid:\tx\n", `Gid: "x" is not three or four gids`},
		{base + "CapBnd:\t" + strings.Repeat("f", 100) + "\n", `CapBnd: "` + strings.Repeat("f", 40) + `..." has 100 hex digits (a mask has at most 16)`},
	} {
		st, err := parseStatus([]byte(c.in))
		if err == nil {
			t.Errorf("%q: accepted as %+v", c.in, st)
			continue
		}
		if !errors.Is(err, ErrMalformed) || err.Error() != c.why {
			t.Errorf("%q: %q, want %q", c.in, err, c.why)
		}
	}
}

// parseStatus never panics, whatever it is given.
func TestParseStatusJunk(t *testing.T) {
	inputs := [][]byte{
		nil, {0}, []byte(":"), []byte("::::\n:\n"), []byte("\n\n\n"), []byte("Uid"), []byte("Uid:"), []byte("Uid:\t\t\t\t\t"),
		[]byte("Name:\\"), []byte("Name:\t\\"), []byte("CapEff:\t" + strings.Repeat("f", 1000)),
		[]byte(strings.Repeat("Uid:\t1 2 3 4\n", 10000)), bytes.Repeat([]byte{0xff, ':', '\n'}, 5000),
		[]byte(strings.Repeat("x", 1<<16)),
	}
	rng := rand.New(rand.NewSource(1))
	alphabet := []byte("Name:UidCapEffBndAmbInhPrmThreadsKthreadNoNewPrivsSeccomp\t\n \\0123456789abcdefx:\xff\x00")
	for n := 0; n < 20000; n++ {
		b := make([]byte, rng.Intn(200))
		for i := range b {
			b[i] = alphabet[rng.Intn(len(alphabet))]
		}
		inputs = append(inputs, b)
	}
	// Real status lines, shuffled and mangled.
	lines := strings.SplitAfter(realStatus, "\n")
	for n := 0; n < 5000; n++ {
		var b []byte
		for i := rng.Intn(len(lines) * 2); i > 0; i-- {
			l := []byte(lines[rng.Intn(len(lines))])
			if len(l) > 0 && rng.Intn(4) == 0 {
				l[rng.Intn(len(l))] = byte(rng.Intn(256))
			}
			b = append(b, l...)
		}
		inputs = append(inputs, b)
	}
	for _, in := range inputs {
		checkParse(t, in)
	}
}

// checkParse holds the invariants of parseStatus on any input.
func checkParse(t *testing.T, in []byte) {
	t.Helper()
	cp := bytes.Clone(in)
	st, err := parseStatus(in)
	if !bytes.Equal(cp, in) {
		t.Fatalf("parseStatus changed its input")
	}
	if err != nil {
		return
	}
	if !st.haveCaps || !st.haveUID || !st.haveBnd {
		t.Fatalf("%q: accepted without caps/uid: %+v", in, st)
	}
	if len(in) == 0 || in[len(in)-1] != '\n' {
		t.Fatalf("%q: accepted a file cut mid-line", in)
	}
	if !st.hasAmb && st.amb != 0 {
		t.Fatalf("%q: ambient %s without CapAmb", in, st.amb.Hex())
	}
	// The same file cut at its last byte is cut mid-line.
	if len(in) > 1 && in[len(in)-2] != '\n' {
		if _, err := parseStatus(in[:len(in)-1]); err == nil {
			t.Fatalf("%q without its last newline: accepted", in)
		}
	}
}

// FuzzParseStatus runs on the seeds in testdata/fuzz/FuzzParseStatus
// (among them a real /proc/self/status); with -fuzz it explores further.
func FuzzParseStatus(f *testing.F) {
	f.Add([]byte(realStatus))
	f.Fuzz(func(t *testing.T, b []byte) {
		checkParse(t, b)
	})
}

func TestFuzzCorpusCommitted(t *testing.T) {
	ents, err := os.ReadDir(filepath.Join("testdata", "fuzz", "FuzzParseStatus"))
	if err != nil || len(ents) < 6 {
		t.Fatalf("seed corpus: %d files, %v", len(ents), err)
	}
}
