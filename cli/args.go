package cli

import (
	"errors"
	"fmt"
	"strings"

	"captune/capset/modcap"
)

// flagSpec describes one --flag a command accepts.
type flagSpec struct {
	name  string
	value bool // takes a value (--name=V or --name V)
	// optional: the value may only be given as --name=V; plain --name
	// takes none.
	optional bool
	multi    bool // may repeat
	help     string
	arg      string // the value's placeholder in help
}

// parsed holds a command line split into flags and positional arguments.
// Anything that does not start with "--" is positional, so capability
// tokens such as -CAP_CHOWN are never mistaken for flags; "--" ends flags.
type parsed struct {
	flags map[string][]string
	pos   []string
}

func (p parsed) has(name string) bool { _, ok := p.flags[name]; return ok }

func (p parsed) get(name string) string {
	v := p.flags[name]
	if len(v) == 0 {
		return ""
	}
	return v[len(v)-1]
}

func (p parsed) all(name string) []string { return p.flags[name] }

// usageError is a command-line mistake: exit 2.
type usageError struct{ msg string }

func (e *usageError) Error() string { return e.msg }

func usagef(format string, a ...any) error { return &usageError{fmt.Sprintf(format, a...)} }

// rootCmd is the name parseArgs gets for captune's own flags (the
// interactive view): its messages carry no command prefix, since report
// already starts every message with "captune: ".
const rootCmd = "captune"

// msgPrefix is what a command's flag errors start with ("ps: "), and the
// help to point to.
func msgPrefix(cmd string) (prefix, help string) {
	if cmd == rootCmd || cmd == "" {
		return "", "captune --help"
	}
	return cmd + ": ", "captune " + cmd + " --help"
}

func parseArgs(cmd string, args []string, specs []flagSpec) (parsed, error) {
	p := parsed{flags: map[string][]string{}}
	pre, helpCmd := msgPrefix(cmd)
	byName := map[string]flagSpec{}
	for _, s := range specs {
		byName[s.name] = s
	}
	for i := 0; i < len(args); i++ {
		a := args[i]
		if a == "--" {
			p.pos = append(p.pos, args[i+1:]...)
			break
		}
		if a == "-h" {
			a = "--help"
		}
		if !strings.HasPrefix(a, "--") {
			p.pos = append(p.pos, a)
			continue
		}
		name, val, hasVal := strings.Cut(a[2:], "=")
		s, ok := byName[name]
		if !ok {
			return p, usagef("%sunknown flag --%s (see %s)", pre, name, helpCmd)
		}
		if s.optional && !hasVal {
			val = ""
		} else if s.value && !hasVal {
			if i+1 >= len(args) {
				return p, usagef("%s--%s needs a value", pre, name)
			}
			i++
			val = args[i]
		} else if !s.value && hasVal {
			return p, usagef("%s--%s takes no value", pre, name)
		}
		if s.value && !s.optional && val == "" {
			// An empty value would silently mean the default.
			return p, usagef("%s--%s needs a value (it is empty)", pre, name)
		}
		if !s.multi && p.has(name) {
			return p, usagef("%s--%s given twice", pre, name)
		}
		p.flags[name] = append(p.flags[name], val)
	}
	return p, nil
}

func helpText(cmd, synopsis, about string, specs []flagSpec, examples string) string {
	var b strings.Builder
	fmt.Fprintf(&b, "usage: captune %s %s\n\n%s\n", cmd, synopsis, about)
	if len(specs) > 0 {
		b.WriteString("\nflags:\n")
		for _, s := range specs {
			left := "--" + s.name
			if s.value {
				left += " " + s.arg
			}
			fmt.Fprintf(&b, "  %-24s %s\n", left, s.help)
		}
	}
	if examples != "" {
		b.WriteString("\nexamples:\n" + examples)
	}
	return b.String()
}

// parseTokens reads CapabilitiesSet tokens given as arguments, with
// proftpd's error text and captune's hint; no arguments give nil.
func parseTokens(cmd string, args []string) ([]modcap.Token, error) {
	if len(args) == 0 {
		return nil, nil
	}
	toks, err := modcap.ParseTokens(args)
	if err != nil {
		var te *modcap.TokenError
		if errors.As(err, &te) && te.Hint != "" {
			return nil, usagef("%s: %s (%s)", cmd, clip(te.Text), te.Hint)
		}
		return nil, usagef("%s: %s", cmd, clip(err.Error()))
	}
	return toks, nil
}
