package model

import (
	"strings"
	"testing"

	"captune/capset"
	"captune/capset/modcap"
)

func readConf(t *testing.T, text string) *modcap.Config {
	t.Helper()
	cfg, err := modcap.ReadString("/etc/proftpd/test.conf", text, modcap.Options{Modules: append([]string{"mod_ifsession.c"}, modcap.DebianModules...)})
	if err != nil {
		t.Fatal(err)
	}
	return cfg
}

func capSets(cfg *modcap.Config) []string {
	var out []string
	var walk func(ns []*modcap.Node, in string)
	walk = func(ns []*modcap.Node, in string) {
		for _, n := range ns {
			if n.Section {
				walk(n.Children, in+n.Name+" ")
			} else if n.Name == "CapabilitiesSet" {
				out = append(out, in+strings.Join(n.Args, " "))
			}
		}
	}
	walk(cfg.Top, "")
	return out
}

func TestTunedConfig(t *testing.T) {
	minus := []modcap.Token{{Add: false, Cap: capset.Chown}}
	for _, c := range []struct {
		name, conf string
		tokens     []modcap.Token
		want       []string
	}{
		{"no file", "", minus, []string{"-CAP_CHOWN"}},
		{"no file, no line", "", nil, nil},
		{"the main line is replaced, <IfUser>'s stays", "LoadModule mod_ifsession.c\nCapabilitiesSet +CAP_FOWNER\n<IfUser alice>\nCapabilitiesSet +CAP_FSETID\n</IfUser>\n",
			minus, []string{"-CAP_CHOWN", "<IfUser> +CAP_FSETID"}},
		{"no line removes the main one", "CapabilitiesSet +CAP_FOWNER\n", nil, nil},
		{"a <Global> line is the main server's", "<Global>\nCapabilitiesSet +CAP_FOWNER\n</Global>\n", minus, []string{"-CAP_CHOWN"}},
		{"a vhost's line stays", "<VirtualHost 127.0.0.2>\nCapabilitiesSet +CAP_FOWNER\n</VirtualHost>\n", minus, []string{"-CAP_CHOWN", "<VirtualHost> +CAP_FOWNER"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			var base *modcap.Config
			if c.conf != "" {
				base = readConf(t, c.conf)
			}
			var before []string
			if base != nil {
				before = capSets(base)
			}
			got := TunedConfig(base, c.tokens)
			if g := capSets(got); strings.Join(g, "|") != strings.Join(c.want, "|") {
				t.Errorf("CapabilitiesSet lines %q, want %q", g, c.want)
			}
			if base != nil && strings.Join(capSets(base), "|") != strings.Join(before, "|") {
				t.Errorf("the base changed: %q", capSets(base))
			}
			if n := MainCapabilitiesSet(got); (n == nil) != (c.tokens == nil) {
				t.Errorf("main line %v for tokens %v", n, c.tokens)
			}
		})
	}
	// The tuned line follows the file's opening LoadModule lines.
	got := TunedConfig(readConf(t, "LoadModule mod_ifsession.c\nRootRevoke on\n"), minus)
	if got.Top[0].Name != "LoadModule" || got.Top[1].Name != "CapabilitiesSet" || got.Top[2].Name != "RootRevoke" {
		t.Errorf("order: %s %s %s", got.Top[0].Name, got.Top[1].Name, got.Top[2].Name)
	}
}

// TestTunedConfigFollowsTheLogin: predicting the tuned configuration for
// a login follows its <IfUser> and <IfGroup> sections.
func TestTunedConfigFollowsTheLogin(t *testing.T) {
	base := readConf(t, "LoadModule mod_ifsession.c\nCapabilitiesSet -CAP_CHOWN\n<IfUser alice>\nCapabilitiesSet +CAP_FOWNER\n</IfUser>\n<IfGroup ftpadm>\nCapabilitiesSet +CAP_FSETID\n</IfGroup>\n")
	tuned := TunedConfig(base, []modcap.Token{{Add: true, Cap: capset.DacReadSearch}})
	pam := false
	kept := func(l LoginUser) capset.Set {
		return modcap.Predict(modcap.Input{Config: tuned, PAM: &pam, MasterPermitted: 1<<41 - 1, MasterBounding: 1<<41 - 1, Login: l.Login()}).Kept
	}
	def := modcap.DefaultKept(false)
	for _, c := range []struct {
		login LoginUser
		want  capset.Set
	}{
		{LoginUser{Name: "bob", UID: 1001, Groups: []string{"bob"}}, def.With(capset.DacReadSearch)},
		{LoginUser{Name: "alice", UID: 1000, Groups: []string{"alice"}}, def.With(capset.Fowner)},
		{LoginUser{Name: "carol", UID: 1002, Groups: []string{"carol", "ftpadm"}}, def.With(capset.Fsetid)},
	} {
		if got := kept(c.login); got != c.want {
			t.Errorf("%s: kept %s, want %s", c.login.Name, got, c.want)
		}
	}
}

func TestCheckUserName(t *testing.T) {
	for _, ok := range []string{"alice", "ftp_user", "a.b-c", "_x", strings.Repeat("a", 32)} {
		if err := CheckUserName(ok); err != nil {
			t.Errorf("%q: %v", ok, err)
		}
	}
	for _, bad := range []string{"", "-x", ".x", "a b", "root\x1b]0;x\a", strings.Repeat("a", 33), "ä"} {
		err := CheckUserName(bad)
		if err == nil {
			t.Errorf("%q accepted", bad)
			continue
		}
		if strings.ContainsAny(err.Error(), "\x1b\a") {
			t.Errorf("%q: the error is not escaped: %q", bad, err)
		}
	}
}
