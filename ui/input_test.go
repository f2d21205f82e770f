package ui

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"testing"
	"unicode/utf8"

	uv "github.com/charmbracelet/ultraviolet"
	"github.com/charmbracelet/x/ansi"
	"github.com/charmbracelet/x/term"
	"github.com/muesli/cancelreader"
)

// chunkReader returns its data in the given chunk sizes (the last chunk
// repeats), as a terminal's reads may split it.
type chunkReader struct {
	data  []byte
	sizes []int
}

func (c *chunkReader) Read(p []byte) (int, error) {
	if len(c.data) == 0 {
		return 0, io.EOF
	}
	n := len(c.data)
	if len(c.sizes) > 0 {
		n = max(1, c.sizes[0])
		if len(c.sizes) > 1 {
			c.sizes = c.sizes[1:]
		}
	}
	n = min(n, len(p), len(c.data))
	copy(p, c.data[:n])
	c.data = c.data[n:]
	return n, nil
}

// readAll reads r to the end in reads of 4096 bytes, as Bubble Tea does.
func readAll(r io.Reader) ([]byte, error) {
	var out []byte
	buf := make([]byte, 4096)
	for {
		n, err := r.Read(buf)
		out = append(out, buf[:n]...)
		if err == io.EOF {
			return out, nil
		}
		if err != nil {
			return out, err
		}
	}
}

// decodeLikeBubbleTea runs input through the decoder Bubble Tea v2 reads
// keys with (ultraviolet's TerminalReader, fed by reads of 4096 bytes),
// and also through x/ansi's DecodeSequence and ultraviolet's
// EventDecoder one sequence at a time. It returns the events, or the
// panic it caught.
func decodeLikeBubbleTea(r io.Reader) (events []uv.Event, err error) {
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("decoder panicked: %v", p)
		}
	}()
	var all bytes.Buffer
	tr := uv.NewTerminalReader(io.TeeReader(r, &all), "xterm-256color")
	ch := make(chan uv.Event, 64)
	done := make(chan struct{})
	var got []uv.Event
	go func() {
		for e := range ch {
			got = append(got, e)
		}
		close(done)
	}()
	// The events are read once the collector is done, also after a panic.
	defer func() {
		close(ch)
		<-done
		events = got
	}()
	serr := tr.StreamEvents(context.Background(), ch)
	if serr != nil && serr != io.EOF {
		return events, serr
	}
	b := all.Bytes()
	p := ansi.GetParser()
	defer ansi.PutParser(p)
	var state byte
	for len(b) > 0 {
		_, _, n, ns := ansi.DecodeSequence(b, state, p)
		if n == 0 {
			return events, fmt.Errorf("DecodeSequence made no progress at %q", b)
		}
		state, b = ns, b[n:]
	}
	var d uv.EventDecoder
	for b = all.Bytes(); len(b) > 0; {
		n, _ := d.Decode(b)
		if n <= 0 {
			return events, fmt.Errorf("Decode made no progress at %q", b)
		}
		b = b[n:]
	}
	return events, nil
}

// hostileInput panics Bubble Tea's decoder without the guard (x/ansi
// v0.11.9, ultraviolet of 2026-10-08). typed is set when ultraviolet
// reads it as ordinary keys anyway (only DecodeSequence sees a sequence).
type hostileInput struct {
	name, in string
	typed    bool
}

var hostileInputs = []hostileInput{
	// The sequence: 41 parameters.
	{name: "csi-41-params", in: "\x1b[" + strings.Repeat("1;", 40) + "1_"},
	// The 33rd parameter starting with ':' or a digit, in a CSI and a DCS
	// (a DCS of more than 16 parameters also turns into key presses).
	{name: "csi-33-colons", in: "\x1b[" + strings.Repeat(":", 32) + ":u"},
	{name: "csi-prefix-long", in: "\x1b[?" + strings.Repeat(";", 32) + "1c"},
	{name: "dcs-33-params", in: "\x1bP" + strings.Repeat("0;", 33) + "q\x1b\\"},
	// ESC with intermediate bytes before '[' still opens a CSI for
	// DecodeSequence.
	{name: "esc-intermediate-csi", in: "\x1b \x1b!![" + strings.Repeat("2;", 33) + "2m", typed: true},
	// 8-bit CSI then M: the X10 mouse parser slices past the buffer.
	{name: "c1-x10-mouse", in: "\x9bMX$ ", typed: true},
	// The same inside a paste, and after text.
	{name: "pasted", in: "\x1b[200~text\x1b[" + strings.Repeat("1;", 40) + "1_more\x1b[201~"},
	{name: "after-text", in: "hello \xc3\xc3m\\\x9bMX$ ", typed: true},
}

// TestHostileInputPanicsTheBareDecoder documents what the guard is for:
// each hostile input panics the decoder when nothing guards it. If a
// dependency update fixes one, this test says so (and the guard still
// does no harm).
func TestHostileInputPanicsTheBareDecoder(t *testing.T) {
	for _, h := range hostileInputs {
		if _, err := decodeLikeBubbleTea(strings.NewReader(h.in)); err == nil {
			t.Logf("%s: the bare decoder no longer panics on %q (an upstream fix?)", h.name, h.in)
		} else {
			t.Logf("%s: bare decoder: %v", h.name, err)
		}
	}
}

// TestGuardSurvivesHostileInput feeds every hostile input through the
// guard into the decoder, whole and split into reads of every size from 1
// to 7 bytes: no panic, none of it turns into key presses, and the key
// typed after it still arrives.
func TestGuardSurvivesHostileInput(t *testing.T) {
	for _, h := range hostileInputs {
		name := h.name
		for size := 0; size <= 7; size++ {
			src := &chunkReader{data: []byte(h.in + "q"), sizes: []int{size}}
			if size == 0 {
				src.sizes = nil
			}
			events, err := decodeLikeBubbleTea(&guardedReader{r: src})
			if err != nil {
				t.Errorf("%s, reads of %d: %v", name, size, err)
				continue
			}
			var last uv.Event
			for _, e := range events {
				if k, ok := e.(uv.KeyPressEvent); ok {
					last = e
					if !h.typed && k.Text != "" && strings.Trim(k.Text, "0123456789;:") == "" {
						t.Errorf("%s, reads of %d: the sequence's parameters became key presses: %v", name, size, events)
						break
					}
				}
			}
			if k, ok := last.(uv.KeyPressEvent); !ok || k.String() != "q" {
				t.Errorf("%s, reads of %d: the key typed after it was lost: last key %v of %v", name, size, last, events)
			}
		}
	}
}

// TestGuardKeepsOrdinaryInput: keys, mouse reports, pastes and terminal
// replies pass unchanged, also when split across reads.
func TestGuardKeepsOrdinaryInput(t *testing.T) {
	for _, in := range []string{
		"q", "jjkk/ftp\r", "\x1b", "\x1b[A\x1b[B\x1bOP\x1b[1;5C", "\x1b[<0;10;5M\x1b[<0;10;5m\x1b[<65;3;4M",
		"\x1b[97;1:3u\x1b[13;2u", "\x1b[200~paste with ünïcödé and 日本語\x1b[201~",
		"\x1b]11;rgb:1e1e/1e1e/1e1e\x1b\\", "\x1b[?64;1;2;6;9;15;16;17;18;21;22;28c", "\x1bP1+r544e=787465726d\x1b\\",
		"\x1b[" + strings.Repeat("1;", 31) + "1_", "\x1bP" + strings.Repeat("1;", 15) + "1q\x1b\\", "émoji 🎉 and \u00a0 nbsp", "\x1b[M !!",
	} {
		for size := 0; size <= 5; size++ {
			src := &chunkReader{data: []byte(in), sizes: []int{size}}
			if size == 0 {
				src.sizes = nil
			}
			got, err := readAll(&guardedReader{r: src})
			if err != nil {
				t.Fatal(err)
			}
			if string(got) != in {
				t.Errorf("reads of %d: %q became %q", size, in, got)
			}
		}
	}
}

// TestGuardNeutralises pins what the guard writes for hostile bytes.
func TestGuardNeutralises(t *testing.T) {
	long := "\x1b[" + strings.Repeat("1;", 40) + "1_"
	for _, c := range []struct{ in, want string }{
		{long, "\x1b[" + strings.Repeat("1;", 31) + "1_"},
		{"\x1bP" + strings.Repeat("0;", 33) + "q\x1b\\", "\x1bP" + strings.Repeat("0;", 15) + "0q\x1b\\"},
		{"\x1b \x1b!![" + strings.Repeat("2;", 33) + "2m", "\x1b \x1b!![" + strings.Repeat("2;", 31) + "2m"},
		{"\x9bMX$ ", "\uFFFDMX$ "},
		{"a\xffb\xc3(c", "a\uFFFDb\uFFFD(c"},
		{"\u009b1m", "\uFFFD1m"},
		{"\x1b[" + strings.Repeat(":", 40) + "u", "\x1b[" + strings.Repeat(":", 31) + "u"},
		{";;;;;;;;;;;;;;;;;;;;;;;;;;;;;;;;;;;;;;;;", ";;;;;;;;;;;;;;;;;;;;;;;;;;;;;;;;;;;;;;;;"},
	} {
		var f inputFilter
		if got := string(f.filter(nil, []byte(c.in))); got != c.want {
			t.Errorf("%q: got %q, want %q", c.in, got, c.want)
		}
	}
}

// TestGuardShortBuffer: a buffer too small for one replacement character
// is refused rather than overrun.
func TestGuardShortBuffer(t *testing.T) {
	g := &guardedReader{r: strings.NewReader("\xff")}
	if _, err := g.Read(make([]byte, 2)); err != io.ErrShortBuffer {
		t.Errorf("2-byte buffer: %v, want io.ErrShortBuffer", err)
	}
	p := make([]byte, 3)
	n, err := g.Read(p)
	if err != nil || string(p[:n]) != "\uFFFD" {
		t.Errorf("3-byte buffer: %q %v", p[:n], err)
	}
}

// checkFiltered asserts what the guard promises about its output.
func checkFiltered(t *testing.T, out []byte) {
	t.Helper()
	if !utf8.Valid(out) {
		t.Fatalf("output is not UTF-8: %q", out)
	}
	for _, r := range string(out) {
		if r >= 0x80 && r <= 0x9f {
			t.Fatalf("output holds C1 control %U: %q", r, out)
		}
	}
	var f inputFilter
	if again := f.filter(nil, out); !bytes.Equal(again, out) {
		t.Fatalf("filtering twice changes the output:\n%q\n%q", out, again)
	}
}

// FuzzInputGuard feeds random bytes, split into random reads, through the
// guard into the decoder Bubble Tea uses: it must never panic, the
// output must keep the guard's promises, and the split must not matter.
func FuzzInputGuard(f *testing.F) {
	for _, h := range hostileInputs {
		f.Add([]byte(h.in), []byte{1, 2, 3})
	}
	f.Add([]byte("\x1b[<0;10;5M\x1b[97;1:3u"), []byte{0})
	f.Add([]byte("\x1b[200~paste\x1b[201~"), []byte{5})
	f.Add([]byte("\x1bP1+r544e\x1b\\\x1b]11;rgb:0/0/0\x07"), []byte{2, 9})
	f.Fuzz(func(t *testing.T, data, split []byte) {
		sizes := make([]int, len(split))
		for i, s := range split {
			sizes[i] = int(s%16) + 1
		}
		out, err := readAll(&guardedReader{r: &chunkReader{data: data, sizes: sizes}})
		if err != nil {
			t.Fatal(err)
		}
		var whole inputFilter
		one := whole.filter(nil, data)
		if len(whole.held) == 0 && !bytes.Equal(one, out) {
			t.Fatalf("reads of %v change the output:\n%q\n%q", sizes, one, out)
		}
		checkFiltered(t, out)
		if utf8.Valid(data) && !bytes.ContainsRune(data, 0x1b) && !strings.ContainsFunc(string(data), func(r rune) bool { return r >= 0x80 && r <= 0x9f }) {
			if !bytes.Equal(out, data) {
				t.Fatalf("ordinary text changed: %q became %q", data, out)
			}
		}
		if _, err := decodeLikeBubbleTea(&guardedReader{r: &chunkReader{data: data, sizes: sizes}}); err != nil {
			t.Fatal(err)
		}
	})
}

// TestTTYInputStaysCancellable: Bubble Tea's reader over the guarded
// terminal is the epoll one (the guard has the file's descriptor), so a
// read blocked on the terminal ends when the program quits, as it does
// without the guard; and what arrives is filtered.
func TestTTYInputStaysCancellable(t *testing.T) {
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	defer w.Close()
	in := newTTYInput(r)
	var _ term.File = in // Bubble Tea puts a term.File in raw mode
	cr, err := uv.NewCancelReader(in)
	if err != nil {
		t.Fatal(err)
	}
	defer cr.Close()
	w.Write([]byte("\x9bMX$ "))
	buf := make([]byte, 4096)
	n, err := cr.Read(buf)
	if err != nil || string(buf[:n]) != "\uFFFDMX$ " {
		t.Fatalf("read %q %v", buf[:n], err)
	}
	done := make(chan error, 1)
	go func() {
		_, err := cr.Read(buf) // nothing to read: blocks
		done <- err
	}()
	if !cr.Cancel() {
		t.Fatal("Cancel reports that it cannot interrupt a read: the fallback reader, not epoll")
	}
	if err := <-done; !errors.Is(err, cancelreader.ErrCanceled) {
		t.Errorf("the blocked read ended with %v, want ErrCanceled", err)
	}
}
