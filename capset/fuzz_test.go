package capset_test

import (
	"errors"
	"strings"
	"testing"

	"captune/capset"
)

// The seed corpora live in testdata/fuzz/FuzzXxx/; go test runs them as
// ordinary tests, and go test -fuzz starts from them.

func FuzzParseHex(f *testing.F) {
	f.Fuzz(func(t *testing.T, s string) {
		v, err := capset.ParseHex(s)
		if err != nil {
			if !errors.Is(err, capset.ErrBadMask) {
				t.Fatalf("ParseHex(%.200q) error %v does not wrap ErrBadMask", s, err)
			}
			return
		}
		h := v.Hex()
		if len(h) != 16 {
			t.Fatalf("Hex() = %.200q, want 16 digits", h)
		}
		for _, in := range []string{h, "0x" + h, v.Decode()[:18]} {
			back, err := capset.ParseHex(in)
			if err != nil || back != v {
				t.Fatalf("ParseHex(%.200q) = %#x: ParseHex(%.200q) = %#x, %v", s, uint64(v), in, uint64(back), err)
			}
		}
	})
}

func FuzzParse(f *testing.F) {
	f.Fuzz(func(t *testing.T, s string) {
		v, err := capset.Parse(s)
		if err != nil {
			if !errors.Is(err, capset.ErrUnknownCap) && !errors.Is(err, capset.ErrBadMask) && !errors.Is(err, capset.ErrBadText) && !errors.Is(err, capset.ErrAmbiguous) {
				t.Fatalf("Parse(%.200q) error %v wraps none of the package's errors", s, err)
			}
			return
		}
		// Whatever was read prints and reads back the same, as a mask and
		// as a list of names; a list that is one unnamed capability
		// ("41") is a lone number, refused as ambiguous.
		for _, in := range []string{v.Hex(), "0x" + v.Hex(), v.String()} {
			back, err := capset.Parse(in)
			if in == v.String() && v.Len() == 1 && !v.Caps()[0].Named() {
				if !errors.Is(err, capset.ErrAmbiguous) {
					t.Fatalf("Parse(%q) = %#x, %v; want ErrAmbiguous", in, uint64(back), err)
				}
				continue
			}
			if err != nil || back != v {
				t.Fatalf("Parse(%.200q) = %#x: Parse(%.200q) = %#x, %v", s, uint64(v), in, uint64(back), err)
			}
		}
	})
}

func FuzzParseText(f *testing.F) {
	known := kernelKnown(f)
	f.Fuzz(func(t *testing.T, s string) {
		tr, err := capset.ParseText(s)
		if err != nil {
			if !errors.Is(err, capset.ErrBadText) {
				t.Fatalf("ParseText(%.200q) error %v does not wrap ErrBadText", s, err)
			}
			return
		}
		// Every word is read: "=" resets all three sets, so a text that
		// ends in "cap_chown=e" holds exactly that, whatever came before.
		// (libcap once stopped silently at a word longer than 64 KiB.)
		reset := capset.Triple{Effective: capset.Of(capset.Chown)}
		if got, err := capset.ParseText(s + " cap_chown=e"); err != nil || got != reset {
			t.Fatalf("ParseText(%.200q + \" cap_chown=e\") = %+v, %v; want %+v", s, got, err, reset)
		}
		out := tr.String()
		back, err := capset.ParseText(out)
		if err != nil {
			t.Fatalf("ParseText(%.200q) = %+v prints %.200q, which does not parse: %v", s, tr, out, err)
		}
		mask := func(x capset.Triple) capset.Triple {
			return capset.Triple{Effective: x.Effective & known, Permitted: x.Permitted & known, Inheritable: x.Inheritable & known}
		}
		if mask(back) != mask(tr) {
			t.Fatalf("ParseText(%.200q) = %+v prints %.200q, which reads as %+v", s, tr, out, back)
		}
		// Bits the kernel does not know are written out by number, so
		// they survive too.
		if back != tr {
			t.Fatalf("ParseText(%.200q) = %#v prints %.200q, which reads as %#v", s, tr, out, back)
		}
		if again := back.String(); again != out {
			t.Fatalf("String() is not stable: %.200q then %.200q", out, again)
		}
		// Parse takes the permitted set of libcap text.
		if strings.ContainsAny(out, "=+-") {
			if p, err := capset.Parse(out); err != nil || p != tr.Permitted {
				t.Fatalf("Parse(%.200q) = %v, %v; want %v", out, p, err, tr.Permitted)
			}
		}
	})
}

func FuzzParseIAB(f *testing.F) {
	f.Fuzz(func(t *testing.T, s string) {
		iab, err := capset.ParseIAB(s)
		if err != nil {
			if !errors.Is(err, capset.ErrBadText) {
				t.Fatalf("ParseIAB(%.200q) error %v does not wrap ErrBadText", s, err)
			}
			return
		}
		if iab.Ambient&^iab.Inheritable != 0 {
			t.Fatalf("ParseIAB(%.200q) = %+v: ambient bits that are not inheritable", s, iab)
		}
		out := iab.String()
		back, err := capset.ParseIAB(out)
		if err != nil || back != iab {
			t.Fatalf("ParseIAB(%.200q) = %+v prints %.200q, which reads as %+v, %v", s, iab, out, back, err)
		}
		if again := back.String(); again != out {
			t.Fatalf("String() is not stable: %.200q then %.200q", out, again)
		}
	})
}
