package model

import (
	"fmt"
	"strings"
	"unicode/utf8"

	"captune/capset"
	"captune/procscan"
	"captune/termsafe"
)

// CapText is the compact capability column: libcap's text of the
// effective, permitted and inheritable sets ("=ep cap_sys_resource-ep"),
// then the markers in brackets.
func CapText(p procscan.Process, known capset.Set) string {
	t := Signature(p)
	if m := Markers(p, known); len(m) > 0 {
		t += "  [" + strings.Join(m, " ") + "]"
	}
	return t
}

// CapTextFit is CapText in at most w cells, shortened so that it keeps
// its meaning: every clause keeps its operators ("=p", "=ep", "+i",
// "-ep"), and the names before them give way first, elided in the middle
// ("cap_chown,…3 more…,cap_audit_write=p"), then counted ("5 caps=p",
// at last "1 cap-e").
// The markers follow when they fit. Only when even the counted form is
// wider than w is the text cut, with "…".
func CapTextFit(p procscan.Process, known capset.Set, w int) string {
	full := CapText(p, known)
	if utf8.RuneCountInString(full) <= w {
		return full
	}
	clauses := strings.Fields(Signature(p))
	shorten := func(form func([]string) string) string {
		short := make([]string, len(clauses))
		for i, c := range clauses {
			if names, ops := splitClause(c); len(names) > 0 {
				c = form(names) + ops
			}
			short[i] = c
		}
		return strings.Join(short, " ")
	}
	marks := Markers(p, known)
	// withMarks appends as many markers as fit in w, saying when some are
	// left out ("[^amb !bnd …]").
	withMarks := func(t string) (string, bool) {
		if len(marks) == 0 {
			return t, utf8.RuneCountInString(t) <= w
		}
		for n := len(marks); n > 0; n-- {
			m := strings.Join(marks[:n], " ")
			if n < len(marks) {
				m += " …"
			}
			if c := t + "  [" + m + "]"; utf8.RuneCountInString(c) <= w {
				return c, n == len(marks)
			}
		}
		return t, false
	}
	// Names give way before markers, a lone name only at last.
	counted := shorten(countAll)
	forms := []string{shorten(elideMiddle), shorten(countNames)}
	for _, pass := range [][]string{forms, append(forms, counted)} {
		allMarks := len(pass) == len(forms)
		for _, t := range pass {
			if c, all := withMarks(t); (all || !allMarks) && utf8.RuneCountInString(c) <= w {
				return c
			}
		}
	}
	r := []rune(counted)
	if w <= 1 {
		return string(r[:max(0, min(w, len(r)))])
	}
	return string(r[:w-1]) + "…"
}

// splitClause splits a libcap clause ("cap_chown,cap_kill=ep") into its
// names and its operators ("=ep"; "=ep" alone has no names).
func splitClause(c string) ([]string, string) {
	i := strings.IndexAny(c, "=+-")
	if i <= 0 {
		return nil, c
	}
	return strings.Split(c[:i], ","), c[i:]
}

func elideMiddle(names []string) string {
	if len(names) <= 2 {
		return strings.Join(names, ",")
	}
	return fmt.Sprintf("%s,…%d more…,%s", names[0], len(names)-2, names[len(names)-1])
}

func countNames(names []string) string {
	if len(names) == 1 {
		return names[0]
	}
	return fmt.Sprintf("%d caps", len(names))
}

func countAll(names []string) string {
	if len(names) == 1 {
		return "1 cap"
	}
	return countNames(names)
}

// Signature is libcap's compact text of a process's E, P and I sets.
func Signature(p procscan.Process) string {
	return capset.Triple{Effective: p.Sets.Effective, Permitted: p.Sets.Permitted, Inheritable: p.Sets.Inheritable}.String()
}

// Markers lists the notable facts the capability text does not show:
// ^amb (ambient set not empty), !bnd (bounding set narrowed), nnp
// (no_new_privs), seccomp, userns (child user namespace), fcaps (the
// executable has file capabilities).
func Markers(p procscan.Process, known capset.Set) []string {
	var m []string
	if !p.Sets.Ambient.Empty() {
		m = append(m, "^amb")
	}
	if known&^p.Sets.Bounding != 0 {
		m = append(m, "!bnd")
	}
	if p.NoNewPrivs {
		m = append(m, "nnp")
	}
	if p.Seccomp > 0 {
		m = append(m, "seccomp")
	}
	if p.UserNSChild != nil && *p.UserNSChild {
		m = append(m, "userns")
	}
	if p.FileCaps != "" {
		m = append(m, "fcaps")
	}
	return m
}

// Printable escapes what a terminal must not see raw: bytes that are not
// UTF-8 and control characters (C0, DEL and C1, also UTF-8 encoded)
// become \xNN, so nothing is dropped; the Unicode controls that reorder
// text on the screen (bidirectional embeddings, overrides, isolates and
// marks) become \u{NNNN}, so a name cannot display as something else.
// It is termsafe.Escape, the one escaping captune uses everywhere.
func Printable(s string) string { return termsafe.Escape(s) }

// Command is what a process list shows as the command: the command line,
// or the kernel's name in brackets for kernel threads.
func Command(p procscan.Process) string {
	if len(p.Cmdline) == 0 {
		if p.KernelThread {
			return "[" + p.Comm + "]"
		}
		return p.Comm
	}
	return strings.Join(p.Cmdline, " ")
}

// SetWords names a set for people, compacting "everything the kernel has
// except a few".
func SetWords(s, known capset.Set) string {
	switch {
	case s == 0:
		return "none"
	case s&known == known && s&^known == 0:
		return "all"
	case s&known == s && (known&^s).Len() < s.Len() && (known&^s).Len() <= 4:
		return "all except " + (known &^ s).String()
	}
	return s.String()
}

// FileCapsWord names the executable's file capabilities for people: the
// libcap text, "none", or "unknown" with the reason when they could not be
// read.
func FileCapsWord(p procscan.Process) string {
	switch {
	case p.FileCapsUnknown:
		return "unknown (its executable could not be read: another user's process needs root)"
	case p.FileCaps == "":
		return "none"
	}
	return Printable(p.FileCaps)
}

// YesNo names a flag for people.
func YesNo(b bool) string {
	if b {
		return "yes"
	}
	return "no"
}

// SeccompWord names a seccomp mode (0 off, 1 strict, 2 filter).
func SeccompWord(n int) string {
	switch n {
	case 0:
		return "off"
	case 1:
		return "strict"
	case 2:
		return "filter"
	}
	return fmt.Sprint(n)
}
