package capset

import (
	"errors"
	"fmt"
	"math/bits"
	"strconv"
	"strings"
)

// Set is a capability set: bit n stands for capability n, exactly as the
// kernel stores it and /proc prints it.
type Set uint64

// ErrBadMask reports a hex mask that cannot be read.
var ErrBadMask = errors.New("bad capability mask")

// Of returns the set holding exactly the given capabilities.
func Of(caps ...Cap) Set {
	var s Set
	for _, c := range caps {
		s = s.With(c)
	}
	return s
}

// Has reports whether c is in the set.
func (s Set) Has(c Cap) bool { return c < MaxBits && s&(1<<c) != 0 }

// With returns the set with c added.
func (s Set) With(c Cap) Set {
	if c >= MaxBits {
		return s
	}
	return s | 1<<c
}

// Without returns the set with c removed.
func (s Set) Without(c Cap) Set {
	if c >= MaxBits {
		return s
	}
	return s &^ (1 << c)
}

// Toggle returns the set with c flipped.
func (s Set) Toggle(c Cap) Set {
	if s.Has(c) {
		return s.Without(c)
	}
	return s.With(c)
}

// Len counts the capabilities in the set.
func (s Set) Len() int { return bits.OnesCount64(uint64(s)) }

// Empty reports whether the set holds nothing.
func (s Set) Empty() bool { return s == 0 }

// Caps lists the capabilities in the set in number order.
func (s Set) Caps() []Cap {
	out := make([]Cap, 0, s.Len())
	for v := uint64(s); v != 0; v &= v - 1 {
		out = append(out, Cap(bits.TrailingZeros64(v)))
	}
	return out
}

// Names lists the names of the capabilities in the set in number order;
// bits without a name appear as their number, as capsh --decode does.
func (s Set) Names() []string {
	caps := s.Caps()
	out := make([]string, len(caps))
	for i, c := range caps {
		out[i] = c.String()
	}
	return out
}

// Hex prints the set as /proc does: 16 lower-case hex digits.
func (s Set) Hex() string { return fmt.Sprintf("%016x", uint64(s)) }

// Decode prints the set as capsh --decode does: "0x<16 hex>=<names>".
func (s Set) Decode() string { return "0x" + s.Hex() + "=" + strings.Join(s.Names(), ",") }

// String prints the set as a comma list of names ("cap_chown,cap_setuid"),
// or "none" for the empty set. ParseNames reads it back.
func (s Set) String() string {
	if s == 0 {
		return "none"
	}
	return strings.Join(s.Names(), ",")
}

// Brief names the set for a one-line message without letting a large set
// crowd out the rest of the line: a few names as they are ("cap_chown,
// cap_setuid"), a set that lacks only a few of the named capabilities as
// "all except ..." and anything bigger by its size, always with the mask
// ("33 capabilities (000001fffe7f3e00)"). Brief is for people; Parse does
// not read it back.
func (s Set) Brief() string {
	named := Upto(NamedCount)
	switch missing := named &^ s; {
	case s == 0:
		return "none"
	case s.Len() <= briefNames:
		return s.String()
	case s&^named == 0 && missing == 0:
		return "all capabilities (" + s.Hex() + ")"
	case s&^named == 0 && missing.Len() <= briefNames:
		return "all except " + missing.String() + " (" + s.Hex() + ")"
	}
	return strconv.Itoa(s.Len()) + " capabilities (" + s.Hex() + ")"
}

// briefNames is the most names Brief writes out.
const briefNames = 6

// Upto returns the set of every capability numbered below n (n <= 64).
func Upto(n int) Set {
	if n >= MaxBits {
		return ^Set(0)
	}
	if n <= 0 {
		return 0
	}
	return Set(1)<<uint(n) - 1
}

// ParseHex reads a mask of 1 to 16 hex digits, with or without a leading
// "0x", as /proc and capsh --decode print it.
func ParseHex(s string) (Set, error) {
	t := strings.TrimSpace(s)
	if strings.HasPrefix(t, "0x") || strings.HasPrefix(t, "0X") {
		t = t[2:]
	}
	if t == "" {
		return 0, fmt.Errorf("%w %q: no hex digits", ErrBadMask, s)
	}
	if len(t) > 16 {
		return 0, fmt.Errorf("%w %q: more than 16 hex digits", ErrBadMask, s)
	}
	for _, r := range t {
		if !isHex(r) {
			return 0, fmt.Errorf("%w %q: %q is not a hex digit", ErrBadMask, s, r)
		}
	}
	v, err := strconv.ParseUint(t, 16, 64)
	if err != nil {
		return 0, fmt.Errorf("%w %q", ErrBadMask, s)
	}
	return Set(v), nil
}

func isHex(r rune) bool {
	return (r >= '0' && r <= '9') || (r >= 'a' && r <= 'f') || (r >= 'A' && r <= 'F')
}

// ParseNames reads a comma (or space) separated list of capability names
// in any case, with or without the cap_ prefix, or bit numbers. "none" and
// the empty string are the empty set; "all" is every named capability.
func ParseNames(s string) (Set, error) {
	var out Set
	fields := strings.FieldsFunc(s, func(r rune) bool { return r == ',' || r == ' ' || r == '\t' || r == '\n' })
	if len(fields) == 1 {
		switch strings.ToLower(fields[0]) {
		case "none":
			return 0, nil
		case "all":
			return Upto(NamedCount), nil
		}
	}
	for _, f := range fields {
		c, err := ParseCap(f)
		if err != nil {
			return 0, err
		}
		out = out.With(c)
	}
	return out, nil
}

// SetSyntax states, for help texts, how Parse reads a set.
const SetSyntax = `A set is a hex mask (0x4c1, or 16 hex digits as /proc prints them, or hex
digits with a letter: 4c1), a list of capability names or numbers separated
by commas (cap_chown,cap_setuid or chown,setuid or 0,7), "all", "none", or
libcap text (cap_chown,cap_setuid=ep: its permitted set). A lone number such
as 10 is refused as ambiguous: write 0x10 for the mask, or the name
(cap_net_bind_service) for capability 10.`

// ErrAmbiguous reports a lone decimal number where a set is expected: it
// could be a capability number or a hex mask.
var ErrAmbiguous = errors.New("ambiguous set")

// Parse reads a set as SetSyntax states: a hex mask ("0x4c1",
// "00000000000004c1", "4c1"), a list of names or bit numbers
// ("cap_chown,CAP_SETUID", "0,7"), or libcap text ("cap_chown,cap_setuid=ep";
// the permitted set is taken). Sixteen hex digits are always a mask; a lone
// run of fewer decimal digits ("10") is refused with ErrAmbiguous, saying
// both readings.
func Parse(s string) (Set, error) {
	t := strings.TrimSpace(s)
	if t == "" {
		return 0, fmt.Errorf("%w: empty set", ErrUnknownCap)
	}
	switch hexForm(t) {
	case formMask:
		return ParseHex(t)
	case formDigits:
		return 0, ambiguous(t)
	}
	if strings.ContainsAny(t, "=+-") {
		ps, err := ParseText(t)
		if err != nil {
			return 0, err
		}
		return ps.Permitted, nil
	}
	return ParseNames(t)
}

type form int

const (
	formOther  form = iota
	formMask        // 0x prefix, 16 hex digits, or hex digits with a letter
	formDigits      // a lone run of 1 to 15 decimal digits
)

func hexForm(t string) form {
	if strings.HasPrefix(t, "0x") || strings.HasPrefix(t, "0X") {
		return formMask
	}
	letter := false
	for _, r := range t {
		if !isHex(r) {
			return formOther
		}
		if r > '9' {
			letter = true
		}
	}
	if letter || len(t) >= 16 {
		return formMask
	}
	return formDigits
}

// ambiguous explains both readings of a lone number.
func ambiguous(t string) error {
	mask := "0x" + t
	if m, err := ParseHex(t); err == nil {
		mask += " (" + m.Brief() + ")"
	}
	n, err := strconv.Atoi(t)
	if err != nil || n >= MaxBits {
		return fmt.Errorf("%w %.24q: no capability has that number (0 to 63); write %s for the mask", ErrAmbiguous, t, mask)
	}
	name := ""
	if Cap(n).Named() {
		name = Cap(n).String() + " or "
	}
	return fmt.Errorf("%w %q: capability %d or the hex mask 0x%s? write %s\"%d,\" for the capability, %s for the mask", ErrAmbiguous, t, n, t, name, n, mask)
}
