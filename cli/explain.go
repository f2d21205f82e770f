package cli

import (
	"fmt"
	"strings"

	"captune/capset"
	"captune/capset/modcap"
	"captune/model"
)

var explainFlags = []flagSpec{
	{name: "help", help: "show this help"},
}

func runExplain(env Env, args []string) error {
	p, err := parseArgs("explain", args, explainFlags)
	if err != nil {
		return err
	}
	if p.has("help") {
		fmt.Fprint(env.Stdout, helpText("explain", "[CAP...]",
			"Explains each capability: number, mask, what it allows, its risk and what mod_cap\ndoes with it. Names in any case, with or without cap_, or numbers. With no\nargument, a table of every capability.",
			explainFlags, "  captune explain cap_sys_admin\n  captune explain NET_BIND_SERVICE 21\n"))
		return nil
	}
	if len(p.pos) == 0 {
		fmt.Fprint(env.Stdout, explainTable())
		return nil
	}
	caps := make([]capset.Cap, len(p.pos))
	for i, a := range p.pos {
		c, err := capset.ParseCap(a)
		if err != nil {
			return usagef("explain: %v", shortErr(err, a))
		}
		caps[i] = c
	}
	var b strings.Builder
	for i, c := range caps {
		if i > 0 {
			b.WriteString("\n")
		}
		b.WriteString(explainOne(c))
	}
	fmt.Fprint(env.Stdout, b.String())
	return nil
}

func shortErr(err error, arg string) error {
	if len(arg) > 80 {
		return fmt.Errorf("unknown capability (%d bytes long)", len(arg))
	}
	return err
}

func explainTable() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%-3s %-23s %-15s %-17s %s\n", "NR", "NAME", "RISK", "MOD_CAP", "WHAT IT ALLOWS")
	for _, in := range capset.Catalogue() {
		fmt.Fprintf(&b, "%-3d %-23s %-15s %-17s %s\n", in.Cap, in.Name, in.Risk, roleWord(modcap.RoleOf(in.Cap)), in.Short)
	}
	return b.String()
}

func roleWord(r modcap.Role) string {
	switch r {
	case modcap.AlwaysKept:
		return "always kept"
	case modcap.RemovableDefault:
		return "kept (-removes)"
	case modcap.FollowsSetuid:
		return "follows SETUID"
	case modcap.OptIn:
		return "dropped (+keeps)"
	case modcap.DefaultOnly:
		return "default+PAM only"
	}
	return "never kept"
}

func explainOne(c capset.Cap) string {
	var b strings.Builder
	mask := capset.Of(c)
	in, ok := capset.Lookup(c)
	if !ok {
		fmt.Fprintf(&b, "%s (bit %d, mask %s)\n  No capability has this number yet; a kernel that names it is newer than captune.\n", c, c, mask.Hex())
		fmt.Fprintf(&b, "  mod_cap: %s\n", modcap.Explain(c))
		return b.String()
	}
	fmt.Fprintf(&b, "%s (number %d, mask %s)\n", in.Name, in.Cap, mask.Hex())
	fmt.Fprintf(&b, "  %s.\n\n", in.Short)
	b.WriteString(wrap(in.Long, 78, "  "))
	b.WriteString("\n" + wrap("governs: "+strings.Join(in.Syscalls, ", "), 78, "  "))
	b.WriteString(wrap(fmt.Sprintf("risk: %s: %s", in.Risk, in.RiskWhy), 78, "  "))
	b.WriteString(wrap("mod_cap: "+modcap.Explain(c), 78, "  "))
	return b.String()
}

// wrap folds text at width, indenting every line; lines after the first
// also hang under the text after a leading "- " or "! " marker. The text
// is escaped first (model.Printable): reasons and differences quote
// configuration files, paths and process titles, which must never drive
// the terminal.
func wrap(text string, width int, indent string) string {
	text = model.Printable(text)
	var b strings.Builder
	line := indent
	hang := indent
	if len(text) > 2 && (text[:2] == "- " || text[:2] == "! ") {
		hang = indent + "  "
	}
	for _, w := range strings.Fields(text) {
		if len(line)+len(w)+1 > width && strings.TrimSpace(line) != "" {
			b.WriteString(strings.TrimRight(line, " ") + "\n")
			line = hang
		}
		line += w + " "
	}
	if strings.TrimSpace(line) != "" {
		b.WriteString(strings.TrimRight(line, " ") + "\n")
	}
	return b.String()
}
