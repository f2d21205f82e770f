package model

import (
	"fmt"
	"regexp"
	"strings"

	"captune/capset/modcap"
)

// LoginUser is the FTP login the tuner works for: the preview predicts
// its session (so <IfUser> and <IfGroup> follow it), the verify key logs
// in as it, and the capsh target names it.
type LoginUser struct {
	// Name is the login name.
	Name string
	// UID is its uid; Groups its group names, primary first.
	UID    uint32
	Groups []string
	// System is set when the name is a user of this machine (its uid
	// and groups are used); else it is a virtual user of the throwaway
	// proftpd's AuthUserFile.
	System bool
}

// Login is the login for mod_cap's session prediction.
func (l LoginUser) Login() modcap.Login {
	return modcap.Login{User: l.Name, UID: l.UID, UIDKnown: true, Groups: l.Groups}
}

// String describes the login for people, escaped for a terminal.
func (l LoginUser) String() string {
	if l.Name == "" {
		return fmt.Sprintf("a non-root user (uid %d) that no <IfUser> names", l.UID)
	}
	groups := ""
	if len(l.Groups) > 0 {
		groups = ", groups " + strings.Join(l.Groups, ",")
	}
	who := "a user of this machine"
	if !l.System {
		who = "not on this machine: a virtual user"
	}
	return Printable(fmt.Sprintf("%s (uid %d%s; %s)", l.Name, l.UID, groups, who))
}

var userName = regexp.MustCompile(`^[A-Za-z0-9_][A-Za-z0-9_.-]{0,31}$`)

// CheckUserName accepts the login names captune can test: letters,
// digits, '_', '.' and '-', up to 32, not starting with '.' or '-'.
func CheckUserName(name string) error {
	if !userName.MatchString(name) {
		return fmt.Errorf("%q is not a user name: use letters, digits, '_', '.' and '-' (up to 32)", Printable(clipText(name, 40)))
	}
	return nil
}

func clipText(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}

// MainCapabilitiesSet finds the CapabilitiesSet line the main server of
// cfg applies first (the tuner starts from it): at the server's top
// level, else in <Global>. It returns nil when there is none.
func MainCapabilitiesSet(cfg *modcap.Config) *modcap.Node {
	if cfg == nil {
		return nil
	}
	main, _, global := cfg.Servers()
	for _, nodes := range [][]*modcap.Node{main.Nodes, global} {
		for _, n := range nodes {
			if !n.Section && n.Name == "CapabilitiesSet" {
				return n
			}
		}
	}
	return nil
}

// TunedConfig is base with the tuner's line in place of the main
// server's CapabilitiesSet (MainCapabilitiesSet): the tuned line is the
// main server's first CapabilitiesSet (after the file's opening
// LoadModule lines), or there is none when tokens is nil (mod_cap's
// defaults). Every other directive and section stays, so <IfUser>,
// <IfGroup>, <IfClass>, RootRevoke and the rest still apply. base is not
// changed; a nil base is an empty configuration.
func TunedConfig(base *modcap.Config, tokens []modcap.Token) *modcap.Config {
	var cfg modcap.Config
	if base != nil {
		cfg = *base
	}
	old := MainCapabilitiesSet(base)
	var rest []*modcap.Node
	if base != nil {
		rest = without(base.Top, old)
	}
	// The line goes after the LoadModule and ModulePath lines that open
	// the file, so that it reads like a line of the file.
	at := 0
	for at < len(rest) && !rest[at].Section && (rest[at].Is("LoadModule") || rest[at].Is("ModulePath")) {
		at++
	}
	cfg.Top = append([]*modcap.Node(nil), rest[:at]...)
	if tokens != nil {
		args := make([]string, len(tokens))
		for i, t := range tokens {
			args[i] = t.String()
		}
		cfg.Top = append(cfg.Top, &modcap.Node{Name: "CapabilitiesSet", Args: args})
	}
	cfg.Top = append(cfg.Top, rest[at:]...)
	if cfg.Modules == nil {
		cfg.Modules = map[string]bool{}
		for _, m := range modcap.DebianModules {
			cfg.Modules[m] = true
		}
	}
	return &cfg
}

// without copies nodes leaving out n, also from inside <Global>
// sections (copied, not changed).
func without(nodes []*modcap.Node, n *modcap.Node) []*modcap.Node {
	out := make([]*modcap.Node, 0, len(nodes))
	for _, c := range nodes {
		switch {
		case c == n:
			continue
		case c.Section && c.Is("<Global>"):
			cp := *c
			cp.Children = without(c.Children, n)
			out = append(out, &cp)
		default:
			out = append(out, c)
		}
	}
	return out
}
