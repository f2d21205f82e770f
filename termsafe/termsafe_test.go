package termsafe

import (
	"strings"
	"testing"
	"unicode/utf8"
)

func TestEscape(t *testing.T) {
	for _, c := range []struct{ in, want string }{
		{"", ""},
		{"plain text", "plain text"},
		{"caf\u00e9 \u65e5\u672c", "caf\u00e9 \u65e5\u672c"},
		{"\x1b]0;owned\a\x1b[2J", `\x1b]0;owned\x07\x1b[2J`},
		{"a\nb\tc\r", `a\x0ab\x09c\x0d`},
		{"\x7f", `\x7f`},
		{"\xff\xfe", `\xff\xfe`},
		{"\u009b31m", `\xc2\x9b31m`},
		{"evil\u202etxt.exe", `evil\u{202e}txt.exe`},
		{"\u2066x\u2069", `\u{2066}x\u{2069}`},
	} {
		if got := Escape(c.in); got != c.want {
			t.Errorf("Escape(%q) = %q, want %q", c.in, got, c.want)
		}
	}
}

// TestEscapeIsInert: whatever goes in, nothing a terminal acts on comes
// out, the result is valid UTF-8, and escaping twice changes nothing.
func TestEscapeIsInert(t *testing.T) {
	for n := 0; n < 2000; n++ {
		b := make([]byte, n%40)
		for i := range b {
			b[i] = byte((n*31 + i*17) % 256)
		}
		in := string(b) + "\u202e\u0085"
		out := Escape(in)
		if !utf8.ValidString(out) {
			t.Fatalf("Escape(%q) = %q: not UTF-8", in, out)
		}
		for _, r := range out {
			if r < 0x20 || r == 0x7f || (r >= 0x80 && r < 0xa0) || bidiControl(r) {
				t.Fatalf("Escape(%q) = %q holds %U", in, out, r)
			}
		}
		if Escape(out) != out {
			t.Fatalf("Escape is not idempotent on %q", out)
		}
	}
}

func TestLine(t *testing.T) {
	if got := Line("one\ntwo\x1b", 0); got != `one two\x1b` {
		t.Errorf("Line = %q", got)
	}
	long := Line(strings.Repeat("\u00e9", 400), 100)
	if !strings.HasSuffix(long, "...") || len(long) > 103 || !utf8.ValidString(long) {
		t.Errorf("Line cut badly: %d bytes %q", len(long), long)
	}
}
