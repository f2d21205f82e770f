package modcap

import (
	"errors"
	"math/rand"
	"strings"
	"testing"

	"captune/capset"
)

// effectiveTokens are the six tokens that change something, in catalogue
// order; bit i of a combination selects effectiveTokens[i].
var effectiveTokens = []Token{
	{Add: false, Cap: capset.Chown},
	{Add: true, Cap: capset.DacOverride},
	{Add: true, Cap: capset.DacReadSearch},
	{Add: true, Cap: capset.Fowner},
	{Add: true, Cap: capset.Fsetid},
	{Add: false, Cap: capset.Setuid},
}

// ineffectiveTokens are the other sign of each: accepted, ignored.
var ineffectiveTokens = []Token{
	{Add: true, Cap: capset.Chown},
	{Add: false, Cap: capset.DacOverride},
	{Add: false, Cap: capset.DacReadSearch},
	{Add: false, Cap: capset.Fowner},
	{Add: false, Cap: capset.Fsetid},
	{Add: true, Cap: capset.Setuid},
}

// combination returns the tokens of combination m (0..63); m == 0 is no
// CapabilitiesSet line at all (nil).
func combination(m int) []Token {
	if m == 0 {
		return nil
	}
	var out []Token
	for i, tok := range effectiveTokens {
		if m&(1<<i) != 0 {
			out = append(out, tok)
		}
	}
	return out
}

func tokenStrings(toks []Token) []string {
	out := make([]string, len(toks))
	for i, t := range toks {
		out[i] = t.String()
	}
	return out
}

// catalogueIndex is a token's place in Tokenable.
func catalogueIndex(c capset.Cap) int {
	for i, x := range Tokenable {
		if x == c {
			return i
		}
	}
	return -1
}

func TestEmitRoundTrip64(t *testing.T) {
	for _, pam := range []bool{true, false} {
		seen := map[capset.Set]int{}
		for m := 0; m < 64; m++ {
			toks := combination(m)
			kept := KeptByTokens(toks, pam)
			if prev, dup := seen[kept]; dup {
				t.Errorf("pam %v: combinations %d and %d keep the same set %s", pam, prev, m, kept.Hex())
			}
			seen[kept] = m
			b, err := Emit(kept, pam)
			if err != nil {
				t.Fatalf("pam %v, combination %d (%v): %v", pam, m, tokenStrings(toks), err)
			}
			if b.Kept != kept || !b.Engine {
				t.Errorf("combination %d: block %+v", m, b)
			}
			// The block's tokens parse back to the same set.
			var back []Token
			if b.Tokens != nil {
				back, err = ParseTokens(tokenStrings(b.Tokens))
				if err != nil {
					t.Fatalf("combination %d: block tokens %v do not parse: %v", m, tokenStrings(b.Tokens), err)
				}
			}
			if got := KeptByTokens(back, pam); got != kept {
				t.Errorf("pam %v, combination %d: block %v keeps %s, want %s", pam, m, tokenStrings(b.Tokens), got.Hex(), kept.Hex())
			}
			// Only effective tokens, in catalogue order: exactly the
			// combination's own tokens.
			for i, tok := range b.Tokens {
				if !tok.Effective() && !(len(b.Tokens) == 1 && tok == (Token{Add: true, Cap: capset.Chown})) {
					t.Errorf("combination %d: block has the no-op token %s", m, tok)
				}
				if i > 0 && catalogueIndex(b.Tokens[i-1].Cap) >= catalogueIndex(tok.Cap) {
					t.Errorf("combination %d: tokens %v not in catalogue order", m, tokenStrings(b.Tokens))
				}
			}
			if m != 0 && strings.Join(tokenStrings(b.Tokens), " ") != strings.Join(tokenStrings(toks), " ") {
				t.Errorf("combination %d: block %v, want the minimal %v", m, tokenStrings(b.Tokens), tokenStrings(toks))
			}
			// Adding every no-op token, in any order, keeps the same set,
			// and Emit drops them again.
			if m != 0 {
				noisy := append(append([]Token{}, toks...), ineffectiveTokens...)
				rand.New(rand.NewSource(int64(m))).Shuffle(len(noisy), func(i, j int) { noisy[i], noisy[j] = noisy[j], noisy[i] })
				if got := KeptByTokens(noisy, pam); got != kept {
					t.Errorf("combination %d with no-op tokens %v keeps %s, want %s", m, tokenStrings(noisy), got.Hex(), kept.Hex())
				}
			}
			// The block read as a configuration predicts the same set.
			cfg := readOK(t, b.String())
			p := Predict(Input{Config: cfg, Login: ftptest, PAM: &pam, MasterPermitted: full, MasterBounding: full})
			if p.Kept != kept || p.Permitted != kept {
				t.Errorf("pam %v, combination %d: predicted kept %s prm %s, want %s\n%s", pam, m, p.Kept.Hex(), p.Permitted.Hex(), kept.Hex(), b)
			}
		}
		if len(seen) != 64 {
			t.Errorf("pam %v: %d distinct sets", pam, len(seen))
		}
	}
}

func TestEmitDefaults(t *testing.T) {
	for _, pam := range []bool{true, false} {
		b, err := Emit(DefaultKept(pam), pam)
		if err != nil || b.Tokens != nil || strings.Contains(b.String(), "CapabilitiesSet") {
			t.Errorf("pam %v: default set gives %+v %v", pam, b, err)
		}
	}
	if DefaultKept(true) != 0x200004c1 || DefaultKept(false) != 0x4c1 {
		t.Errorf("defaults %s %s", DefaultKept(true).Hex(), DefaultKept(false).Hex())
	}
	// With PAM, the default set without CAP_AUDIT_WRITE needs a line that
	// changes nothing else: +CAP_CHOWN.
	b, err := Emit(0x4c1, true)
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(tokenStrings(b.Tokens), " "); got != "+CAP_CHOWN" {
		t.Errorf("tokens %q, want +CAP_CHOWN", got)
	}
	if KeptByTokens(b.Tokens, true) != 0x4c1 {
		t.Errorf("+CAP_CHOWN keeps %s", KeptByTokens(b.Tokens, true).Hex())
	}
}

func TestBlockString(t *testing.T) {
	b, err := Emit(capset.Of(capset.NetBindService, capset.Setuid, capset.Setgid, capset.Fowner, capset.DacReadSearch), true)
	if err != nil {
		t.Fatal(err)
	}
	want := "<IfModule mod_cap.c>\n" +
		"  CapabilitiesEngine on\n" +
		"  CapabilitiesSet -CAP_CHOWN +CAP_DAC_READ_SEARCH +CAP_FOWNER\n" +
		"</IfModule>\n"
	if b.String() != want {
		t.Errorf("got\n%s\nwant\n%s", b, want)
	}
	b, _ = Emit(DefaultKept(true), true)
	if want := "<IfModule mod_cap.c>\n  CapabilitiesEngine on\n</IfModule>\n"; b.String() != want {
		t.Errorf("got\n%s\nwant\n%s", b, want)
	}
	if want := "<IfModule mod_cap.c>\n  CapabilitiesEngine off\n</IfModule>\n"; (Block{}).String() != want {
		t.Errorf("engine off block:\n%s", Block{})
	}
}

func unexpressible(t *testing.T, want capset.Set, pam bool) *UnexpressibleError {
	t.Helper()
	_, err := Emit(want, pam)
	var ue *UnexpressibleError
	if !errors.As(err, &ue) {
		t.Fatalf("Emit(%s, pam %v) = %v, want *UnexpressibleError", want, pam, err)
	}
	if ue.Want != want {
		t.Errorf("Want %s", ue.Want.Hex())
	}
	nb, err := Emit(ue.Nearest, pam)
	if err != nil {
		t.Errorf("Nearest %s is not expressible: %v", ue.Nearest, err)
	} else if nb.Kept != ue.Nearest || KeptByTokens(nb.Tokens, pam) != ue.Nearest {
		t.Errorf("Nearest %s emits %+v", ue.Nearest, nb)
	}
	// Many capabilities without a token are one reason naming them by
	// their mask; every other reason is there word for word.
	var never capset.Set
	for _, p := range ue.Problems {
		if !Expressible.Has(p.Cap) {
			never = never.With(p.Cap)
		}
	}
	for _, p := range ue.Problems {
		if never.Len() > neverListed && never.Has(p.Cap) {
			continue
		}
		if !strings.Contains(ue.Error(), p.Reason) {
			t.Errorf("Error() %q lacks %q", ue.Error(), p.Reason)
		}
	}
	if never.Len() > neverListed && !strings.Contains(ue.Error(), never.Hex()+") are never kept") {
		t.Errorf("Error() %q does not name the %d capabilities mod_cap never keeps by their mask %s", ue.Error(), never.Len(), never.Hex())
	}
	if !strings.Contains(ue.Error(), ue.Nearest.Hex()) {
		t.Errorf("Error() %q lacks the nearest set", ue.Error())
	}
	return ue
}

func problemCaps(ue *UnexpressibleError) []capset.Cap {
	var out []capset.Cap
	for _, p := range ue.Problems {
		out = append(out, p.Cap)
	}
	return out
}

func TestEmitUnexpressible(t *testing.T) {
	cases := []struct {
		name    string
		want    capset.Set
		pam     bool
		caps    []capset.Cap
		nearest capset.Set
	}{
		{"cap_sys_admin", DefaultKept(true).With(capset.SysAdmin), true, []capset.Cap{capset.SysAdmin}, DefaultKept(true)},
		{"missing NET_BIND_SERVICE", capset.Of(capset.Chown, capset.Setuid, capset.Setgid), false, []capset.Cap{capset.NetBindService}, 0x4c1},
		{"SETGID without SETUID", capset.Of(capset.NetBindService, capset.Setgid), false, []capset.Cap{capset.Setgid}, 0x4c0},
		{"SETUID without SETGID", capset.Of(capset.NetBindService, capset.Setuid, capset.Fowner), false, []capset.Cap{capset.Setuid}, 0x4c8},
		{"AUDIT_WRITE with a token", capset.Set(0x4c9).With(capset.AuditWrite), true, []capset.Cap{capset.AuditWrite}, 0x4c9},
		{"AUDIT_WRITE without PAM", DefaultKept(true), false, []capset.Cap{capset.AuditWrite}, 0x4c1},
		{"empty set", 0, true, []capset.Cap{capset.NetBindService}, 0x400},
		{"everything at once", capset.Of(capset.Setgid, capset.Fsetid, capset.AuditWrite, capset.SysAdmin, capset.NetRaw), true,
			[]capset.Cap{capset.NetBindService, capset.Setgid, capset.AuditWrite, capset.NetRaw, capset.SysAdmin}, 0x4d0},
		{"all 64 bits", ^capset.Set(0), true, nil, 0x4df},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			ue := unexpressible(t, c.want, c.pam)
			if c.caps != nil && !sameCaps(problemCaps(ue), c.caps) {
				t.Errorf("problems %v, want one for each of %v\n%v", problemCaps(ue), c.caps, ue)
			}
			if ue.Nearest != c.nearest {
				t.Errorf("Nearest %s, want %s", ue.Nearest.Hex(), c.nearest.Hex())
			}
		})
	}
	// Every capability outside what mod_cap can keep gets its own reason.
	ue := unexpressible(t, ^capset.Set(0), true)
	for c := capset.Cap(0); c < 64; c++ {
		if Expressible.Has(c) {
			continue
		}
		found := false
		for _, p := range ue.Problems {
			found = found || p.Cap == c
		}
		if !found {
			t.Errorf("no reason for %s", c)
		}
	}
}

func sameCaps(a, b []capset.Cap) bool {
	if len(a) != len(b) {
		return false
	}
	var sa, sb capset.Set
	for _, c := range a {
		sa = sa.With(c)
	}
	for _, c := range b {
		sb = sb.With(c)
	}
	return sa == sb
}

// TestEmitEverySet runs Emit over every set made of the capabilities
// mod_cap deals with and one it never keeps: either the block keeps
// exactly the set, or the error's nearest set is expressible and as close
// as it can be.
func TestEmitEverySet(t *testing.T) {
	caps := []capset.Cap{capset.Chown, capset.DacOverride, capset.DacReadSearch, capset.Fowner, capset.Fsetid,
		capset.Setgid, capset.Setuid, capset.NetBindService, capset.AuditWrite, capset.SysAdmin}
	for _, pam := range []bool{true, false} {
		ok := 0
		for m := 0; m < 1<<len(caps); m++ {
			var want capset.Set
			for i, c := range caps {
				if m&(1<<i) != 0 {
					want = want.With(c)
				}
			}
			b, err := Emit(want, pam)
			if err == nil {
				ok++
				if KeptByTokens(b.Tokens, pam) != want {
					t.Errorf("pam %v: %s emits %v which keeps %s", pam, want, tokenStrings(b.Tokens), KeptByTokens(b.Tokens, pam))
				}
				continue
			}
			var ue *UnexpressibleError
			if !errors.As(err, &ue) || len(ue.Problems) == 0 {
				t.Fatalf("pam %v: %s: %v", pam, want, err)
			}
			if _, err := Emit(ue.Nearest, pam); err != nil {
				t.Errorf("pam %v: nearest of %s is %s, not expressible: %v", pam, want, ue.Nearest, err)
			}
			if extra := ue.Nearest &^ want &^ capset.Of(capset.NetBindService, capset.Setuid, capset.Setgid); extra != 0 {
				t.Errorf("pam %v: nearest of %s adds %s", pam, want, extra)
			}
			// A capability blamed for being unkeepable is not in the
			// nearest set: the reasons and the nearest set agree.
			for _, p := range ue.Problems {
				if (p.Cap == capset.AuditWrite || !Expressible.Has(p.Cap)) && ue.Nearest.Has(p.Cap) {
					t.Errorf("pam %v: %s: %q, yet the nearest set %s keeps it", pam, want, p.Reason, ue.Nearest)
				}
			}
		}
		// 64 token combinations, plus the default set with PAM.
		wantOK := 64
		if pam {
			wantOK = 65
		}
		if ok != wantOK {
			t.Errorf("pam %v: %d expressible sets, want %d", pam, ok, wantOK)
		}
	}
}

func TestRoles(t *testing.T) {
	for c := capset.Cap(0); c < 64; c++ {
		r := RoleOf(c)
		if (r != NeverKept) != Expressible.Has(c) {
			t.Errorf("%s: role %d but Expressible %v", c, r, Expressible.Has(c))
		}
		if Explain(c) == "" {
			t.Errorf("%s: no explanation", c)
		}
	}
	for _, tok := range effectiveTokens {
		if !tok.Effective() {
			t.Errorf("%s not effective", tok)
		}
	}
	for _, tok := range ineffectiveTokens {
		if tok.Effective() {
			t.Errorf("%s effective", tok)
		}
	}
}
