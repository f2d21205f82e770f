package model

import (
	"math/rand"
	"regexp"
	"strings"
	"testing"
	"unicode/utf8"

	"captune/capset"
	"captune/procscan"
)

const known41 = capset.Set(1<<41 - 1)

// counts matches the spaces the shortened forms put inside a clause.
var counts = regexp.MustCompile(`(\d+) (caps?|more…)`)

func proc(e, p, i capset.Set) procscan.Process {
	return procscan.Process{Sets: procscan.Sets{Effective: e, Permitted: p, Inheritable: i, Bounding: known41}}
}

func TestCapTextFit(t *testing.T) {
	session := proc(0, 0x200004c1, 0)
	pinger := procscan.Process{NoNewPrivs: true, Seccomp: 2, Sets: procscan.Sets{Effective: 1 << 13, Permitted: 1 << 13, Inheritable: 1 << 13, Ambient: 1 << 13, Bounding: known41 &^ (1 << 21)}}
	for _, c := range []struct {
		p    procscan.Process
		w    int
		want string
	}{
		{session, 80, "cap_chown,cap_setgid,cap_setuid,cap_net_bind_service,cap_audit_write=p"},
		{session, 40, "cap_chown,…3 more…,cap_audit_write=p"},
		{session, 20, "5 caps=p"},
		{session, 5, "5 ca…"},
		{proc(known41, known41, 0), 3, "=ep"},
		{proc(known41&^(1<<24), known41, 0), 30, "=ep cap_sys_resource-e"},
		{proc(known41&^(1<<24), known41, 0), 15, "=ep 1 cap-e"},
		{pinger, 60, "cap_net_raw=eip  [^amb !bnd nnp seccomp]"},
		{pinger, 36, "cap_net_raw=eip  [^amb !bnd nnp …]"},
		{pinger, 20, "cap_net_raw=eip"},
	} {
		if got := CapTextFit(c.p, known41, c.w); got != c.want {
			t.Errorf("width %d: %q, want %q", c.w, got, c.want)
		}
	}
}

// TestCapTextFitKeepsOperators: for random sets and widths, the shortened
// text fits, and unless even the counted form is too wide it keeps every
// clause's operators in order (the part that says what the set is).
func TestCapTextFitKeepsOperators(t *testing.T) {
	rng := rand.New(rand.NewSource(3))
	s := func() capset.Set { return capset.Set(rng.Uint64()) & known41 }
	ops := func(text string) []string {
		var out []string
		for _, c := range strings.Fields(text) {
			if strings.HasPrefix(c, "[") || strings.HasSuffix(c, "]") {
				break
			}
			_, o := splitClause(c)
			out = append(out, o)
		}
		return out
	}
	for range 3000 {
		p := proc(s(), s(), s())
		if rng.Intn(3) == 0 {
			p.Sets.Effective = p.Sets.Permitted
		}
		w := 8 + rng.Intn(120)
		got := CapTextFit(p, known41, w)
		if n := utf8.RuneCountInString(got); n > w {
			t.Fatalf("width %d: %d runes: %q", w, n, got)
		}
		if strings.HasSuffix(got, "…") {
			continue
		}
		if want, have := ops(Signature(p)), ops(counts.ReplaceAllString(got, "${1}_cap")); strings.Join(want, " ") != strings.Join(have, " ") {
			t.Fatalf("width %d: operators %v, want %v\n%q\n%q", w, have, want, got, Signature(p))
		}
	}
}

func TestPrintable(t *testing.T) {
	for _, c := range []struct{ in, want string }{
		{"plain", "plain"},
		{"ünïcödé 日本", "ünïcödé 日本"},
		{"\x1b]0;x\a\x1b[2J", `\x1b]0;x\x07\x1b[2J`},
		{"a\xff\xfeb", `a\xff\xfeb`},
		{"\u009b31m", `\xc2\x9b31m`},
		{"\x7f", `\x7f`},
		{"evil\u202egnp.exe", `evil\u{202e}gnp.exe`},
		{"\u2066x\u2069\u200f", `\u{2066}x\u{2069}\u{200f}`},
	} {
		if got := Printable(c.in); got != c.want {
			t.Errorf("Printable(%q) = %q, want %q", c.in, got, c.want)
		}
		if again := Printable(Printable(c.in)); again != Printable(c.in) {
			t.Errorf("not idempotent on %q: %q", c.in, again)
		}
	}
}
