package modcap

import (
	"errors"
	"slices"
	"strings"
	"testing"
	"testing/fstest"
	"unicode/utf8"

	"captune/capset"
)

// fuzzFS is the file system the fuzzed configurations include from:
// Include never reaches the real one.
var fuzzFS = fstest.MapFS{
	"etc/proftpd/modules.conf":         {Data: []byte("LoadModule mod_ifsession.c\n")},
	"etc/proftpd/conf.d/10-cap.conf":   {Data: []byte("<IfModule mod_cap.c>\n  CapabilitiesSet +CAP_FOWNER\n</IfModule>\n")},
	"etc/proftpd/conf.d/20-bad.conf":   {Data: []byte("CapabilitiesSet +CAP_NET_RAW\nCapabilitiesEngine on\n<Global>\n")},
	"etc/proftpd/conf.d/30-vhost.conf": {Data: []byte("<VirtualHost 127.0.0.2>\nRootRevoke off\n</VirtualHost>\n")},
	"etc/proftpd/conf.d/.hidden":       {Data: []byte("CapabilitiesEngine maybe\n")},
	"etc/proftpd/cycle.conf":           {Data: []byte("Include /etc/proftpd/cycle2.conf\n")},
	"etc/proftpd/cycle2.conf":          {Data: []byte("Include /etc/proftpd/cycle.conf\n")},
	"etc/proftpd/open.conf":            {Data: []byte("<Directory /srv/ftp>\nUserOwner ftp\n")},
	"etc/proftpd/junk.conf":            {Data: []byte("\x00\xff<\\\n\"\r\n# \\\n<IfModule !mod_cap.c>\n")},
}

var fuzzLogins = []Login{
	{User: "ftptest", UID: 1000, UIDKnown: true, Groups: []string{"ftptest", "ftp"}, Class: "local"},
	{User: "root", UID: 0, UIDKnown: true, Groups: []string{"root"}},
	{User: "bob", UID: 1001, UIDKnown: true, Groups: []string{"bob"}, Addr: "127.0.0.2"},
}

// FuzzReadString reads arbitrary text as a configuration: the reader and
// the prediction on what it accepts must never panic, and every refusal
// is an *Error with proftpd's text.
func FuzzReadString(f *testing.F) {
	f.Add("")
	f.Add("CapabilitiesSet -CAP_CHOWN +CAP_FOWNER\nRootRevoke off\n")
	f.Add("Include /etc/proftpd/conf.d/*.conf\nInclude /etc/proftpd/cycle.conf\n")
	f.Add("LoadModule mod_ifsession.c\n<IfUser regex ^ftp>\nCapabilitiesEngine off\n</IfUser>\n")
	opt := Options{FS: fuzzFS, Getenv: func(k string) string {
		if k == "CAPS" {
			return "+CAP_FSETID"
		}
		return ""
	}}
	f.Fuzz(func(t *testing.T, text string) {
		cfg, err := ReadString("/etc/proftpd/proftpd.conf", text, opt)
		if err != nil {
			var e *Error
			if !errors.As(err, &e) || e.Text == "" {
				t.Fatalf("error %T %v is not an *Error with a text", err, err)
			}
			if !strings.HasPrefix(e.Proftpd(), "fatal: ") || e.Error() == "" {
				t.Fatalf("Proftpd() %q", e.Proftpd())
			}
			return
		}
		if cfg == nil || len(cfg.Files) == 0 {
			t.Fatalf("nil config without an error")
		}
		for _, w := range cfg.Warnings {
			_ = w.String()
		}
		_, vhosts, _ := cfg.Servers()
		for _, l := range fuzzLogins {
			p := Predict(Input{Config: cfg, Login: l, MasterPermitted: full, MasterBounding: full})
			if !p.Refused && p.Permitted&^full != 0 {
				t.Fatalf("permitted %s exceeds the master's set", p.Permitted.Hex())
			}
			if len(vhosts) > 0 && len(vhosts[0].Addrs) > 0 {
				l.Addr = vhosts[0].Addrs[0]
				Predict(Input{Config: cfg, Login: l, MasterPermitted: full, MasterBounding: full})
			}
		}
	})
}

// FuzzParseTokens feeds CapabilitiesSet arguments, one per line: a
// parse never panics, a refusal carries proftpd's text, and accepted
// tokens print, parse and apply back to the same thing.
func FuzzParseTokens(f *testing.F) {
	f.Add("+CAP_FOWNER")
	f.Add("-CAP_CHOWN\n+CAP_DAC_OVERRIDE\n+CAP_DAC_READ_SEARCH\n+CAP_FOWNER\n+CAP_FSETID\n-CAP_SETUID")
	f.Add("CAP_CHOWN")
	f.Fuzz(func(t *testing.T, in string) {
		args := strings.Split(in, "\n")
		toks, err := ParseTokens(args)
		if err != nil {
			var te *TokenError
			if !errors.As(err, &te) || !strings.HasPrefix(te.Text, "CapabilitiesSet: ") || !slices.Contains(args, te.Token) {
				t.Fatalf("error %T %v", err, err)
			}
			return
		}
		if len(toks) != len(args) {
			t.Fatalf("%d tokens for %d arguments", len(toks), len(args))
		}
		for i, tok := range toks {
			if tok.String()[0] != args[i][0] || !strings.EqualFold(tok.String(), args[i]) || !utf8.ValidString(tok.String()) {
				t.Fatalf("argument %q became %s", args[i], tok)
			}
		}
		again, err := ParseTokens(tokenStrings(toks))
		if err != nil || !slices.Equal(again, toks) {
			t.Fatalf("tokens %v parse back as %v, %v", tokenStrings(toks), again, err)
		}
		flags := Apply(toks)
		rev := slices.Clone(toks)
		slices.Reverse(rev)
		if Apply(rev) != flags || Apply(again) != flags {
			t.Fatalf("token order changes the flags")
		}
		kept := flags.Kept(false)
		if KeptByTokens(toks, true) != kept || KeptByTokens(toks, false) != kept {
			t.Fatalf("a CapabilitiesSet line keeps AUDIT_WRITE")
		}
		if !kept.Has(capset.NetBindService) || kept.Has(capset.Setuid) != kept.Has(capset.Setgid) {
			t.Fatalf("kept %s", kept)
		}
		for _, pam := range []bool{true, false} {
			b, err := Emit(kept, pam)
			if err != nil {
				t.Fatalf("Emit(%s, %v): %v", kept, pam, err)
			}
			if KeptByTokens(b.Tokens, pam) != kept {
				t.Fatalf("block %v keeps %s, want %s", tokenStrings(b.Tokens), KeptByTokens(b.Tokens, pam), kept)
			}
		}
	})
}

// FuzzPredictSession fuzzes a whole session: the configuration, the
// text of every AuthUserFile and AuthGroupFile it names (one text for
// all), the system's passwd, the HOST names, the client's address and
// the login name. The simulation must never panic, never hand the
// session more than the master holds, and a refusal always says why.
func FuzzPredictSession(f *testing.F) {
	f.Add("AuthUserFile /etc/ftpd.passwd\nAuthOrder mod_auth_file.c mod_auth_unix.c\n<VirtualHost 127.0.0.1>\nServerAlias a.example\nPort 2121\n</VirtualHost>\n<Anonymous /srv>\nUser ftp\nUserAlias anonymous ftp\nRequireValidShell off\n</Anonymous>\n",
		"alice:x:1001:1001::/home/alice:/bin/sh\n", "root:x:0:0::/root:/bin/bash\nftp:x:103:65534::/srv:/usr/sbin/nologin\n", "a.example", "127.0.0.1", "alice")
	f.Add("<Class lan>\nFrom 10.0.0.0/8\n</Class>\n<IfClass lan>\nCapabilitiesSet +CAP_FOWNER\n</IfClass>\n<Limit LOGIN>\nDenyAll\n</Limit>\n", "", "", "", "10.1.2.3", "root")
	f.Add("Port 0\n<VirtualHost ::1 127.0.0.2>\nDefaultServer on\n<Global>\nRootLogin on\n</Global>\n</VirtualHost>\n<IfGroup !x>\n<Directory /nowhere>\nUserOwner root\n</Directory>\n</IfGroup>\n", "x:y:z", "bad\n", "\x00,", "::1", "anonymous")
	opt := Options{FS: fuzzFS, Getenv: func(string) string { return "" }}
	f.Fuzz(func(t *testing.T, conf, authText, passwd, hosts, client, user string) {
		cfg, err := ReadString("/etc/proftpd/proftpd.conf", conf, opt)
		if err != nil {
			return
		}
		users := &Users{Files: map[string]AuthFile{}, System: &Table{Accounts: ParsePasswd(passwd), Groups: ParseGroup(passwd)},
			FTPUsers: ParseFTPUsers(passwd), Shells: strings.Split(passwd, "\n"),
			DirExists: func(string) (bool, bool) { return len(user)%2 == 0, len(user)%3 != 0 }}
		for _, p := range AuthFilePaths(cfg) {
			users.Files[p] = AuthFile{Text: authText}
		}
		var hostList []string
		if hosts != "" {
			hostList = strings.Split(hosts, ",")
		}
		for _, l := range []Login{
			{User: user, Client: client, Hosts: hostList},
			{User: user, UID: 1000, UIDKnown: true, Groups: []string{user}, Client: client, Hosts: hostList, Addr: client, Port: len(user)},
			{User: "root", UID: 0, UIDKnown: true, AssumeRootLogin: true, Hosts: hostList},
		} {
			p := Predict(Input{Config: cfg, Login: l, Users: users, MasterPermitted: full, MasterBounding: full})
			if p.Refused && p.Why == "" {
				t.Fatalf("a refusal without a reason: %+v", p)
			}
			if !p.Refused && (p.Permitted&^full != 0 || p.Effective&^p.Permitted != 0) {
				t.Fatalf("permitted %s effective %s: beyond the master's set or the permitted one", p.Permitted.Hex(), p.Effective.Hex())
			}
		}
	})
}
