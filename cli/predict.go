package cli

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"

	"captune/capset"
	"captune/capset/modcap"
	"captune/launch/proftpd"
	"captune/model"
)

var predictFlags = []flagSpec{
	{name: "config", value: true, arg: "FILE", help: "proftpd configuration to read (default: none, the built-in defaults)"},
	{name: "user", value: true, arg: "NAME", help: "the USER name, looked up as proftpd does (the file's AuthUserFile, then this machine's users; default: a non-root user no <IfUser> names)"},
	{name: "group", value: true, multi: true, arg: "NAME", help: "a group of the user, for <IfGroup>; replaces the looked-up groups (repeatable)"},
	{name: "client", value: true, arg: "ADDR", help: "the client's IP address, for <Class> From rules and <Limit> Allow/Deny (default 127.0.0.1)"},
	{name: "connect", value: true, arg: "ADDR[:PORT]", help: "the local address (and port) the connection reaches; chooses the server as proftpd's bindings do (default: one that reaches the main server)"},
	{name: "host", value: true, multi: true, arg: "NAME[,NAME...]", help: "names sent with HOST before USER, in order (repeatable)"},
	{name: "class", value: true, arg: "NAME", help: "force the session's <Class> instead of the one --client falls in"},
	{name: "root-login", help: "the login is root (uid 0); RootLogin on is assumed unless the configuration says off"},
	{name: "vhost", value: true, arg: "ADDR", help: "the same as --connect ADDR (kept for older scripts)"},
	{name: "no-pam", help: "mod_auth_pam is not loaded"},
	{name: "master-set", value: true, arg: "SET", help: "the master's permitted/bounding set (default: this machine's bounding set)"},
	{name: "proftpd", value: true, arg: "PATH", help: "proftpd binary for the -t check (default: found in PATH)"},
	{name: "json", help: "print one JSON object"},
	{name: "help", help: "show this help"},
}

type predictJSON struct {
	Server       string   `json:"server"`
	ServerChoice string   `json:"server_choice"`
	Candidates   []string `json:"candidates"`
	Class        string   `json:"class"`
	User         string   `json:"user"`
	Engine       bool     `json:"engine"`
	Refused      bool     `json:"refused"`
	// Reason, RefusedWhy (its older name), RefusedAt and RefusedLine say
	// why proftpd refuses the login, when, and the deciding line.
	Reason      string      `json:"reason,omitempty"`
	RefusedWhy  string      `json:"refused_why,omitempty"`
	RefusedAt   string      `json:"refused_at,omitempty"`
	RefusedLine string      `json:"refused_line,omitempty"`
	Kept        string      `json:"kept"`
	Permitted   string      `json:"permitted"`
	Effective   string      `json:"effective"`
	Inheritable string      `json:"inheritable"`
	Ambient     string      `json:"ambient"`
	Bounding    string      `json:"bounding"`
	UIDs        uidsJSON    `json:"uids"`
	Reasons     []string    `json:"reasons"`
	Warnings    []string    `json:"warnings"`
	Checked     checkedJSON `json:"checked"`
}

type uidsJSON struct {
	Real      uint32 `json:"real"`
	Effective uint32 `json:"effective"`
	Saved     uint32 `json:"saved"`
}

type checkedJSON struct {
	// By is "captune" (mod_cap's and a few core directives only) or
	// "proftpd -t" (every directive).
	By   string `json:"by"`
	Note string `json:"note"`
}

const predictAbout = `Predicts what an FTP session process holds after login: CapPrm, CapEff, CapInh,
CapAmb, CapBnd and its uids, with the reason for each point. The prediction
follows a session's set-up: the server the connection reaches, <IfClass> at
connect, HOST, USER/PASS (<Anonymous>, the user from the configuration's auth
modules in AuthOrder's order, RootLogin, <Limit LOGIN>, /etc/ftpusers), the
<IfAuthenticated>/<IfGroup>/<IfUser> merges, mod_cap, then the root revoke.

The connection: --connect ADDR[:PORT] is the local address (and port) the
client connects to; the server is chosen from it as proftpd's bindings do
(--vhost ADDR is the same as --connect ADDR). Without it, the connection is one
that reaches the main server, and when the main server takes none (Port 0),
one to 127.0.0.1; the output names the server assumed. --client ADDR is where
the connection comes from: it decides the session's <Class> (--class NAME
forces a class instead) and <Limit> Allow/Deny. --host names are sent with HOST
before USER. --user anonymous (or any name an <Anonymous> section's User or
UserAlias takes) logs in through that <Anonymous>. A login proftpd refuses is
printed as "login refused" with the deciding line (exit 0; --json: "refused":
true and "reason").

Tokens act as the first CapabilitiesSet line of the selected server ("what if").

`

func runPredict(env Env, args []string) error {
	p, err := parseArgs("predict", args, predictFlags)
	if err != nil {
		return err
	}
	if p.has("help") {
		fmt.Fprint(env.Stdout, helpText("predict", "[--config FILE] [--user NAME] [--group NAME]... [--root-login] [--client ADDR] [--connect ADDR[:PORT]] [--host NAME[,NAME...]] [--class NAME] [--no-pam] [+CAP_X|-CAP_X ...] [--json]",
			predictAbout+capset.SetSyntax,
			predictFlags, "  captune predict\n  captune predict --config /etc/proftpd/proftpd.conf --user alice\n  captune predict --config /etc/proftpd/proftpd.conf --user anonymous --connect 192.0.2.10:21 --client 198.51.100.7\n  captune predict -CAP_SETUID --json\n"))
		return nil
	}
	extra, err := parseTokens("predict", p.pos)
	if err != nil {
		return err
	}
	master, err := masterSet(env, p.get("master-set"))
	if err != nil {
		return err
	}
	res := newSysResolver()
	conn, err := predictConnection(p, res)
	if err != nil {
		return err
	}
	in := modcap.Input{MasterPermitted: master, MasterBounding: master, Extra: extra, Resolver: res, HostAddrs: hostAddrs(res)}
	checked := checkedJSON{By: "captune", Note: "no configuration file: proftpd's built-in defaults"}
	proftpdBin := p.get("proftpd")
	opt := modcap.Options{}
	if path := p.get("config"); path != "" {
		abs, _ := filepath.Abs(path)
		if proftpdBin == "" {
			proftpdBin, _ = exec.LookPath("proftpd")
		} else if _, err := exec.LookPath(proftpdBin); err != nil {
			return fail(ExitMissing, "predict: --proftpd %s: %v (install it with: apt-get install proftpd-core)", clip(proftpdBin), err)
		}
		if proftpdBin != "" {
			if mods, err := proftpd.Modules(proftpdBin); err == nil {
				opt.Modules = mods
			}
		}
		cfg, err := modcap.ReadFile(abs, opt)
		if err != nil {
			var ce *modcap.Error
			if errors.As(err, &ce) {
				return usagef("predict: %s", ce.Error())
			}
			return usagef("predict: %s: %v", clip(path), err)
		}
		in.Config = cfg
		if proftpdBin != "" {
			if err := proftpd.Check(context.Background(), proftpdBin, abs); err != nil {
				var pe *proftpd.ConfigError
				if errors.As(err, &pe) {
					return usagef("predict: proftpd -t rejects %s: %s", clip(path), pe.Message)
				}
				return fail(ExitMissing, "predict: %v", err)
			}
			checked = checkedJSON{By: "proftpd -t", Note: "proftpd -t accepted the whole file; captune also checked the mod_cap directives itself"}
		} else {
			checked.Note = fmt.Sprintf("proftpd is not installed: captune checked only mod_cap's directives, RootRevoke, RootLogin, UserOwner and the sections; %d other directives were not judged", cfg.Unjudged)
		}
		// Warnings go with a result; a refusal is its one line alone.
		for _, w := range cfg.Warnings {
			fmt.Fprintf(env.Stderr, "captune: warning: %s\n", oneLine(w.String()))
		}
	}
	if p.has("no-pam") {
		f := false
		in.PAM = &f
	}
	in.Users = modcap.ReadUsers(in.Config, opt)
	in.Users.DirExists = dirExists
	login, note := predictLogin(p)
	login.Client, login.Addr, login.Port, login.Hosts = conn.client, conn.addr, conn.port, conn.hosts
	in.Login = login
	pr := modcap.Predict(in)
	if note != "" {
		pr.Reasons = append([]string{note}, pr.Reasons...)
	}
	if p.has("json") {
		return writeJSON(env, predictJSON{
			Server: pr.Server, ServerChoice: pr.ServerChoice, Candidates: nonNil(pr.Candidates), Class: pr.Class, User: pr.User,
			Engine: pr.Engine, Refused: pr.Refused, Reason: pr.Why, RefusedWhy: pr.Why, RefusedAt: pr.RefusedAt, RefusedLine: pr.Line,
			Kept: pr.Kept.Hex(), Permitted: pr.Permitted.Hex(), Effective: pr.Effective.Hex(),
			Inheritable: pr.Inheritable.Hex(), Ambient: pr.Ambient.Hex(), Bounding: pr.Bounding.Hex(),
			UIDs:    uidsJSON{pr.UIDs[0], pr.UIDs[1], pr.UIDs[2]},
			Reasons: nonNil(pr.Reasons), Warnings: nonNil(pr.Warnings), Checked: checked,
		})
	}
	fmt.Fprint(env.Stdout, predictText(pr, checked))
	return nil
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

func predictText(pr modcap.Prediction, checked checkedJSON) string {
	var b strings.Builder
	server := pr.Server
	if server == "" {
		server = "none (the connection reaches no server)"
	}
	fmt.Fprintf(&b, "server:  %s\n", model.Printable(server))
	if pr.ServerChoice != "" {
		b.WriteString(hangWrap("chosen:  ", pr.ServerChoice))
	}
	for _, c := range pr.Candidates {
		b.WriteString(hangWrap("         ", "- "+c))
	}
	if pr.Refused {
		at := ""
		if pr.RefusedAt != "" {
			at = " at " + pr.RefusedAt
		}
		fmt.Fprintf(&b, "login refused%s:\n", at)
		b.WriteString(wrap(pr.Why, 78, "  "))
		if pr.Line != "" {
			fmt.Fprintf(&b, "deciding line: %s\n", model.Printable(pr.Line))
		}
		writeWhy(&b, pr)
		fmt.Fprintf(&b, "checked: by %s: %s\n", checked.By, model.Printable(checked.Note))
		return b.String()
	}
	if pr.User != "" {
		fmt.Fprintf(&b, "user:    %s\n", model.Printable(pr.User))
	}
	eng := "on"
	if !pr.Engine {
		eng = "off"
	}
	fmt.Fprintf(&b, "mod_cap: %s\n", eng)
	if pr.Engine {
		fmt.Fprintf(&b, "kept:    %s\n", pr.Kept)
	}
	row := func(label string, s capset.Set) {
		fmt.Fprintf(&b, "%s  %s  %s\n", label, s.Hex(), s)
	}
	row("CapPrm:", pr.Permitted)
	row("CapEff:", pr.Effective)
	row("CapInh:", pr.Inheritable)
	row("CapAmb:", pr.Ambient)
	fmt.Fprintf(&b, "CapBnd:  %s  unchanged from the master (%s)\n", pr.Bounding.Hex(), capset.Triple{Permitted: pr.Bounding}.String())
	fmt.Fprintf(&b, "uids:    real %d, effective %d, saved %d\n", pr.UIDs[0], pr.UIDs[1], pr.UIDs[2])
	writeWhy(&b, pr)
	fmt.Fprintf(&b, "checked: by %s: %s\n", checked.By, model.Printable(checked.Note))
	return b.String()
}

// hangWrap folds text after a label, the lines after the first under the
// text (escaped by wrap).
func hangWrap(label, text string) string {
	lines := strings.SplitAfter(wrap(text, 78-len(label), ""), "\n")
	var b strings.Builder
	for i, ln := range lines {
		if ln == "" {
			continue
		}
		if i == 0 {
			b.WriteString(label + ln)
		} else {
			b.WriteString(strings.Repeat(" ", len(label)) + ln)
		}
	}
	return b.String()
}

// writeWhy prints the reasons and warnings.
func writeWhy(b *strings.Builder, pr modcap.Prediction) {
	if len(pr.Reasons) > 0 {
		b.WriteString("why:\n")
		for _, r := range pr.Reasons {
			b.WriteString(wrap("- "+r, 78, "  "))
		}
	}
	if len(pr.Warnings) > 0 {
		b.WriteString("warnings:\n")
		for _, w := range pr.Warnings {
			b.WriteString(wrap("! "+w, 78, "  "))
		}
	}
}

// masterSet is the master's permitted set: given, or this machine's
// bounding set (a root master holds it).
func masterSet(env Env, given string) (capset.Set, error) {
	if given != "" {
		s, err := capset.Parse(given)
		if err != nil {
			return 0, usagef("--master-set: %v", shortErr(err, given))
		}
		return s, nil
	}
	f, err := os.Open(filepath.Join(env.ProcRoot, "self", "status"))
	if err == nil {
		defer f.Close()
		sc := bufio.NewScanner(f)
		for sc.Scan() {
			if v, ok := strings.CutPrefix(sc.Text(), "CapBnd:"); ok {
				if s, err := capset.ParseHex(strings.TrimSpace(v)); err == nil {
					return s, nil
				}
			}
		}
	}
	last, err := capset.LastCap(env.ProcRoot)
	if err != nil {
		return capset.Upto(capset.NamedCount), nil
	}
	return capset.KnownSet(last), nil
}

// predictLogin builds the login from --user/--group/--class/--root-login;
// the note says what was assumed. A named user is looked up as proftpd
// does, through the configuration's auth modules (modcap.Predict with
// Input.Users); --root-login takes uid 0 as given.
func predictLogin(p parsed) (modcap.Login, string) {
	l := modcap.Login{Groups: p.all("group"), Class: p.get("class")}
	name := p.get("user")
	switch {
	case p.has("root-login"):
		if name == "" {
			name = "root"
		}
		l.User, l.UID, l.UIDKnown, l.AssumeRootLogin = name, 0, true, true
		return l, ""
	case name == "":
		l.User, l.UID, l.UIDKnown = "", 1000, true
		return l, "no --user: the login is a non-root user (uid 1000 assumed) that no <IfUser> names"
	}
	l.User, l.UID = name, 1000
	return l, ""
}
