package modcap

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// testConf is the name ReadString gives the text in these tests.
const testConf = "/etc/proftpd/proftpd.conf"

// readErr reads text and returns the *Error proftpd would stop at.
func readErr(t *testing.T, text string) *Error {
	t.Helper()
	cfg, err := ReadString(testConf, text, Options{})
	if err == nil {
		t.Fatalf("accepted, want an error:\n%s\nwarnings: %v", text, cfg.Warnings)
	}
	var e *Error
	if !errors.As(err, &e) {
		t.Fatalf("error %T %v is not an *Error", err, err)
	}
	return e
}

// readOK reads text that proftpd accepts.
func readOK(t *testing.T, text string) *Config {
	t.Helper()
	cfg, err := ReadString(testConf, text, Options{})
	if err != nil {
		t.Fatalf("rejected: %v\n%s", err, text)
	}
	return cfg
}

// wantErr checks the text and line of an error.
func wantErr(t *testing.T, e *Error, text string, line int) {
	t.Helper()
	if e.Text != text {
		t.Errorf("text %q\nwant %q", e.Text, text)
	}
	if e.Pos.Line != line {
		t.Errorf("line %d, want %d (%s)", e.Pos.Line, line, e.Text)
	}
}

// prelude puts the line under test below a few lines that proftpd skips
// or accepts, so the line numbers are checked for real.
const prelude = "# proftpd.conf\nServerName \"test\"\n\n   # indented comment\nPort 2121\n"

const preludeLines = 5

// TestErrorTexts checks every row of modcap.md's "Error texts" table.
func TestErrorTexts(t *testing.T) {
	cases := []struct {
		name, text, want string
		line             int // relative to the end of the prelude
	}{
		{"no sign", "CapabilitiesSet CAP_CHOWN\n", "CapabilitiesSet: : bad option: 'CAP_CHOWN'", 1},
		{"unknown capability", "CapabilitiesSet +CAP_NET_RAW\n", "CapabilitiesSet: unknown capability: 'CAP_NET_RAW'", 1},
		{"no CAP_ prefix", "CapabilitiesSet +chown\n", "CapabilitiesSet: unknown capability: 'chown'", 1},
		{"comma list", "CapabilitiesSet -CAP_CHOWN,+CAP_FOWNER\n", "CapabilitiesSet: unknown capability: 'CAP_CHOWN,+CAP_FOWNER'", 1},
		{"no tokens", "CapabilitiesSet\n", "CapabilitiesSet: need at least one parameter", 1},
		{"engine not boolean", "CapabilitiesEngine maybe\n", "CapabilitiesEngine: expecting Boolean parameter", 1},
		{"root revoke not boolean", "CapabilitiesRootRevoke sometimes\n", "CapabilitiesRootRevoke: expected Boolean parameter", 1},
		{"engine no args", "CapabilitiesEngine\n", "CapabilitiesEngine: missing parameters", 1},
		{"root revoke no args", "CapabilitiesRootRevoke\n", "CapabilitiesRootRevoke: missing parameters", 1},
		{"set in Directory", "<Directory /srv/ftp>\n  CapabilitiesSet +CAP_FOWNER\n</Directory>\n",
			"CapabilitiesSet: directive not allowed in <Directory> context", 2},
		{"engine in Anonymous", "<Anonymous /srv/ftp>\n  CapabilitiesEngine off\n</Anonymous>\n",
			"CapabilitiesEngine: directive not allowed in <Anonymous> context", 2},
		{"first bad token aborts", "CapabilitiesSet +CAP_FOWNER +CAP_SYS_ADMIN CAP_CHOWN\n",
			"CapabilitiesSet: unknown capability: 'CAP_SYS_ADMIN'", 1},
		{"sign only", "CapabilitiesSet +\n", "CapabilitiesSet: unknown capability: ''", 1},
		{"empty quoted token", "CapabilitiesSet \"\"\n", "CapabilitiesSet: : bad option: ''", 1},
		{"SETGID has no token", "CapabilitiesSet -CAP_SETGID\n", "CapabilitiesSet: unknown capability: 'CAP_SETGID'", 1},
		{"AUDIT_WRITE cannot be requested", "CapabilitiesSet +CAP_AUDIT_WRITE\n", "CapabilitiesSet: unknown capability: 'CAP_AUDIT_WRITE'", 1},
		{"later line", "CapabilitiesEngine on\nCapabilitiesSet +CAP_FOWNER\n\n# x\nCapabilitiesRootRevoke maybe\n",
			"CapabilitiesRootRevoke: expected Boolean parameter", 5},
		{"RootRevoke", "RootRevoke sometimes\n", "RootRevoke: expected Boolean parameter", 1},
		{"RootLogin", "RootLogin maybe\n", "RootLogin: expected Boolean parameter", 1},
		{"UserOwner at server level", "UserOwner ftp\n", "UserOwner: directive not allowed in server config context", 1},
		{"UserOwner in Limit", "<Directory /x>\n<Limit READ>\nUserOwner ftp\n</Limit>\n</Directory>\n",
			"UserOwner: directive not allowed in <Limit> context", 3},
		{"RootRevoke in Directory", "<Directory /x>\nRootRevoke off\n</Directory>\n",
			"RootRevoke: directive not allowed in <Directory> context", 2},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			e := readErr(t, prelude+c.text)
			wantErr(t, e, c.want, preludeLines+c.line)
			if e.Pos.File != testConf {
				t.Errorf("file %q, want %q", e.Pos.File, testConf)
			}
			want := "fatal: " + c.want + " on line "
			if !strings.HasPrefix(e.Proftpd(), want) || !strings.HasSuffix(e.Proftpd(), " of '"+testConf+"'") {
				t.Errorf("Proftpd() = %q", e.Proftpd())
			}
		})
	}
}

func TestUnclosedSections(t *testing.T) {
	want := "error processing configuration file '" + testConf + "': unclosed configuration section"
	for _, open := range []string{"<Global>", "<VirtualHost 127.0.0.2>", "<Directory /srv/ftp>", "<Anonymous /srv/ftp>", "<Limit LOGIN>"} {
		t.Run(open, func(t *testing.T) {
			e := readErr(t, prelude+open+"\n  Umask 022\n")
			if e.Text != want {
				t.Errorf("text %q\nwant %q", e.Text, want)
			}
			// proftpd prints this one without a line number.
			if e.Proftpd() != "fatal: "+want {
				t.Errorf("Proftpd() = %q", e.Proftpd())
			}
			// captune points at the section that is never closed.
			if e.Pos.Line != preludeLines+1 {
				t.Errorf("line %d, want %d", e.Pos.Line, preludeLines+1)
			}
		})
	}
	t.Run("nested, inner closed", func(t *testing.T) {
		e := readErr(t, "<Global>\n<Directory /x>\n</Directory>\n")
		if e.Text != want {
			t.Errorf("text %q", e.Text)
		}
	})
}

func TestIfModule(t *testing.T) {
	t.Run("unclosed true section is accepted", func(t *testing.T) {
		cfg := readOK(t, prelude+"<IfModule mod_cap.c>\n  CapabilitiesEngine off\n")
		if n := findTop(cfg, "CapabilitiesEngine"); n == nil || n.Args[0] != "off" {
			t.Errorf("the directive inside the unclosed <IfModule> is lost: %v", cfg.Top)
		}
	})
	t.Run("true section is checked", func(t *testing.T) {
		e := readErr(t, "<IfModule mod_cap.c>\nCapabilitiesEngine maybe\n</IfModule>\n")
		wantErr(t, e, "CapabilitiesEngine: expecting Boolean parameter", 2)
	})
	t.Run("negated false section is skipped", func(t *testing.T) {
		cfg := readOK(t, "<IfModule !mod_cap.c>\nCapabilitiesEngine maybe\n<IfModule mod_x.c>\nBogus\n</IfModule>\n</IfModule>\nCapabilitiesEngine off\n")
		if n := findTop(cfg, "CapabilitiesEngine"); n == nil || n.Args[0] != "off" || n.Pos.Line != 7 {
			t.Errorf("got %+v", n)
		}
	})
	t.Run("unclosed false section", func(t *testing.T) {
		// proftpd reads to the end of the file and reports the last line,
		// blank and comment lines included.
		e := readErr(t, prelude+"<IfModule mod_nope.c>\nCapabilitiesEngine on\n\n# trailing comment\n\n")
		wantErr(t, e, "<IfModule>: unclosed <IfModule> context", preludeLines+5)
	})
	t.Run("closer must be the whole line", func(t *testing.T) {
		e := readErr(t, "<IfModule !mod_cap.c>\n</IfModule> # not a closer\n</IfModule>\nCapabilitiesEngine maybe\n")
		wantErr(t, e, "CapabilitiesEngine: expecting Boolean parameter", 4)
	})
	t.Run("no module name", func(t *testing.T) {
		wantErr(t, readErr(t, "<IfModule>\n</IfModule>\n"), "<IfModule>: missing parameters", 1)
	})
	t.Run("closer with arguments", func(t *testing.T) {
		wantErr(t, readErr(t, "<IfModule mod_cap.c>\n</IfModule mod_cap.c>\n"), "</IfModule>: wrong number of parameters: mod_cap.c", 2)
	})
	t.Run("IfDefine closer takes anything", func(t *testing.T) {
		readOK(t, "<IfDefine !X>\nCapabilitiesEngine on\n</IfDefine X>\n")
	})
	t.Run("Define then IfDefine", func(t *testing.T) {
		e := readErr(t, "Define CAPS\n<IfDefine CAPS>\nCapabilitiesEngine maybe\n</IfDefine>\n")
		wantErr(t, e, "CapabilitiesEngine: expecting Boolean parameter", 3)
	})
}

func TestIfSessionNeedsModule(t *testing.T) {
	for _, s := range []string{"IfUser", "IfGroup", "IfClass"} {
		t.Run(s, func(t *testing.T) {
			text := "<" + s + " ftptest>\nCapabilitiesEngine off\n</" + s + ">\n"
			e := readErr(t, prelude+text)
			wantErr(t, e, "unknown configuration directive '<"+s+">'", preludeLines+1)
			if !strings.Contains(e.Hint, "LoadModule mod_ifsession.c") {
				t.Errorf("hint %q does not say how to load mod_ifsession", e.Hint)
			}
			cfg := readOK(t, "LoadModule mod_ifsession.c\n"+text)
			if len(cfg.Top) != 2 || !cfg.Top[1].Section || cfg.Top[1].Name != "<"+s+">" {
				t.Errorf("top %v", cfg.Top)
			}
		})
	}
	t.Run("module loaded after the section", func(t *testing.T) {
		e := readErr(t, "<IfUser ftptest>\n</IfUser>\nLoadModule mod_ifsession.c\n")
		wantErr(t, e, "unknown configuration directive '<IfUser>'", 1)
	})
	t.Run("Options.Modules", func(t *testing.T) {
		mods := append(append([]string{}, DebianModules...), "mod_ifsession.c")
		if _, err := ReadString(testConf, "<IfUser x>\n</IfUser>\n", Options{Modules: mods}); err != nil {
			t.Error(err)
		}
	})
}

// TestIfSessionContexts checks mod_ifsession's rules: allowed at server,
// <VirtualHost> and <Global> level only; its closers close whatever is
// innermost; and proftpd names the context inside by number.
func TestIfSessionContexts(t *testing.T) {
	const lm = "LoadModule mod_ifsession.c\n"
	cases := []struct {
		name, text, want string
		line             int
	}{
		{"in Anonymous", "<Anonymous /srv/ftp>\n<IfUser bob>\n</IfUser>\n</Anonymous>\n", "<IfUser>: directive not allowed in <Anonymous> context", 3},
		{"in Directory", "<Directory /x>\n<IfGroup g>\n</IfGroup>\n</Directory>\n", "<IfGroup>: directive not allowed in <Directory> context", 3},
		{"no arguments", "<IfUser>\n</IfUser>\n", "<IfUser>: wrong number of parameters", 2},
		{"IfAuthenticated takes none", "<IfAuthenticated x>\n</IfAuthenticated>\n", "<IfAuthenticated>: wrong number of parameters", 2},
		{"regex takes one", "<IfUser regex a b>\n</IfUser>\n", "<IfUser>: wrong number of parameters", 2},
		{"UserOwner at top", "<IfUser bob>\nUserOwner ftp\n</IfUser>\n", "UserOwner: directive not allowed in 1 context", 3},
		{"UserOwner in vhost", "<VirtualHost 127.0.0.2>\n<IfUser bob>\nUserOwner ftp\n</IfUser>\n</VirtualHost>\n", "UserOwner: directive not allowed in 16 context", 4},
		{"UserOwner in Global", "<Global>\n<IfUser bob>\nUserOwner ftp\n</IfUser>\n</Global>\n", "UserOwner: directive not allowed in <Global> context", 4},
		{"nested", "<IfUser bob>\n<IfGroup g>\nUserOwner ftp\n</IfGroup>\n</IfUser>\n", "UserOwner: directive not allowed in 1 context", 4},
		{"vhost in IfUser", "<IfUser bob>\n<VirtualHost 127.0.0.2>\n</VirtualHost>\n</IfUser>\n", "</VirtualHost>: directive not allowed in 1 context", 4},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			wantErr(t, readErr(t, lm+c.text), c.want, c.line)
		})
	}
	for name, text := range map[string]string{
		"stray closer":              "</IfUser>\n",
		"stray closer in vhost":     "<VirtualHost 127.0.0.2>\n</IfUser>\n</VirtualHost>\n",
		"closer ends Directory":     "<Directory /x>\nUserOwner ftp\n</IfUser>\nCapabilitiesEngine on\n",
		"closer with arguments":     "<IfUser bob>\n</IfUser extra>\n",
		"Global in IfUser":          "<IfUser bob>\n<Global>\n</Global>\n</IfUser>\n",
		"crossed closers":           "<Global>\n<IfUser bob>\n</Global>\n</IfUser>\n",
		"Anonymous in IfUser":       "<IfUser bob>\n<Anonymous /srv/ftp>\nRootRevoke off\nUserOwner ftp\n</Anonymous>\n</IfUser>\n",
		"mod_cap directives inside": "<IfUser bob>\nCapabilitiesEngine off\nCapabilitiesSet +CAP_FOWNER\nCapabilitiesRootRevoke off\nRootRevoke off\n</IfUser>\n",
	} {
		t.Run(name, func(t *testing.T) { readOK(t, lm+text) })
	}
}

// TestSectionHandlers checks mod_core's section openers and closers.
func TestSectionHandlers(t *testing.T) {
	cases := []struct {
		name, text, want string
		line             int
	}{
		{"Global with argument", "<Global foo>\n</Global>\n", "<Global>: Too many parameters", 1},
		{"VirtualHost without address", "<VirtualHost>\n</VirtualHost>\n", "<VirtualHost>: wrong number of parameters", 1},
		{"VirtualHost in Global", "<Global>\n<VirtualHost 127.0.0.2>\n</VirtualHost>\n</Global>\n", "<VirtualHost>: directive not allowed in <Global> context", 2},
		{"Directory without path", "<Directory>\n</Directory>\n", "<Directory>: missing parameters", 1},
		{"Directory relative", "<Directory pub>\n</Directory>\n", "<Directory>: relative path not allowed in non-<Anonymous> sections", 1},
		{"Directory twice", "<Directory /x>\nUmask 022\n</Directory>\n<Directory /x>\nUmask 022\n</Directory>\n", "<Directory>: <Directory> section already configured for '/x'", 4},
		{"Directory twice via Global", "<Directory /x>\nUmask 022\n</Directory>\n<Global>\n<Directory /x>\n</Directory>\n</Global>\n", "<Directory>: <Directory> section already configured for '/x'", 5},
		{"Directory in Directory", "<Directory /x>\n<Directory /y>\n</Directory>\n</Directory>\n", "<Directory>: directive not allowed in <Directory> context", 2},
		{"Anonymous without path", "<Anonymous>\n</Anonymous>\n", "<Anonymous>: missing parameters", 1},
		{"Anonymous relative", "<Anonymous ftp>\n</Anonymous>\n", "<Anonymous>: (ftp) absolute pathname required", 1},
		{"Anonymous wildcard", "<Anonymous /srv/*>\n</Anonymous>\n", "<Anonymous>: (/srv/*) wildcards not allowed in pathname", 1},
		{"Anonymous root", "<Anonymous />\n</Anonymous>\n", "<Anonymous>: '/' not permitted for anonymous root directory", 1},
		{"Limit without commands", "<Limit>\n</Limit>\n", "<Limit>: directive requires one or more commands", 1},
		{"Limit in Limit", "<Limit LOGIN>\n<Limit READ>\n</Limit>\n</Limit>\n", "<Limit>: directive not allowed in <Limit> context", 2},
		{"Class in Directory", "<Directory /x>\n<Class local>\n</Class>\n</Directory>\n", "<Class>: directive not allowed in <Directory> context", 2},
		{"Class without name", "<Class>\n</Class>\n", "<Class>: missing parameters", 1},
		{"closer with argument", "<Directory /x>\n</Directory foo>\n", "</Directory>: wrong number of parameters", 2},
		{"stray closer", "</Directory>\n", "</Directory>: directive not allowed in server config context", 1},
		{"wrong closer", "<Directory /x>\n</Global>\n", "</Global>: directive not allowed in <Directory> context", 2},
		{"crossed", "<Anonymous /srv/ftp>\n<Directory /x>\n</Anonymous>\n</Directory>\n", "</Anonymous>: directive not allowed in <Directory> context", 3},
		{"Global closer in vhost", "<VirtualHost 127.0.0.2>\n</Global>\n</VirtualHost>\n", "</Global>: directive not allowed in <VirtualHost> context", 2},
		{"set in Limit", "<Limit LOGIN>\nCapabilitiesSet +CAP_FOWNER\n</Limit>\n", "CapabilitiesSet: directive not allowed in <Limit> context", 2},
		{"set in Class", "<Class local>\nCapabilitiesEngine on\n</Class>\n", "CapabilitiesEngine: directive not allowed in <Class> context", 2},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) { wantErr(t, readErr(t, c.text), c.want, c.line) })
	}
	for name, text := range map[string]string{
		"Global in VirtualHost":                 "<VirtualHost 127.0.0.2>\n<Global>\nCapabilitiesEngine on\n</Global>\n</VirtualHost>\n",
		"empty Directory twice":                 "<Directory /x>\n</Directory>\n<Directory /x>\n</Directory>\n",
		"same Directory in two servers":         "<Directory /x>\nUmask 022\n</Directory>\n<VirtualHost 127.0.0.2>\n<Directory /x>\nUmask 022\n</Directory>\n</VirtualHost>\n",
		"relative Directory in Anonymous":       "<Anonymous ~ftp>\n<Directory pub>\nUserOwner ftp\n</Directory>\n</Anonymous>\n",
		"closer with space":                     "<Directory /x >\nUserOwner ftp\n</Directory >\n",
		"Class in Global":                       "<Global>\n<Class local>\nFrom 127.0.0.1\n</Class>\n</Global>\n",
		"RootRevoke and RootLogin in Anonymous": "<Anonymous /srv/ftp>\nRootRevoke off\nRootLogin off\nUserOwner ftp\n</Anonymous>\n",
		"UserOwner in Directory":                "<Directory /srv/ftp/*>\nUserOwner ftp\n</Directory>\n",
	} {
		t.Run(name, func(t *testing.T) { readOK(t, text) })
	}
}

func TestNonASCIIDirective(t *testing.T) {
	e := readErr(t, prelude+"Capabilit\u00e9sEngine on\n")
	wantErr(t, e, "unknown configuration directive 'Capabilit\u00e9sEngine'", preludeLines+1)
	if !strings.Contains(e.Hint, "malformed directive name") || !strings.Contains(e.Hint, "non-ASCII") {
		t.Errorf("hint %q", e.Hint)
	}
	// A non-ASCII argument is fine.
	readOK(t, "ServerName \"caf\u00e9\"\n")
}

func TestContinuationLines(t *testing.T) {
	t.Run("error reports the last physical line", func(t *testing.T) {
		e := readErr(t, prelude+"CapabilitiesSet +CAP_FOWNER \\\n  +CAP_FSETID \\\n  +CAP_NET_RAW\n")
		wantErr(t, e, "CapabilitiesSet: unknown capability: 'CAP_NET_RAW'", preludeLines+3)
	})
	t.Run("joined into one directive", func(t *testing.T) {
		cfg := readOK(t, "CapabilitiesSet +CAP_FOWNER \\\n\t+CAP_FSETID\\\n -CAP_CHOWN\n")
		n := findTop(cfg, "CapabilitiesSet")
		if n == nil || strings.Join(n.Args, " ") != "+CAP_FOWNER +CAP_FSETID -CAP_CHOWN" || n.Pos.Line != 3 {
			t.Errorf("got %+v", n)
		}
	})
	t.Run("commented continuation line is dropped", func(t *testing.T) {
		e := readErr(t, "CapabilitiesSet +CAP_FOWNER \\\n# -CAP_CHOWN \\\n+CAP_NET_RAW\n")
		wantErr(t, e, "CapabilitiesSet: unknown capability: 'CAP_NET_RAW'", 3)
	})
	t.Run("comment ending in a backslash does not swallow the next line", func(t *testing.T) {
		e := readErr(t, "# a comment \\\nCapabilitiesEngine maybe\n")
		wantErr(t, e, "CapabilitiesEngine: expecting Boolean parameter", 2)
	})
	t.Run("CRLF backslash is no continuation", func(t *testing.T) {
		e := readErr(t, "CapabilitiesSet +CAP_FOWNER \\\r\n+CAP_NET_RAW\r\n")
		wantErr(t, e, "CapabilitiesSet: : bad option: '\\'", 1)
	})
	t.Run("CRLF", func(t *testing.T) {
		e := readErr(t, "CapabilitiesEngine on\r\nCapabilitiesEngine maybe\r\n")
		wantErr(t, e, "CapabilitiesEngine: expecting Boolean parameter", 2)
	})
	t.Run("last line without newline", func(t *testing.T) {
		// proftpd counts only lines that end in a newline.
		e := readErr(t, "CapabilitiesEngine on\nCapabilitiesEngine maybe")
		wantErr(t, e, "CapabilitiesEngine: expecting Boolean parameter", 1)
		cfg := readOK(t, "CapabilitiesEngine on")
		if len(cfg.Warnings) != 1 || !strings.Contains(cfg.Warnings[0].Text, "handling possibly truncated configuration data at line 0") {
			t.Errorf("warnings %v", cfg.Warnings)
		}
	})
	t.Run("continuation into the end of the file", func(t *testing.T) {
		cfg := readOK(t, "CapabilitiesSet +CAP_FOWNER \\\n")
		if n := findTop(cfg, "CapabilitiesSet"); n == nil || len(n.Args) != 1 {
			t.Errorf("got %+v", n)
		}
	})
}

func TestQuoting(t *testing.T) {
	t.Run("quoted words are one argument", func(t *testing.T) {
		e := readErr(t, "CapabilitiesSet \"+CAP_X y\"\n")
		wantErr(t, e, "CapabilitiesSet: unknown capability: 'CAP_X y'", 1)
		e = readErr(t, "CapabilitiesSet \"+CAP_FOWNER +CAP_FSETID\"\n")
		wantErr(t, e, "CapabilitiesSet: unknown capability: 'CAP_FOWNER +CAP_FSETID'", 1)
	})
	t.Run("quoted token", func(t *testing.T) {
		cfg := readOK(t, "CapabilitiesSet \"+CAP_FOWNER\" \"-CAP_CHOWN\"\n")
		if n := findTop(cfg, "CapabilitiesSet"); n == nil || strings.Join(n.Args, "|") != "+CAP_FOWNER|-CAP_CHOWN" {
			t.Errorf("got %+v", n)
		}
	})
	t.Run("escapes inside quotes", func(t *testing.T) {
		e := readErr(t, "CapabilitiesSet \"+CAP_\\\"X\\\\\"\n")
		wantErr(t, e, "CapabilitiesSet: unknown capability: 'CAP_\"X\\'", 1)
	})
	t.Run("closing quote ends the word", func(t *testing.T) {
		e := readErr(t, "CapabilitiesSet \"+CAP_FOWNER\"+CAP_NET_RAW\n")
		wantErr(t, e, "CapabilitiesSet: unknown capability: 'CAP_NET_RAW'", 1)
	})
	t.Run("comment starts only a word", func(t *testing.T) {
		cfg := readOK(t, "CapabilitiesSet +CAP_FOWNER #+CAP_NET_RAW\n")
		if n := findTop(cfg, "CapabilitiesSet"); n == nil || len(n.Args) != 1 {
			t.Errorf("got %+v", n)
		}
		e := readErr(t, "CapabilitiesSet +CAP_FOWNER#x\n")
		wantErr(t, e, "CapabilitiesSet: unknown capability: 'CAP_FOWNER#x'", 1)
	})
	t.Run("environment variables", func(t *testing.T) {
		env := map[string]string{"CAPS": "+CAP_NET_RAW"}
		_, err := ReadString(testConf, "CapabilitiesSet %{env:CAPS}\n", Options{Getenv: func(k string) string { return env[k] }})
		var e *Error
		if !errors.As(err, &e) || e.Text != "CapabilitiesSet: unknown capability: 'CAP_NET_RAW'" {
			t.Errorf("got %v", err)
		}
	})
}

func TestDirectiveNamesAnyCase(t *testing.T) {
	cfg := readOK(t, "capabilitiesset +cap_fowner -Cap_Chown\nCAPABILITIESENGINE on\ncapabilitiesRootRevoke OFF\nrootrevoke off\nROOTLOGIN off\n<directory /x>\nuserowner ftp\n</DIRECTORY>\n")
	want := []string{"CapabilitiesSet", "CapabilitiesEngine", "CapabilitiesRootRevoke", "RootRevoke", "RootLogin", "<Directory>"}
	if len(cfg.Top) != len(want) {
		t.Fatalf("top %v", cfg.Top)
	}
	for i, n := range cfg.Top {
		if n.Name != want[i] {
			t.Errorf("node %d is %q, want the canonical %q", i, n.Name, want[i])
		}
	}
	if cfg.Top[5].Children[0].Name != "UserOwner" {
		t.Errorf("child %q", cfg.Top[5].Children[0].Name)
	}
	wantErr(t, readErr(t, "capabilitiesengine perhaps\n"), "CapabilitiesEngine: expecting Boolean parameter", 1)
}

func TestBooleans(t *testing.T) {
	for _, v := range []string{"on", "off", "yes", "no", "true", "false", "1", "0", "ON", "Off", "YES", "nO", "True", "FALSE", "tRuE", "oN"} {
		want, _ := map[string]bool{"on": true, "yes": true, "true": true, "1": true}[strings.ToLower(v)]
		got, ok := ParseBool(v)
		if !ok || got != want {
			t.Errorf("ParseBool(%q) = %v, %v", v, got, ok)
		}
		for _, d := range []string{"CapabilitiesEngine", "CapabilitiesRootRevoke", "RootRevoke", "RootLogin"} {
			readOK(t, d+" "+v+"\n")
		}
		// Extra arguments after a boolean are ignored.
		readOK(t, "CapabilitiesEngine "+v+" extra words\n")
	}
	for _, v := range []string{"2", "onn", "of", "y", "n", "enabled", "-1", "on,", "\"\""} {
		if _, ok := ParseBool(strings.Trim(v, "\"")); ok {
			t.Errorf("ParseBool(%q) accepted", v)
		}
		wantErr(t, readErr(t, "CapabilitiesEngine "+v+"\n"), "CapabilitiesEngine: expecting Boolean parameter", 1)
		wantErr(t, readErr(t, "CapabilitiesRootRevoke "+v+"\n"), "CapabilitiesRootRevoke: expected Boolean parameter", 1)
	}
	for _, v := range []string{"UseNonCompliantActiveTransfers", "usenoncompliantactivetransfer"} {
		readOK(t, "RootRevoke "+v+"\n")
	}
	wantErr(t, readErr(t, "RootRevoke UseNonCompliant\n"), "RootRevoke: expected Boolean parameter", 1)
}

// writeFiles creates files (relative names) under dir.
func writeFiles(t *testing.T, dir string, files map[string]string) {
	t.Helper()
	for name, text := range files {
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

func findTop(cfg *Config, name string) *Node {
	for _, n := range cfg.Top {
		if n.Is(name) {
			return n
		}
	}
	return nil
}

// setArgs lists the arguments of every top-level CapabilitiesSet, in order.
func setArgs(cfg *Config) []string {
	var out []string
	for _, n := range cfg.Top {
		if n.Is("CapabilitiesSet") {
			out = append(out, strings.Join(n.Args, " "))
		}
	}
	return out
}

func warningsText(cfg *Config) string {
	var b strings.Builder
	for _, w := range cfg.Warnings {
		b.WriteString(w.String() + "\n")
	}
	return b.String()
}

func TestInclude(t *testing.T) {
	dir := t.TempDir()
	writeFiles(t, dir, map[string]string{
		"one.conf":        "CapabilitiesSet +CAP_FOWNER\n",
		"d/b.conf":        "CapabilitiesSet +CAP_FSETID\n",
		"d/a.conf":        "CapabilitiesSet +CAP_DAC_OVERRIDE\n",
		"d/B.conf":        "CapabilitiesSet -CAP_CHOWN\n",
		"d/_x":            "CapabilitiesSet -CAP_SETUID\n",
		"d/.hidden":       "CapabilitiesSet +CAP_DAC_READ_SEARCH\n",
		"g/2.conf":        "CapabilitiesSet +CAP_FSETID\n",
		"g/10.conf":       "CapabilitiesSet +CAP_FOWNER\n",
		"g/.3.conf":       "CapabilitiesSet +CAP_NET_RAW\n",
		"g/4.txt":         "CapabilitiesSet +CAP_NET_RAW\n",
		"bad.conf":        "CapabilitiesSet +CAP_NET_RAW\nCapabilitiesSet +CAP_FSETID\n",
		"cycle/a.conf":    "Include " + filepath.Join(dir, "cycle/b.conf") + "\n",
		"cycle/b.conf":    "CapabilitiesEngine on\nInclude " + filepath.Join(dir, "cycle/a.conf") + "\n",
		"nested/top.conf": "<Global>\nInclude " + filepath.Join(dir, "nested/in.conf") + "\n</Global>\n",
		"nested/in.conf":  "CapabilitiesEngine off\n",
	})
	t.Run("absolute file", func(t *testing.T) {
		cfg := readOK(t, "CapabilitiesEngine on\nInclude "+filepath.Join(dir, "one.conf")+"\n")
		if got := setArgs(cfg); len(got) != 1 || got[0] != "+CAP_FOWNER" {
			t.Errorf("sets %v", got)
		}
		n := findTop(cfg, "CapabilitiesSet")
		if n.Pos.File != filepath.Join(dir, "one.conf") || n.Pos.Line != 1 {
			t.Errorf("pos %v", n.Pos)
		}
		if len(cfg.Files) != 2 || cfg.Files[1] != filepath.Join(dir, "one.conf") {
			t.Errorf("files %v", cfg.Files)
		}
	})
	t.Run("directory: every file in strcmp order", func(t *testing.T) {
		cfg := readOK(t, "Include "+filepath.Join(dir, "d")+"\n")
		want := []string{"+CAP_DAC_READ_SEARCH", "-CAP_CHOWN", "-CAP_SETUID", "+CAP_DAC_OVERRIDE", "+CAP_FSETID"}
		if got := setArgs(cfg); strings.Join(got, ",") != strings.Join(want, ",") {
			t.Errorf("sets %v\nwant %v", got, want)
		}
	})
	t.Run("glob", func(t *testing.T) {
		cfg := readOK(t, "Include "+filepath.Join(dir, "g/*.conf")+"\n")
		want := []string{"+CAP_FOWNER", "+CAP_FSETID"} // "10.conf" < "2.conf"; no dot files, no .txt
		if got := setArgs(cfg); strings.Join(got, ",") != strings.Join(want, ",") {
			t.Errorf("sets %v\nwant %v", got, want)
		}
	})
	t.Run("glob in a directory name", func(t *testing.T) {
		cfg := readOK(t, "Include "+filepath.Join(dir, "[dg]/10.conf")+"\n")
		// "d" has no 10.conf: proftpd stops at the first match that fails.
		if got := setArgs(cfg); len(got) != 0 || !strings.Contains(warningsText(cfg), "No such file or directory") {
			t.Errorf("sets %v, warnings %s", got, warningsText(cfg))
		}
		cfg = readOK(t, "Include "+filepath.Join(dir, "?/2.conf")+"\n")
		if !strings.Contains(warningsText(cfg), "No such file or directory") {
			t.Errorf("warnings %s", warningsText(cfg))
		}
		cfg = readOK(t, "Include "+filepath.Join(dir, "g*/2.conf")+"\n")
		if got := setArgs(cfg); len(got) != 1 || len(cfg.Warnings) != 0 {
			t.Errorf("sets %v, warnings %s", got, warningsText(cfg))
		}
	})
	t.Run("glob whose directory is a file", func(t *testing.T) {
		e := readErr(t, "Include "+filepath.Join(dir, "one.conf/*.conf")+"\n")
		wantErr(t, e, "Include: error including '"+filepath.Join(dir, "one.conf/*.conf")+"': Invalid argument", 1)
	})
	t.Run("missing file is only a warning", func(t *testing.T) {
		missing := filepath.Join(dir, "missing.conf")
		cfg := readOK(t, "Include "+missing+"\nCapabilitiesEngine off\n")
		want := "warning: unable to include '" + missing + "': No such file or directory"
		if len(cfg.Warnings) != 1 || cfg.Warnings[0].Text != want || cfg.Warnings[0].Pos.Line != 1 {
			t.Errorf("warnings %v", cfg.Warnings)
		}
		if findTop(cfg, "CapabilitiesEngine") == nil {
			t.Error("the line after the missing Include was not read")
		}
		cfg = readOK(t, "Include "+filepath.Join(dir, "nodir/*.conf")+"\n")
		if !strings.Contains(warningsText(cfg), "No such file or directory") {
			t.Errorf("warnings %s", warningsText(cfg))
		}
	})
	t.Run("relative path", func(t *testing.T) {
		wantErr(t, readErr(t, "\nInclude x\n"), "Include: unable to use path for configuration file 'x'", 2)
		wantErr(t, readErr(t, "Include conf.d/*.conf\n"), "Include: unable to use path for configuration file 'conf.d/*.conf'", 1)
		wantErr(t, readErr(t, "Include\n"), "Include: missing parameters", 1)
	})
	t.Run("cycle", func(t *testing.T) {
		a, b := filepath.Join(dir, "cycle/a.conf"), filepath.Join(dir, "cycle/b.conf")
		for _, start := range []struct{ main, text string }{{"", "Include " + a + "\n"}, {a, ""}} {
			var err error
			if start.main == "" {
				_, err = ReadString(testConf, start.text, Options{})
			} else {
				_, err = ReadFile(start.main, Options{})
			}
			var e *Error
			if !errors.As(err, &e) {
				t.Fatalf("got %v, want an *Error", err)
			}
			if !strings.Contains(e.Text, ErrIncludeCycle.Error()) || !strings.Contains(e.Text, a) || !strings.Contains(e.Text, b) ||
				!strings.Contains(e.Text, a+" -> "+b+" -> "+a) {
				t.Errorf("text %q does not name the cycle", e.Text)
			}
		}
	})
	t.Run("error in an included file", func(t *testing.T) {
		bad := filepath.Join(dir, "bad.conf")
		cfg := readOK(t, "CapabilitiesEngine on\nInclude "+bad+"\nCapabilitiesSet CAP_CHOWN\n")
		w := warningsText(cfg)
		for _, want := range []string{
			"fatal: CapabilitiesSet: unknown capability: 'CAP_NET_RAW' on line 1 of '" + bad + "'",
			"warning: unable to include '" + bad + "': Operation not permitted",
			"never reads the rest of '" + testConf + "' (from line 3 on)",
		} {
			if !strings.Contains(w, want) {
				t.Errorf("warnings lack %q:\n%s", want, w)
			}
		}
		// proftpd carries on with the rest of the failed file, in place
		// of the including file, whose remaining lines it never reads.
		if got := setArgs(cfg); len(got) != 1 || got[0] != "+CAP_FSETID" {
			t.Errorf("sets %v", got)
		}
	})
	t.Run("error in a stolen line is reported at the Include", func(t *testing.T) {
		writeFiles(t, dir, map[string]string{"bad2.conf": "CapabilitiesSet +CAP_NET_RAW\n\nCapabilitiesEngine maybe\n"})
		e := readErr(t, "\nInclude "+filepath.Join(dir, "bad2.conf")+"\n")
		wantErr(t, e, "CapabilitiesEngine: expecting Boolean parameter", 2)
		if e.Pos.File != testConf || !strings.Contains(e.Hint, "line 3 of '"+filepath.Join(dir, "bad2.conf")+"'") {
			t.Errorf("pos %v hint %q", e.Pos, e.Hint)
		}
	})
	t.Run("failed Include leaves a section open", func(t *testing.T) {
		e := readErr(t, "<Global>\nInclude "+filepath.Join(dir, "bad.conf")+"\n</Global>\n")
		if !strings.HasSuffix(e.Text, "unclosed configuration section") {
			t.Errorf("text %q", e.Text)
		}
	})
	t.Run("error in a file of an included directory", func(t *testing.T) {
		writeFiles(t, dir, map[string]string{"e/a.conf": "CapabilitiesEngine maybe\n", "e/b.conf": "CapabilitiesSet +CAP_FOWNER\n"})
		cfg := readOK(t, "Include "+filepath.Join(dir, "e")+"\n")
		if !strings.Contains(warningsText(cfg), "error: unable to open parse file '"+filepath.Join(dir, "e/a.conf")+"': Operation not permitted") {
			t.Errorf("warnings %s", warningsText(cfg))
		}
		if got := setArgs(cfg); len(got) != 1 {
			t.Errorf("sets %v: the next file of the directory is read", got)
		}
	})
	t.Run("Include keeps the context", func(t *testing.T) {
		e := readErr(t, "<Directory /x>\nInclude "+filepath.Join(dir, "one.conf")+"\n</Directory>\n")
		// The include fails (CapabilitiesSet in <Directory>) and the
		// rest of the main file is never read.
		if !strings.HasSuffix(e.Text, "unclosed configuration section") {
			t.Errorf("text %q", e.Text)
		}
		cfg, err := ReadFile(filepath.Join(dir, "nested/top.conf"), Options{})
		if err != nil {
			t.Fatal(err)
		}
		if len(cfg.Top) != 1 || !cfg.Top[0].Is("<Global>") || len(cfg.Top[0].Children) != 1 {
			t.Errorf("top %v", cfg.Top)
		}
	})
	t.Run("Include in Class", func(t *testing.T) {
		e := readErr(t, "<Class c>\nInclude "+filepath.Join(dir, "one.conf")+"\n</Class>\n")
		wantErr(t, e, "Include: directive not allowed in <Class> context", 2)
	})
	t.Run("MaxFiles", func(t *testing.T) {
		_, err := ReadString(testConf, "Include "+filepath.Join(dir, "d")+"\n", Options{MaxFiles: 2})
		var e *Error
		if !errors.As(err, &e) || !strings.Contains(e.Text, "more than 2") || e.Pos.Line != 1 {
			t.Errorf("got %v", err)
		}
	})
}

func TestReadFile(t *testing.T) {
	dir := t.TempDir()
	main := filepath.Join(dir, "proftpd.conf")
	writeFiles(t, dir, map[string]string{"proftpd.conf": "CapabilitiesEngine on\n\nCapabilitiesSet CAP_CHOWN\n"})
	_, err := ReadFile(main, Options{})
	var e *Error
	if !errors.As(err, &e) {
		t.Fatalf("got %v", err)
	}
	if want := "fatal: CapabilitiesSet: : bad option: 'CAP_CHOWN' on line 3 of '" + main + "'"; e.Proftpd() != want {
		t.Errorf("Proftpd() = %q\nwant %q", e.Proftpd(), want)
	}
	if _, err := ReadFile(filepath.Join(dir, "nope.conf"), Options{}); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("missing main file: %v", err)
	}
}
