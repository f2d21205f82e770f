package capset

import (
	"bufio"
	"errors"
	"fmt"
	"strings"
	"unicode/utf8"

	"kernel.org/pub/linux/libs/security/libcap/cap"
)

// ErrBadText reports libcap or IAB text that cannot be read.
var ErrBadText = errors.New("bad capability text")

// Triple is the three sets libcap's text form describes: effective,
// permitted and inheritable.
type Triple struct {
	Effective   Set
	Permitted   Set
	Inheritable Set
}

// ParseText reads libcap's text form ("=ep cap_sys_resource-ep",
// "cap_chown,cap_setuid+ep") through libcap's own parser, so it accepts
// exactly what cap_from_text(3) accepts. "all" means every capability the
// running kernel knows.
func ParseText(s string) (Triple, error) {
	if strings.TrimSpace(s) == "" {
		return Triple{}, fmt.Errorf("%w: empty text", ErrBadText)
	}
	// libcap reads the text word by word with a bufio.Scanner and ignores
	// its error, so a word too long for the scanner would silently end the
	// text and what came before it would be returned as success.
	for _, w := range strings.Fields(s) {
		if len(w)+utf8.UTFMax > bufio.MaxScanTokenSize {
			return Triple{}, fmt.Errorf("%w %.40q...: word of %d bytes is too long", ErrBadText, w, len(w))
		}
	}
	c, err := cap.FromText(s)
	if err != nil {
		return Triple{}, fmt.Errorf("%w %q: %v", ErrBadText, s, err)
	}
	var t Triple
	for v := 0; v < MaxBits; v++ {
		for _, f := range []struct {
			flag cap.Flag
			dst  *Set
		}{{cap.Effective, &t.Effective}, {cap.Permitted, &t.Permitted}, {cap.Inheritable, &t.Inheritable}} {
			on, err := c.GetFlag(f.flag, cap.Value(v))
			if err != nil {
				break
			}
			if on {
				*f.dst = f.dst.With(Cap(v))
			}
		}
	}
	return t, nil
}

// String prints the triple in libcap's compact text form, the one getpcaps
// and capsh print, with "all except" compaction ("=ep cap_sys_resource-ep").
func (t Triple) String() string {
	c := cap.NewSet()
	for _, f := range []struct {
		flag cap.Flag
		set  Set
	}{{cap.Effective, t.Effective}, {cap.Permitted, t.Permitted}, {cap.Inheritable, t.Inheritable}} {
		for _, v := range f.set.Caps() {
			_ = c.SetFlag(f.flag, true, cap.Value(v))
		}
	}
	return c.String()
}

// IAB is libcap's view of the sets a process hands on across execve:
// inheritable, ambient, and the capabilities dropped from the bounding set.
type IAB struct {
	Inheritable Set
	Ambient     Set
	// NotBounding holds the capabilities missing from the bounding set.
	NotBounding Set
}

// ParseIAB reads libcap's IAB text ("!cap_sys_admin,^cap_chown,%cap_kill"):
// a bare name is inheritable, ^ ambient (and inheritable), ! dropped from
// bounding, !% dropped from bounding and inheritable. The empty string is
// the empty IAB.
func ParseIAB(s string) (IAB, error) {
	t := strings.TrimSpace(s)
	t = strings.TrimSuffix(strings.TrimPrefix(t, "["), "]")
	var out IAB
	if t == "" {
		return out, nil
	}
	for _, f := range strings.Split(t, ",") {
		j := 0
		var inh, amb, nb bool
	flags:
		for ; j < len(f); j++ {
			switch f[j] {
			case '!':
				nb = true
			case '^':
				inh, amb = true, true
			case '%':
				inh = true
			default:
				break flags
			}
		}
		c, err := ParseCap(f[j:])
		if err != nil {
			return IAB{}, fmt.Errorf("%w %q: %v", ErrBadText, f, err)
		}
		if inh || !nb {
			out.Inheritable = out.Inheritable.With(c)
		}
		if amb {
			out.Ambient = out.Ambient.With(c)
		}
		if nb {
			out.NotBounding = out.NotBounding.With(c)
		}
	}
	return out, nil
}

// String prints the IAB as libcap does, in number order.
func (iab IAB) String() string {
	var parts []string
	all := iab.Inheritable | iab.Ambient | iab.NotBounding
	for _, c := range all.Caps() {
		var b strings.Builder
		nb := iab.NotBounding.Has(c)
		if nb {
			b.WriteByte('!')
		}
		switch {
		case iab.Ambient.Has(c):
			b.WriteByte('^')
		case nb && iab.Inheritable.Has(c):
			b.WriteByte('%')
		}
		b.WriteString(c.String())
		parts = append(parts, b.String())
	}
	return strings.Join(parts, ",")
}

// IABOf builds the IAB of a process from its inheritable, ambient and
// bounding sets; known limits the bounding view to the capabilities the
// kernel has (bits past cap_last_cap are never "dropped").
func IABOf(inh, amb, bnd, known Set) IAB {
	return IAB{Inheritable: inh, Ambient: amb, NotBounding: known &^ bnd}
}
