package proftpd

import (
	"fmt"
	"path/filepath"
	"strings"

	"captune/capset/modcap"
)

// decisive lists, by lower-case name, the directives that decide a
// session's capabilities and uids, and those that make the sections
// around them load (mod_ifsession).
var decisive = map[string]bool{
	"capabilitiesengine":     true,
	"capabilitiesset":        true,
	"capabilitiesrootrevoke": true,
	"rootrevoke":             true,
	"rootlogin":              true,
	"userowner":              true,
	"loadmodule":             true,
	"modulepath":             true,
}

// Decisive returns the lines of cfg that decide a login's capabilities on
// the main server: mod_cap's directives, RootRevoke, RootLogin, UserOwner,
// LoadModule and ModulePath, each inside the sections that enclose it
// (<Global>, <IfUser>, <IfGroup>, <IfClass>, <Directory>, <Anonymous>).
// <VirtualHost> sections are left out: the throwaway server answers as the
// main server. Include, <IfModule> and <IfDefine> are already resolved in
// cfg, so the text stands on its own.
func Decisive(cfg *modcap.Config) string {
	if cfg == nil {
		return ""
	}
	var b strings.Builder
	emitNodes(&b, cfg.Top, "")
	return b.String()
}

func emitNodes(b *strings.Builder, nodes []*modcap.Node, indent string) {
	for _, n := range nodes {
		if n.Section {
			if n.Is("<VirtualHost>") {
				continue
			}
			var inner strings.Builder
			emitNodes(&inner, n.Children, indent+"  ")
			if inner.Len() == 0 {
				continue
			}
			name := strings.TrimSuffix(strings.TrimPrefix(n.Name, "<"), ">")
			open := "<" + name
			if len(n.Args) > 0 {
				open += " " + quoteArgs(n.Args)
			}
			fmt.Fprintf(b, "%s%s>\n%s%s</%s>\n", indent, open, inner.String(), indent, name)
			continue
		}
		if decisive[strings.ToLower(n.Name)] {
			line := n.Name
			if len(n.Args) > 0 {
				line += " " + quoteArgs(n.Args)
			}
			b.WriteString(indent + line + "\n")
		}
	}
}

// quoteArgs joins arguments so that proftpd's parser splits them back
// into the same words: plain when they can be, else in double quotes with
// backslash escapes.
func quoteArgs(args []string) string {
	out := make([]string, len(args))
	for i, a := range args {
		out[i] = quoteArg(a)
	}
	return strings.Join(out, " ")
}

func quoteArg(a string) string {
	if a != "" && !strings.ContainsAny(a, " \t\n\v\f\r\"\\") && a[0] != '#' {
		return a
	}
	var b strings.Builder
	b.WriteByte('"')
	for i := 0; i < len(a); i++ {
		if a[i] == '"' || a[i] == '\\' {
			b.WriteByte('\\')
		}
		b.WriteByte(a[i])
	}
	b.WriteByte('"')
	return b.String()
}

// TokenDirectives is the CapabilitiesSet line for tokens ("" for none).
func TokenDirectives(tokens []modcap.Token) string {
	if len(tokens) == 0 {
		return ""
	}
	parts := make([]string, len(tokens))
	for i, t := range tokens {
		parts[i] = t.String()
	}
	return "CapabilitiesSet " + strings.Join(parts, " ") + "\n"
}

// baseConfig is the throwaway server's own configuration: loopback only,
// every file in the private folder, no logs outside it, and the virtual
// user from AuthUserFile (/etc/ftpusers is not consulted, so root and
// system users such as nobody can be tested too). The directives under
// test follow it.
func baseConfig(private string, port int, group string) string {
	f := func(name string) string { return quoteArg(filepath.Join(private, name)) }
	return strings.Join([]string{
		"# captune verify: a throwaway proftpd, removed when the run ends",
		"ServerType standalone",
		"DefaultAddress 127.0.0.1",
		"SocketBindTight on",
		fmt.Sprintf("Port %d", port),
		"UseIPv6 off",
		"UseReverseDNS off",
		"User nobody",
		"Group " + quoteArg(group),
		"PidFile " + f("proftpd.pid"),
		"ScoreboardFile " + f("proftpd.scoreboard"),
		"DelayTable none",
		"WtmpLog off",
		"TransferLog NONE",
		"<IfModule mod_ctrls.c>",
		"  ControlsEngine off",
		"</IfModule>",
		"AuthUserFile " + f("passwd"),
		"AuthGroupFile " + f("group"),
		"AuthOrder mod_auth_file.c",
		"RequireValidShell off",
		"UseFtpUsers off",
		"# the directives under test",
		"",
	}, "\n")
}
