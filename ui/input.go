package ui

import (
	"io"
	"os"
	"unicode/utf8"
)

// Parameters the decoder holds: ultraviolet's CSI parser and x/ansi's
// DecodeSequence hold 32 (DecodeSequence indexes past its array on the
// 33rd, x/ansi v0.11.9), ultraviolet's DCS parser 16 (it turns the rest
// of a longer DCS into key presses). A sequence passes with at most one
// separator (';' or ':') fewer.
const (
	csiParams = 32
	dcsParams = 16
)

// replacement is U+FFFD, what the guard writes for a byte that is not
// UTF-8 and for a C1 control character.
const replacement = "\uFFFD"

// inputFilter makes terminal input safe for Bubble Tea's decoder before it
// is decoded, keeping every ordinary key, mouse report, paste and terminal
// reply as it is:
//
//   - the output is valid UTF-8 without C1 controls (U+0080 to U+009F):
//     a byte that is not UTF-8, and a C1 control (raw or UTF-8 encoded),
//     becomes U+FFFD. So no 8-bit CSI, DCS, OSC or SS3 ever reaches the
//     decoder (uv's X10 mouse parser reads past a 2-byte 8-bit "CSI M").
//   - after every ESC that may open a CSI or DCS (ESC, any intermediate
//     bytes 0x20-0x2F, then '[' or 'P'), the run of parameter bytes
//     (0x30-0x3F) keeps the parameters the decoder holds (csiParams,
//     dcsParams); the parameter bytes after them are dropped, so the
//     sequence reaches the decoder whole, with its own final byte, and
//     none of it turns into key presses.
//
// The rules look at ESC [ and ESC P wherever they occur, not only where
// a decoder would start a sequence, so they hold whatever state the
// decoder is in. The filter keeps its state across reads; the only bytes
// it holds back are an incomplete UTF-8 character at the end of a read.
type inputFilter struct {
	held  []byte
	state int
	// seps counts the separators of the current parameter run, of
	// which limit may pass.
	seps, limit int
}

const (
	stGround = iota
	stEscape // after ESC and any intermediate bytes
	stParams // in the parameter run after ESC [ or ESC P
)

// filter appends the safe form of src to dst. A trailing incomplete UTF-8
// character is kept for the next call.
func (f *inputFilter) filter(dst, src []byte) []byte {
	buf := src
	if len(f.held) > 0 {
		buf = append(f.held, src...)
		f.held = nil
	}
	for i := 0; i < len(buf); {
		c := buf[i]
		if c >= utf8.RuneSelf {
			f.state = stGround
			if !utf8.FullRune(buf[i:]) {
				f.held = append([]byte(nil), buf[i:]...)
				break
			}
			r, size := utf8.DecodeRune(buf[i:])
			if r == utf8.RuneError && size == 1 || r >= 0x80 && r <= 0x9f {
				dst = append(dst, replacement...)
			} else {
				dst = append(dst, buf[i:i+size]...)
			}
			i += size
			continue
		}
		i++
		switch f.state {
		case stEscape:
			switch {
			case c == '[' || c == 'P':
				f.state, f.seps, f.limit = stParams, 0, csiParams-1
				if c == 'P' {
					f.limit = dcsParams - 1
				}
				dst = append(dst, c)
				continue
			case c >= 0x20 && c <= 0x2f, c == 0x1b:
				dst = append(dst, c)
				continue
			}
		case stParams:
			if c >= 0x30 && c <= 0x3f {
				if c == ';' || c == ':' {
					f.seps++
				}
				if f.seps <= f.limit {
					dst = append(dst, c)
				}
				continue
			}
		}
		f.state = stGround
		if c == 0x1b {
			f.state = stEscape
		}
		dst = append(dst, c)
	}
	return dst
}

// guardedReader reads through an inputFilter. It never returns more than
// fits in the caller's buffer and keeps nothing back but a partial UTF-8
// character, so a reader that waits for its file to become readable
// (Bubble Tea's cancelreader) never misses filtered bytes.
type guardedReader struct {
	r   io.Reader
	f   inputFilter
	raw []byte
}

// Read reads at most a third of len(p) bytes (a byte may become the three
// of U+FFFD), filtered. It reads the underlying reader once per call.
func (g *guardedReader) Read(p []byte) (int, error) {
	n := len(p)/len(replacement) - len(g.f.held)
	if n < 1 {
		return 0, io.ErrShortBuffer
	}
	if cap(g.raw) < n {
		g.raw = make([]byte, n)
	}
	m, err := g.r.Read(g.raw[:n])
	out := g.f.filter(p[:0], g.raw[:m])
	return len(out), err
}

// ttyInput is the terminal Bubble Tea reads keys from, behind the guard.
// It has the terminal's descriptor (Fd, so Bubble Tea still puts it in raw
// mode and restores it, and its cancelreader still waits on it with epoll
// and can be cancelled on quit) and writes to it unchanged. Close does not
// close the terminal: Run owns it.
type ttyInput struct {
	guardedReader
	tty *os.File
}

func newTTYInput(tty *os.File) *ttyInput {
	return &ttyInput{guardedReader: guardedReader{r: tty}, tty: tty}
}

// Write writes to the terminal.
func (t *ttyInput) Write(p []byte) (int, error) { return t.tty.Write(p) }

// Close leaves the terminal open for Run to close.
func (t *ttyInput) Close() error { return nil }

// Fd is the terminal's descriptor.
func (t *ttyInput) Fd() uintptr { return t.tty.Fd() }

// Name is the terminal's name.
func (t *ttyInput) Name() string { return t.tty.Name() }
