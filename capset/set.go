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

// Parse reads a set written in any of the forms captune accepts: a hex
// mask ("0x4c1", "00000000000004c1", "1ffffffffff"), a list of names or bit
// numbers ("cap_chown,CAP_SETUID", "0,7"), or libcap text
// ("cap_chown,cap_setuid=ep"; the permitted set is taken). A bare run of
// hex digits is a mask when it has 16 digits, more than two, or a letter;
// one or two decimal digits are a bit number.
func Parse(s string) (Set, error) {
	t := strings.TrimSpace(s)
	if t == "" {
		return 0, fmt.Errorf("%w: empty set", ErrUnknownCap)
	}
	if looksHex(t) {
		return ParseHex(t)
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

func looksHex(t string) bool {
	if strings.HasPrefix(t, "0x") || strings.HasPrefix(t, "0X") {
		return true
	}
	letter := false
	for _, r := range t {
		if !isHex(r) {
			return false
		}
		if r > '9' {
			letter = true
		}
	}
	return len(t) > 2 || letter
}
