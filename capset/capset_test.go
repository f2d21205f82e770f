package capset_test

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"captune/capset"

	"kernel.org/pub/linux/libs/security/libcap/cap"
)

// seedA and seedB fix every random sequence in these tests, so a failure
// reproduces exactly.
const seedA, seedB = 0x6361707475, 0x6e65

// allNames is the kernel's capability names in number order (0..40).
var allNames = []string{
	"cap_chown", "cap_dac_override", "cap_dac_read_search", "cap_fowner",
	"cap_fsetid", "cap_kill", "cap_setgid", "cap_setuid", "cap_setpcap",
	"cap_linux_immutable", "cap_net_bind_service", "cap_net_broadcast",
	"cap_net_admin", "cap_net_raw", "cap_ipc_lock", "cap_ipc_owner",
	"cap_sys_module", "cap_sys_rawio", "cap_sys_chroot", "cap_sys_ptrace",
	"cap_sys_pacct", "cap_sys_admin", "cap_sys_boot", "cap_sys_nice",
	"cap_sys_resource", "cap_sys_time", "cap_sys_tty_config", "cap_mknod",
	"cap_lease", "cap_audit_write", "cap_audit_control", "cap_setfcap",
	"cap_mac_override", "cap_mac_admin", "cap_syslog", "cap_wake_alarm",
	"cap_block_suspend", "cap_audit_read", "cap_perfmon", "cap_bpf",
	"cap_checkpoint_restore",
}

// kernelKnown returns the set of capabilities the running kernel knows
// (0..cap_last_cap), which is what libcap's "all" and "=" refer to.
func kernelKnown(t testing.TB) capset.Set {
	t.Helper()
	last, err := capset.LastCap("/proc")
	if err != nil {
		t.Skipf("cannot read the running kernel's cap_last_cap: %v", err)
	}
	return capset.KnownSet(last)
}

// randomMasks returns n masks from a fixed-seed generator, mixing uniform
// 64-bit values with sparse and dense ones so that libcap's "all except"
// compaction and short lists are both exercised.
func randomMasks(n int, within capset.Set) []capset.Set {
	r := rand.New(rand.NewPCG(seedA, seedB))
	out := make([]capset.Set, 0, n)
	for i := range n {
		var v uint64
		switch i % 4 {
		case 0, 1:
			v = r.Uint64()
		case 2: // sparse
			v = r.Uint64() & r.Uint64() & r.Uint64()
		case 3: // dense
			v = r.Uint64() | r.Uint64() | r.Uint64()
		}
		out = append(out, capset.Set(v)&within)
	}
	return out
}

func wantErr(t *testing.T, err error, target error, mention ...string) {
	t.Helper()
	if err == nil {
		t.Fatalf("no error, want one wrapping %v", target)
	}
	if !errors.Is(err, target) {
		t.Errorf("error %q does not wrap %v", err, target)
	}
	for _, m := range mention {
		if !strings.Contains(err.Error(), m) {
			t.Errorf("error %q does not mention %s", err, m)
		}
	}
}

func TestCapNames(t *testing.T) {
	if len(allNames) != capset.NamedCount {
		t.Fatalf("test table has %d names, NamedCount is %d", len(allNames), capset.NamedCount)
	}
	for i, n := range allNames {
		c := capset.Cap(i)
		if c.String() != n {
			t.Errorf("Cap(%d).String() = %q, want %q", i, c.String(), n)
		}
		if c.Upper() != strings.ToUpper(n) {
			t.Errorf("Cap(%d).Upper() = %q", i, c.Upper())
		}
		if !c.Named() {
			t.Errorf("Cap(%d).Named() = false", i)
		}
	}
	for i := capset.NamedCount; i < capset.MaxBits; i++ {
		c := capset.Cap(i)
		if want := fmt.Sprint(i); c.String() != want || c.Upper() != want {
			t.Errorf("Cap(%d) prints %q/%q, want %q", i, c.String(), c.Upper(), want)
		}
		if c.Named() {
			t.Errorf("Cap(%d).Named() = true", i)
		}
	}
	consts := map[capset.Cap]string{
		capset.Chown: "cap_chown", capset.DacOverride: "cap_dac_override",
		capset.DacReadSearch: "cap_dac_read_search", capset.Fowner: "cap_fowner",
		capset.Fsetid: "cap_fsetid", capset.Kill: "cap_kill", capset.Setgid: "cap_setgid",
		capset.Setuid: "cap_setuid", capset.Setpcap: "cap_setpcap",
		capset.NetBindService: "cap_net_bind_service", capset.NetRaw: "cap_net_raw",
		capset.SysChroot: "cap_sys_chroot", capset.SysAdmin: "cap_sys_admin",
		capset.SysResource: "cap_sys_resource", capset.AuditWrite: "cap_audit_write",
		capset.Setfcap: "cap_setfcap", capset.CheckpointRestore: "cap_checkpoint_restore",
	}
	for c, n := range consts {
		if c.String() != n {
			t.Errorf("constant %d prints %q, want %q", c, c.String(), n)
		}
	}
}

func TestParseCap(t *testing.T) {
	valid := []struct {
		in   string
		want capset.Cap
	}{
		{"cap_chown", 0},
		{"CAP_CHOWN", 0},
		{"Cap_Chown", 0},
		{"chown", 0},
		{"CHOWN", 0},
		{" cap_sys_admin ", capset.SysAdmin},
		{"\tSYS_ADMIN\n", capset.SysAdmin},
		{"sys_admin", capset.SysAdmin},
		{"cap_checkpoint_restore", 40},
		{"checkpoint_restore", 40},
		{"0", 0},
		{"7", capset.Setuid},
		{"40", 40},
		{"41", 41},
		{"63", 63},
		{"007", 7},
	}
	for _, tc := range valid {
		got, err := capset.ParseCap(tc.in)
		if err != nil || got != tc.want {
			t.Errorf("ParseCap(%q) = %d, %v; want %d", tc.in, got, err, tc.want)
		}
	}
	for i, n := range allNames {
		short := strings.TrimPrefix(n, "cap_")
		for _, in := range []string{n, strings.ToUpper(n), short, strings.ToUpper(short)} {
			if got, err := capset.ParseCap(in); err != nil || got != capset.Cap(i) {
				t.Errorf("ParseCap(%q) = %d, %v; want %d", in, got, err, i)
			}
		}
	}
	for i := range capset.MaxBits {
		in := fmt.Sprint(i)
		if got, err := capset.ParseCap(in); err != nil || got != capset.Cap(i) {
			t.Errorf("ParseCap(%q) = %d, %v; want %d", in, got, err, i)
		}
		// Every printed form reads back.
		if got, err := capset.ParseCap(capset.Cap(i).String()); err != nil || got != capset.Cap(i) {
			t.Errorf("ParseCap(Cap(%d).String()) = %d, %v", i, got, err)
		}
	}

	invalid := []struct {
		in      string
		mention []string
	}{
		{"64", []string{`"64"`, "0 to 63"}},
		{"-1", []string{`"-1"`, "0 to 63"}},
		{"100", []string{`"100"`}},
		{"", []string{"empty"}},
		{"   ", []string{"empty"}},
		{"sys_admn", []string{`"sys_admn"`, "did you mean cap_sys_admin"}},
		{"CAP_SYS_ADMN", []string{"did you mean cap_sys_admin"}},
		{"cap_setuidd", []string{"did you mean cap_setuid"}},
		{"cap_bogus_thing", []string{`"cap_bogus_thing"`}},
		{"cap_", []string{`"cap_"`}},
		{"cap_chown,cap_kill", []string{`"cap_chown,cap_kill"`}},
		{"1.5", []string{`"1.5"`}},
	}
	for _, tc := range invalid {
		_, err := capset.ParseCap(tc.in)
		t.Run(tc.in, func(t *testing.T) { wantErr(t, err, capset.ErrUnknownCap, tc.mention...) })
	}
}

func TestSuggest(t *testing.T) {
	cases := map[string]string{
		"sys_admn":                      "cap_sys_admin",
		"cap_sys_admn":                  "cap_sys_admin",
		"CAP_NET_BIND":                  "cap_net_bind_service", // a prefix of the name
		"dac_overide":                   "cap_dac_override",
		"setuid":                        "cap_setuid",
		"zzzzzzzzzzzzzzzz":              "",
		"":                              "",
		strings.Repeat("cap_chown", 20): "",
	}
	for in, want := range cases {
		if got := capset.Suggest(in); got != want {
			t.Errorf("Suggest(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestParseHex(t *testing.T) {
	valid := []struct {
		in   string
		want capset.Set
	}{
		{"0", 0},
		{"0x4c1", 0x4c1},
		{"0X4C1", 0x4c1},
		{"4c1", 0x4c1},
		{"00000000200004c1", 0x200004c1},
		{"0x00000000200004c1", 0x200004c1},
		{"000001ffffffffff", 0x1ffffffffff},
		{"FFFFFFFFFFFFFFFF", ^capset.Set(0)},
		{"ffffffffffffffff", ^capset.Set(0)},
		{"0x8000000000000000", 1 << 63},
		{" \t0x10\n", 0x10},
	}
	for _, tc := range valid {
		got, err := capset.ParseHex(tc.in)
		if err != nil || got != tc.want {
			t.Errorf("ParseHex(%q) = %#x, %v; want %#x", tc.in, uint64(got), err, uint64(tc.want))
		}
		if back, err := capset.ParseHex(got.Hex()); err != nil || back != got {
			t.Errorf("ParseHex(%q) prints %q, which reads as %#x, %v", tc.in, got.Hex(), uint64(back), err)
		}
	}

	invalid := []struct{ in, why string }{
		{"", "no hex digits"},
		{"0x", "no hex digits"},
		{"  ", "no hex digits"},
		{"zz", "'z'"},
		{"-1", "'-'"},
		{"+1", "'+'"},
		{"12345678901234567", "more than 16"}, // 17 hex digits
		{"0x12345678901234567", "more than 16"},
		{" 12 3", "' '"},
		{"0x0x1", "'x'"},
		{"4c1g", "'g'"},
		{"1_000", "'_'"},
		{"\xff", ""},
	}
	for _, tc := range invalid {
		_, err := capset.ParseHex(tc.in)
		t.Run(tc.in, func(t *testing.T) {
			mention := []string{fmt.Sprintf("%q", tc.in)} // the whole bad token, quoted
			if tc.why != "" {
				mention = append(mention, tc.why)
			}
			wantErr(t, err, capset.ErrBadMask, mention...)
		})
	}
}

func TestParseNames(t *testing.T) {
	valid := []struct {
		in   string
		want capset.Set
	}{
		{"", 0},
		{"none", 0},
		{"NONE", 0},
		{" none ", 0},
		{"all", capset.Upto(41)},
		{"ALL", capset.Upto(41)},
		{"cap_chown", capset.Of(capset.Chown)},
		{"cap_chown,CAP_SETUID", capset.Of(capset.Chown, capset.Setuid)},
		{"chown setuid", capset.Of(capset.Chown, capset.Setuid)},
		{"chown,\tsetuid\nkill", capset.Of(capset.Chown, capset.Setuid, capset.Kill)},
		{"cap_chown,,cap_chown,", capset.Of(capset.Chown)},
		{"41,63,0", capset.Of(0, 41, 63)},
		{"cap_chown,cap_setgid,cap_setuid,cap_net_bind_service,cap_audit_write", 0x200004c1},
	}
	for _, tc := range valid {
		got, err := capset.ParseNames(tc.in)
		if err != nil || got != tc.want {
			t.Errorf("ParseNames(%q) = %v, %v; want %v", tc.in, got, err, tc.want)
		}
		if back, err := capset.ParseNames(got.String()); err != nil || back != got {
			t.Errorf("ParseNames(%q) prints %q, which reads as %v, %v", tc.in, got.String(), back, err)
		}
	}
	for _, in := range []string{"cap_chown,bogus", "64", "cap_chown;cap_kill", "cap_sys_admn"} {
		if _, err := capset.ParseNames(in); !errors.Is(err, capset.ErrUnknownCap) {
			t.Errorf("ParseNames(%q) error = %v, want ErrUnknownCap", in, err)
		}
	}
	_, err := capset.ParseNames("cap_chown,sys_admn")
	wantErr(t, err, capset.ErrUnknownCap, `"sys_admn"`, "did you mean cap_sys_admin")
}

func TestParse(t *testing.T) {
	known := kernelKnown(t)
	valid := []struct {
		in   string
		want capset.Set
	}{
		{"0x4c1", 0x4c1},
		{"0X4C1", 0x4c1},
		{"00000000200004c1", 0x200004c1},
		{" 00000000200004c1\n", 0x200004c1},
		{"ffffffffffffffff", ^capset.Set(0)},
		{"cap_chown,CAP_SETUID", capset.Of(capset.Chown, capset.Setuid)},
		{"chown setuid", capset.Of(capset.Chown, capset.Setuid)},
		{"none", 0},
		{"all", capset.Upto(41)},
		// Hex digits with a letter, or sixteen digits, are a mask; a
		// number in a list is a capability number.
		{"4c1", 0x4c1},
		{"1ffffffffff", 0x1ffffffffff},
		{"ab", 0xab},
		{"0000000000000010", 0x10},
		{"0000000000000000", 0},
		{"0x10", 0x10},
		{"10,", capset.Of(capset.NetBindService)},
		{"0,", capset.Of(capset.Chown)},
		{"63,", capset.Of(63)},
		{"0,7", capset.Of(capset.Chown, capset.Setuid)},
		{"41,63", capset.Of(41, 63)},
		// libcap text: the permitted set is taken.
		{"cap_chown,cap_setuid=ep", capset.Of(capset.Chown, capset.Setuid)},
		{"cap_chown,cap_setuid+ep", capset.Of(capset.Chown, capset.Setuid)},
		{"cap_chown=ip cap_setuid+e", capset.Of(capset.Chown)},
		{"cap_chown+ei", 0},
		{"=", 0},
		{"=ep cap_sys_resource-ep", known.Without(capset.SysResource)},
		{"all=p", known},
	}
	for _, tc := range valid {
		got, err := capset.Parse(tc.in)
		if err != nil || got != tc.want {
			t.Errorf("Parse(%q) = %v, %v; want %v", tc.in, got, err, tc.want)
		}
	}
	invalid := []struct {
		in     string
		target error
	}{
		{"", capset.ErrUnknownCap},
		{" \t ", capset.ErrUnknownCap},
		{"0x", capset.ErrBadMask},
		{"0xzz", capset.ErrBadMask},
		{"0x12345678901234567", capset.ErrBadMask},
		{"12345678901234567", capset.ErrBadMask},
		{"4c1g", capset.ErrUnknownCap},
		// A lone run of decimal digits (fewer than sixteen) could be a
		// capability number or a mask: refused, never guessed.
		{"0", capset.ErrAmbiguous},
		{"10", capset.ErrAmbiguous},
		{" 10 ", capset.ErrAmbiguous},
		{"63", capset.ErrAmbiguous},
		{"64", capset.ErrAmbiguous},
		{"100", capset.ErrAmbiguous},
		{"400", capset.ErrAmbiguous},
		{"000", capset.ErrAmbiguous},
		{"123456789012345", capset.ErrAmbiguous},
		{"64,", capset.ErrUnknownCap},
		{"0,64", capset.ErrUnknownCap},
		{"cap_bogus", capset.ErrUnknownCap},
		{"cap_bogus=ep", capset.ErrBadText},
		{"-1", capset.ErrBadText},
		{"cap_chown=x", capset.ErrBadText},
	}
	for _, tc := range invalid {
		if _, err := capset.Parse(tc.in); !errors.Is(err, tc.target) {
			t.Errorf("Parse(%q) error = %v, want %v", tc.in, err, tc.target)
		}
	}
}

func TestSetOps(t *testing.T) {
	s := capset.Of(capset.Chown, capset.Setuid, 63)
	if !s.Has(capset.Chown) || !s.Has(63) || s.Has(capset.Kill) || s.Has(64) || s.Has(255) {
		t.Errorf("Has is wrong for %v", s)
	}
	if s.Len() != 3 || s.Empty() || !capset.Set(0).Empty() {
		t.Errorf("Len/Empty wrong for %v", s)
	}
	if got := s.With(64); got != s {
		t.Errorf("With(64) changed the set: %v", got)
	}
	if got := s.Without(200); got != s {
		t.Errorf("Without(200) changed the set: %v", got)
	}
	if got := s.Without(capset.Setuid); got != capset.Of(capset.Chown, 63) {
		t.Errorf("Without(setuid) = %v", got)
	}
	if got := s.Toggle(capset.Kill).Toggle(capset.Chown); got != capset.Of(capset.Kill, capset.Setuid, 63) {
		t.Errorf("Toggle = %v", got)
	}
	if got := s.Toggle(64); got != s {
		t.Errorf("Toggle(64) changed the set: %v", got)
	}
	if got := fmt.Sprint(s.Caps()); got != "[cap_chown cap_setuid 63]" {
		t.Errorf("Caps() = %s", got)
	}
	if got := strings.Join(s.Names(), ","); got != "cap_chown,cap_setuid,63" {
		t.Errorf("Names() = %s", got)
	}
	if capset.Of() != 0 || len(capset.Set(0).Caps()) != 0 || len(capset.Set(0).Names()) != 0 {
		t.Error("empty set is not empty")
	}
	for _, tc := range []struct {
		n    int
		want capset.Set
	}{{-1, 0}, {0, 0}, {1, 1}, {8, 0xff}, {41, 0x1ffffffffff}, {63, 1<<63 - 1}, {64, ^capset.Set(0)}, {100, ^capset.Set(0)}} {
		if got := capset.Upto(tc.n); got != tc.want {
			t.Errorf("Upto(%d) = %#x, want %#x", tc.n, uint64(got), uint64(tc.want))
		}
	}
	if got := capset.KnownSet(40); got != 0x1ffffffffff {
		t.Errorf("KnownSet(40) = %#x", uint64(got))
	}
	if got := capset.KnownSet(63); got != ^capset.Set(0) {
		t.Errorf("KnownSet(63) = %#x", uint64(got))
	}
}

func TestSetString(t *testing.T) {
	cases := []struct {
		s    capset.Set
		want string
	}{
		{0, "none"},
		{1, "cap_chown"},
		{0x200004c1, "cap_chown,cap_setgid,cap_setuid,cap_net_bind_service,cap_audit_write"},
		{1<<41 | 1<<63, "41,63"},
	}
	for _, tc := range cases {
		if got := tc.s.String(); got != tc.want {
			t.Errorf("Set(%#x).String() = %q, want %q", uint64(tc.s), got, tc.want)
		}
		if got := fmt.Sprint(tc.s); got != tc.want {
			t.Errorf("fmt.Sprint(Set(%#x)) = %q, want %q", uint64(tc.s), got, tc.want)
		}
	}
}

func TestHexAndDecode(t *testing.T) {
	cases := []struct {
		s         capset.Set
		hex, decd string
	}{
		{0, "0000000000000000", "0x0000000000000000="},
		{0x4c1, "00000000000004c1", "0x00000000000004c1=cap_chown,cap_setgid,cap_setuid,cap_net_bind_service"},
		{1 << 40, "0000010000000000", "0x0000010000000000=cap_checkpoint_restore"},
		{1 << 41, "0000020000000000", "0x0000020000000000=41"},
		{1<<41 | 1<<63 | 1, "8000020000000001", "0x8000020000000001=cap_chown,41,63"},
	}
	for _, tc := range cases {
		if got := tc.s.Hex(); got != tc.hex {
			t.Errorf("Hex() = %q, want %q", got, tc.hex)
		}
		if got := tc.s.Decode(); got != tc.decd {
			t.Errorf("Decode() = %q, want %q", got, tc.decd)
		}
	}
	// Every mask: "0x" + 16 lower-case hex digits + "=" + names, with the
	// unnamed bits 41..63 printed as decimal numbers.
	masks := append(randomMasks(500, ^capset.Set(0)), 0, ^capset.Set(0))
	for i := range capset.MaxBits {
		masks = append(masks, 1<<i)
	}
	for _, s := range masks {
		var names []string
		for i := range capset.MaxBits {
			if uint64(s)&(1<<i) == 0 {
				continue
			}
			if i < capset.NamedCount {
				names = append(names, allNames[i])
			} else {
				names = append(names, fmt.Sprint(i))
			}
		}
		want := fmt.Sprintf("0x%016x=%s", uint64(s), strings.Join(names, ","))
		if got := s.Decode(); got != want {
			t.Errorf("Decode() = %q, want %q", got, want)
		}
		if got := s.Hex(); len(got) != 16 || got != strings.ToLower(got) {
			t.Errorf("Hex() = %q, want 16 lower-case digits", got)
		}
	}
}

func TestRoundTripSet(t *testing.T) {
	masks := append(randomMasks(2000, ^capset.Set(0)), 0, 1, 1<<63, ^capset.Set(0), capset.Upto(41))
	for _, s := range masks {
		if got, err := capset.ParseNames(s.String()); err != nil || got != s {
			t.Errorf("ParseNames(%q) = %v, %v; want %#x", s.String(), got, err, uint64(s))
		}
		got, err := capset.Parse(s.String())
		switch {
		case s.Len() == 1 && !s.Caps()[0].Named():
			// One unnamed capability prints as a lone number ("63"),
			// which Parse refuses as ambiguous.
			if !errors.Is(err, capset.ErrAmbiguous) {
				t.Errorf("Parse(%q) = %v, %v; want ErrAmbiguous", s.String(), got, err)
			}
		case err != nil || got != s:
			t.Errorf("Parse(%q) = %v, %v; want %#x", s.String(), got, err, uint64(s))
		}
		if got, err := capset.ParseNames(strings.ToUpper(s.String())); err != nil || got != s {
			t.Errorf("ParseNames(upper %q) = %v, %v", s.String(), got, err)
		}
		for _, h := range []string{s.Hex(), "0x" + s.Hex(), strings.ToUpper(s.Hex()), fmt.Sprintf("%#x", uint64(s))} {
			if got, err := capset.ParseHex(h); err != nil || got != s {
				t.Errorf("ParseHex(%q) = %v, %v; want %#x", h, got, err, uint64(s))
			}
		}
		if got, err := capset.Parse(s.Hex()); err != nil || got != s {
			t.Errorf("Parse(%q) = %v, %v", s.Hex(), got, err)
		}
		d := s.Decode()
		if got, err := capset.ParseHex(d[:strings.IndexByte(d, '=')]); err != nil || got != s {
			t.Errorf("ParseHex(prefix of %q) = %v, %v", d, got, err)
		}
	}
}

func TestKernelKnownMatchesLibcap(t *testing.T) {
	known := kernelKnown(t)
	if want := capset.Upto(int(cap.MaxBits())); known != want {
		t.Fatalf("KnownSet(cap_last_cap) = %#x, libcap probes %d capabilities (%#x)", uint64(known), cap.MaxBits(), uint64(want))
	}
}

func TestTripleString(t *testing.T) {
	known := kernelKnown(t)
	x := known.Without(capset.SysResource)
	cases := []struct {
		t    capset.Triple
		want string
	}{
		{capset.Triple{}, "="},
		{capset.Triple{Effective: x, Permitted: x}, "=ep cap_sys_resource-ep"},
		{capset.Triple{Effective: known, Permitted: known, Inheritable: known}, "=eip"},
		{capset.Triple{Permitted: known}, "=p"},
		{capset.Triple{Effective: capset.Of(capset.Chown, capset.Setuid), Permitted: capset.Of(capset.Chown, capset.Setuid)}, "cap_chown,cap_setuid=ep"},
		{capset.Triple{Permitted: capset.Of(capset.Chown), Inheritable: capset.Of(capset.Chown)}, "cap_chown=ip"},
		{capset.Triple{Permitted: 1, Inheritable: 1<<41 | 1<<63}, "cap_chown=p 41,63+i"},
	}
	for _, tc := range cases {
		if got := tc.t.String(); got != tc.want {
			t.Errorf("%+v.String() = %q, want %q", tc.t, got, tc.want)
		}
	}
}

func TestParseText(t *testing.T) {
	known := kernelKnown(t)
	cs := capset.Of(capset.Chown, capset.Setuid)
	valid := []struct {
		in   string
		want capset.Triple
	}{
		{"=", capset.Triple{}},
		{"=ep", capset.Triple{Effective: known, Permitted: known}},
		{"all=ep", capset.Triple{Effective: known, Permitted: known}},
		{"all=eip", capset.Triple{Effective: known, Permitted: known, Inheritable: known}},
		{"=ep cap_sys_resource-ep", capset.Triple{Effective: known.Without(capset.SysResource), Permitted: known.Without(capset.SysResource)}},
		{"cap_chown,cap_setuid=ep", capset.Triple{Effective: cs, Permitted: cs}},
		{"cap_chown,cap_setuid+ep", capset.Triple{Effective: cs, Permitted: cs}},
		{"  cap_chown,cap_setuid=ep\n", capset.Triple{Effective: cs, Permitted: cs}},
		{"cap_chown,cap_setuid=ip cap_setuid+e", capset.Triple{Effective: capset.Of(capset.Setuid), Permitted: cs, Inheritable: cs}},
		{"=p cap_setpcap-p+i", capset.Triple{Permitted: known.Without(capset.Setpcap), Inheritable: capset.Of(capset.Setpcap)}},
		{"cap_chown=pie-pie", capset.Triple{}},
		{"41,63+i", capset.Triple{Inheritable: capset.Of(41, 63)}},
		{"0,7=ep", capset.Triple{Effective: cs, Permitted: cs}},
	}
	for _, tc := range valid {
		got, err := capset.ParseText(tc.in)
		if err != nil || got != tc.want {
			t.Errorf("ParseText(%q) = %+v, %v; want %+v", tc.in, got, err, tc.want)
		}
		if back, err := capset.ParseText(got.String()); err != nil || back != got {
			t.Errorf("ParseText(%q) prints %q, which reads as %+v, %v", tc.in, got.String(), back, err)
		}
	}
	for _, in := range []string{
		"", "   ", "cap_chown", "cap_bogus=ep", "cap_chown=x", "cap_chown+", "+ep", "64=ep",
		"cap_chown=ep garbage", "\xff=ep",
	} {
		_, err := capset.ParseText(in)
		t.Run(in, func(t *testing.T) { wantErr(t, err, capset.ErrBadText) })
	}
}

// TestParseTextLongWord: libcap's Go parser reads words with a
// bufio.Scanner and ignores its error, so a word of 64 KiB or more ended
// the text silently and whatever came before it was returned as success.
func TestParseTextLongWord(t *testing.T) {
	long := strings.Repeat("a", 70000)
	valid := strings.Repeat("cap_kill,", 8000) + "cap_kill=p" // 72 KB, every name valid
	for _, in := range []string{
		"cap_chown=ep " + long,
		"cap_chown=ep " + long + " cap_kill=p",
		"cap_chown=ep " + valid,
		long,
	} {
		tr, err := capset.ParseText(in)
		if !errors.Is(err, capset.ErrBadText) {
			t.Errorf("ParseText(%d-byte text) = %+v, %v; want ErrBadText", len(in), tr, err)
			continue
		}
		if len(err.Error()) > 200 {
			t.Errorf("error for a %d-byte text is %d bytes long", len(in), len(err.Error()))
		}
		if _, err := capset.Parse(in); err == nil {
			t.Errorf("Parse(%d-byte text) succeeded", len(in))
		}
	}
	// Around the limit a text either fails or reads completely: a short
	// word, a long one followed by a three-byte space (U+3000), and one more.
	word := func(n int) string { // a valid word of n bytes setting cap_setuid and cap_kill
		pad := n - len("cap_kill=p")
		w := ""
		if pad%2 == 1 {
			w, pad = "07,", pad-3
		}
		return w + strings.Repeat("7,", pad/2) + "cap_kill=p"
	}
	want := capset.Triple{Permitted: capset.Of(capset.Setuid, capset.Kill), Inheritable: capset.Of(capset.Chown)}
	accepted := 0
	for n := 65520; n <= 65540; n++ {
		w := word(n)
		if len(w) != n {
			t.Fatalf("word(%d) has %d bytes", n, len(w))
		}
		got, err := capset.ParseText("cap_sys_admin=e " + w + "\u3000cap_chown+i")
		if err == nil {
			accepted++
			if got != want {
				t.Errorf("ParseText(%d-byte word + one more) = %+v, want %+v", n, got, want)
			}
		}
	}
	if accepted == 0 {
		t.Error("every word near 64 KiB was rejected")
	}
	// Many short words are fine, however long the text.
	in := strings.Repeat("cap_chown+p ", 10000) + "cap_kill=e"
	if got, err := capset.ParseText(in); err != nil || got != (capset.Triple{Effective: capset.Of(capset.Kill)}) {
		t.Errorf("ParseText(10001 short words) = %+v, %v", got, err)
	}
}

func TestRoundTripTriple(t *testing.T) {
	known := kernelKnown(t)
	check := func(tr capset.Triple) {
		t.Helper()
		s := tr.String()
		got, err := capset.ParseText(s)
		if err != nil || got != tr {
			t.Errorf("ParseText(%q) = %+v, %v; want %+v", s, got, err, tr)
			return
		}
		if again := got.String(); again != s {
			t.Errorf("String() not stable: %q then %q", s, again)
		}
	}
	// Within the kernel's capabilities (what a process can really hold).
	e, p, i := randomMasks(700, known), randomMasks(700, known), randomMasks(700, known)
	for k := range e {
		check(capset.Triple{Effective: e[k], Permitted: p[(k+1)%len(p)], Inheritable: i[(k+2)%len(i)]})
		check(capset.Triple{Effective: e[k], Permitted: e[k]})
		check(capset.Triple{Effective: e[k] ^ known, Permitted: e[k] ^ known, Inheritable: i[k]})
	}
	for c := range capset.Cap(capset.MaxBits) {
		if known.Has(c) {
			x := known.Without(c)
			check(capset.Triple{Effective: x, Permitted: x})
			check(capset.Triple{Permitted: capset.Of(c)})
		}
	}
	// Bits the kernel does not know are printed by number and read back.
	for _, m := range randomMasks(300, ^capset.Set(0)) {
		check(capset.Triple{Effective: m &^ 0xff, Permitted: m, Inheritable: m >> 3})
	}
}

func TestParseIAB(t *testing.T) {
	valid := []struct {
		in   string
		want capset.IAB
	}{
		{"", capset.IAB{}},
		{"  ", capset.IAB{}},
		{"[]", capset.IAB{}},
		{"cap_chown", capset.IAB{Inheritable: capset.Of(capset.Chown)}},
		{"%cap_chown", capset.IAB{Inheritable: capset.Of(capset.Chown)}},
		{"^cap_chown", capset.IAB{Inheritable: capset.Of(capset.Chown), Ambient: capset.Of(capset.Chown)}},
		{"!cap_sys_admin", capset.IAB{NotBounding: capset.Of(capset.SysAdmin)}},
		{"!%cap_sys_admin", capset.IAB{Inheritable: capset.Of(capset.SysAdmin), NotBounding: capset.Of(capset.SysAdmin)}},
		{"!^cap_sys_admin", capset.IAB{Inheritable: capset.Of(capset.SysAdmin), Ambient: capset.Of(capset.SysAdmin), NotBounding: capset.Of(capset.SysAdmin)}},
		{"!cap_sys_admin,^cap_chown", capset.IAB{Inheritable: capset.Of(capset.Chown), Ambient: capset.Of(capset.Chown), NotBounding: capset.Of(capset.SysAdmin)}},
		{"[!cap_sys_admin,^cap_chown]", capset.IAB{Inheritable: capset.Of(capset.Chown), Ambient: capset.Of(capset.Chown), NotBounding: capset.Of(capset.SysAdmin)}},
		{"^CAP_CHOWN,!SYS_ADMIN,%kill", capset.IAB{Inheritable: capset.Of(capset.Chown, capset.Kill), Ambient: capset.Of(capset.Chown), NotBounding: capset.Of(capset.SysAdmin)}},
		{"cap_chown,!cap_chown", capset.IAB{Inheritable: capset.Of(capset.Chown), NotBounding: capset.Of(capset.Chown)}},
		{"!41,^63", capset.IAB{Inheritable: capset.Of(63), Ambient: capset.Of(63), NotBounding: capset.Of(41)}},
	}
	for _, tc := range valid {
		got, err := capset.ParseIAB(tc.in)
		if err != nil || got != tc.want {
			t.Errorf("ParseIAB(%q) = %+v, %v; want %+v", tc.in, got, err, tc.want)
		}
		if back, err := capset.ParseIAB(got.String()); err != nil || back != got {
			t.Errorf("ParseIAB(%q) prints %q, which reads as %+v, %v", tc.in, got.String(), back, err)
		}
	}
	for _, in := range []string{",", "cap_chown,", "!", "^", "!!", "cap_bogus", "^64", "#cap_chown", "cap_chown cap_kill", "[[cap_chown]]"} {
		_, err := capset.ParseIAB(in)
		t.Run(in, func(t *testing.T) { wantErr(t, err, capset.ErrBadText) })
	}
	_, err := capset.ParseIAB("!cap_sys_admin,^cap_sys_admn")
	wantErr(t, err, capset.ErrBadText, "did you mean cap_sys_admin")
}

func TestIABString(t *testing.T) {
	cases := []struct {
		iab  capset.IAB
		want string
	}{
		{capset.IAB{}, ""},
		{capset.IAB{Inheritable: capset.Of(capset.Chown), Ambient: capset.Of(capset.Chown), NotBounding: capset.Of(capset.SysAdmin)}, "^cap_chown,!cap_sys_admin"},
		{capset.IAB{Inheritable: capset.Of(capset.Kill), NotBounding: capset.Of(capset.Kill)}, "!%cap_kill"},
		{capset.IAB{Inheritable: capset.Of(capset.Kill, 41)}, "cap_kill,41"},
		{capset.IAB{Inheritable: capset.Of(1), Ambient: capset.Of(1), NotBounding: capset.Of(1)}, "!^cap_dac_override"},
	}
	for _, tc := range cases {
		if got := tc.iab.String(); got != tc.want {
			t.Errorf("%+v.String() = %q, want %q", tc.iab, got, tc.want)
		}
	}
}

func TestRoundTripIAB(t *testing.T) {
	all := ^capset.Set(0)
	is, as, ns := randomMasks(2000, all), randomMasks(2001, all)[1:], randomMasks(2002, all)[2:]
	for k := range is {
		// Ambient is always inheritable as well, as ParseIAB and the kernel keep it.
		iab := capset.IAB{Inheritable: is[k] | as[k], Ambient: as[k], NotBounding: ns[k]}
		s := iab.String()
		got, err := capset.ParseIAB(s)
		if err != nil || got != iab {
			t.Errorf("ParseIAB(%q) = %+v, %v; want %+v", s, got, err, iab)
			continue
		}
		if again := got.String(); again != s {
			t.Errorf("String() not stable: %q then %q", s, again)
		}
		// An ambient bit without its inheritable bit reads back as both.
		odd := capset.IAB{Inheritable: is[k] &^ as[k], Ambient: as[k], NotBounding: ns[k]}
		if got, err := capset.ParseIAB(odd.String()); err != nil || got != iab {
			t.Errorf("ParseIAB(%q) = %+v, %v; want %+v", odd.String(), got, err, iab)
		}
	}
}

// TestIABMatchesLibcap checks capset's IAB text against libcap's own
// parser and printer for capabilities the kernel knows.
func TestIABMatchesLibcap(t *testing.T) {
	known := kernelKnown(t)
	is, as, ns := randomMasks(1000, known), randomMasks(1001, known)[1:], randomMasks(1002, known)[2:]
	for k := range is {
		iab := capset.IAB{Inheritable: is[k] | as[k], Ambient: as[k], NotBounding: ns[k]}
		s := iab.String()
		li, err := cap.IABFromText(s)
		if err != nil {
			t.Fatalf("libcap cannot read %q: %v", s, err)
		}
		if ls := li.String(); ls != s {
			t.Errorf("libcap prints %q, capset prints %q", ls, s)
		}
		for _, c := range known.Caps() {
			for _, v := range []struct {
				vec cap.Vector
				set capset.Set
			}{{cap.Inh, iab.Inheritable}, {cap.Amb, iab.Ambient}, {cap.Bound, iab.NotBounding}} {
				on, err := li.GetVector(v.vec, cap.Value(c))
				if err != nil || on != v.set.Has(c) {
					t.Fatalf("%q: libcap vector %v bit %v = %v, %v; capset has %v", s, v.vec, c, on, err, v.set.Has(c))
				}
			}
		}
	}
}

func TestIABOf(t *testing.T) {
	const sysModule capset.Cap = 16
	known := capset.KnownSet(40)
	bnd := known.Without(capset.SysAdmin).Without(sysModule)
	got := capset.IABOf(capset.Of(capset.Chown), capset.Of(capset.Chown), bnd|1<<50, known)
	want := capset.IAB{Inheritable: capset.Of(capset.Chown), Ambient: capset.Of(capset.Chown), NotBounding: capset.Of(capset.SysAdmin, sysModule)}
	if got != want {
		t.Errorf("IABOf = %+v, want %+v", got, want)
	}
	if got := capset.IABOf(0, 0, known, known); got != (capset.IAB{}) {
		t.Errorf("IABOf(full bounding) = %+v", got)
	}
}

func TestLastCap(t *testing.T) {
	write := func(content string) string {
		root := t.TempDir()
		dir := filepath.Join(root, "sys", "kernel")
		if err := os.MkdirAll(dir, 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, "cap_last_cap"), []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
		return root
	}
	for content, want := range map[string]capset.Cap{"40\n": 40, "37": 37, " 63 \n": 63, "0\n": 0} {
		if got, err := capset.LastCap(write(content)); err != nil || got != want {
			t.Errorf("LastCap(%q) = %d, %v; want %d", content, got, err, want)
		}
	}
	for _, content := range []string{"", "abc\n", "64\n", "-1\n", "4 0"} {
		if _, err := capset.LastCap(write(content)); err == nil {
			t.Errorf("LastCap(%q) succeeded", content)
		}
	}
	if _, err := capset.LastCap(t.TempDir()); err == nil {
		t.Error("LastCap of a directory without the file succeeded")
	}
	if last, err := capset.LastCap("/proc"); err == nil && (last < 36 || last >= capset.MaxBits) {
		t.Errorf("LastCap(/proc) = %d, not plausible", last)
	}
}

func TestTargets(t *testing.T) {
	s := capset.Of(capset.Chown, capset.NetBindService)
	if got, want := capset.Systemd(s), "CapabilityBoundingSet=CAP_CHOWN CAP_NET_BIND_SERVICE\nAmbientCapabilities=CAP_CHOWN CAP_NET_BIND_SERVICE\n"; got != want {
		t.Errorf("Systemd = %q, want %q", got, want)
	}
	if got, want := capset.Systemd(0), "CapabilityBoundingSet=\nAmbientCapabilities=\n"; got != want {
		t.Errorf("Systemd(empty) = %q, want %q", got, want)
	}
	if got, want := capset.Docker(s), "--cap-drop=ALL --cap-add=CHOWN --cap-add=NET_BIND_SERVICE\n"; got != want {
		t.Errorf("Docker = %q, want %q", got, want)
	}
	if got, want := capset.Docker(0), "--cap-drop=ALL\n"; got != want {
		t.Errorf("Docker(empty) = %q, want %q", got, want)
	}
	if got, want := capset.Capsh(s, "ftp"),
		`capsh --keep=1 --caps="cap_chown,cap_setgid,cap_setuid,cap_setpcap,cap_net_bind_service=eip" --user=ftp --caps="cap_chown,cap_net_bind_service=eip" --addamb=cap_chown,cap_net_bind_service -- -c 'COMMAND'`+"\n"; got != want {
		t.Errorf("Capsh = %q\nwant   %q", got, want)
	}
	if got, want := capset.Capsh(0, ""),
		`capsh --keep=1 --caps="cap_setgid,cap_setuid,cap_setpcap=eip" --user=nobody --caps= -- -c 'COMMAND'`+"\n"; got != want {
		t.Errorf("Capsh(empty) = %q\nwant   %q", got, want)
	}
	// Every target names exactly the capabilities of the set.
	for _, m := range randomMasks(200, capset.Upto(capset.NamedCount)) {
		lines := strings.Split(strings.TrimSuffix(capset.Systemd(m), "\n"), "\n")
		if len(lines) != 2 {
			t.Fatalf("Systemd(%v) has %d lines", m, len(lines))
		}
		for _, l := range lines {
			_, v, _ := strings.Cut(l, "=")
			if got, err := capset.ParseNames(v); err != nil || got != m {
				t.Errorf("Systemd(%v) line %q reads as %v, %v", m, l, got, err)
			}
		}
		var added []string
		for _, f := range strings.Fields(capset.Docker(m)) {
			if a, ok := strings.CutPrefix(f, "--cap-add="); ok {
				added = append(added, a)
			}
		}
		if got, err := capset.ParseNames(strings.Join(added, ",")); err != nil || got != m {
			t.Errorf("Docker(%v) adds %v (%v, %v)", m, added, got, err)
		}
	}
}

func TestBrief(t *testing.T) {
	for _, c := range []struct {
		s    capset.Set
		want string
	}{
		{0, "none"},
		{capset.Of(capset.Chown, capset.Setuid), "cap_chown,cap_setuid"},
		{capset.Upto(41), "all capabilities (000001ffffffffff)"},
		{capset.Upto(41).Without(capset.SysResource), "all except cap_sys_resource (000001fffeffffff)"},
		{capset.Upto(41) &^ capset.Upto(8), "33 capabilities (000001ffffffff00)"},
		{^capset.Set(0), "64 capabilities (ffffffffffffffff)"},
	} {
		if got := c.s.Brief(); got != c.want {
			t.Errorf("Brief(%s) = %q, want %q", c.s.Hex(), got, c.want)
		}
	}
}
