// Package termsafe is the one escaping every string from a process, a file
// or a path goes through before it reaches a terminal. captune runs as root
// and prints process titles, user names, file contents and paths that other
// users control; none of them may move the cursor, set the window title,
// reorder the text on screen or break a line. It imports only the standard
// library, so every package may use it.
package termsafe

import (
	"fmt"
	"strings"
	"unicode/utf8"
)

// Escape returns s with what a terminal must not see raw written as
// escapes, dropping nothing: bytes that are not UTF-8, C0 controls
// (newline and tab included), DEL and C1 controls become \xNN (one per
// byte), and the Unicode controls that reorder text (bidi embeddings,
// overrides, isolates and marks) become \u{NNNN}. Printable text is
// returned as it is, so Escape of an escaped string changes nothing.
func Escape(s string) string {
	if clean(s) {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); {
		r, size := utf8.DecodeRuneInString(s[i:])
		switch {
		case (r == utf8.RuneError && size == 1) || r < 0x20 || r == 0x7f || (r >= 0x80 && r < 0xa0):
			for j := 0; j < size; j++ {
				fmt.Fprintf(&b, "\\x%02x", s[i+j])
			}
		case bidiControl(r):
			fmt.Fprintf(&b, "\\u{%04x}", r)
		default:
			b.WriteString(s[i : i+size])
		}
		i += size
	}
	return b.String()
}

// clean reports whether s is printable ASCII only, the common case.
func clean(s string) bool {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x20 || c >= 0x7f {
			return false
		}
	}
	return true
}

// bidiControl reports the characters that change the display order of
// text: ALM, LRM, RLM, the embeddings and overrides, and the isolates.
func bidiControl(r rune) bool {
	return r == 0x061c || r == 0x200e || r == 0x200f || (r >= 0x202a && r <= 0x202e) || (r >= 0x2066 && r <= 0x2069)
}

// Line is Escape for a one-line message: newlines become spaces first (so
// a multi-line error still reads as one line), and the result is cut after
// about max bytes with "..." so a huge argument cannot flood the terminal.
func Line(s string, max int) string {
	out := Escape(strings.ReplaceAll(s, "\n", " "))
	if max > 0 && len(out) > max {
		cut := max
		for cut > 0 && !utf8.RuneStart(out[cut]) {
			cut--
		}
		out = out[:cut] + "..."
	}
	return out
}
