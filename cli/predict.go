package cli

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"

	"captune/capset"
	"captune/capset/modcap"
	"captune/launch/proftpd"
	"captune/model"
)

var predictFlags = []flagSpec{
	{name: "config", value: true, arg: "FILE", help: "proftpd configuration to read (default: none, the built-in defaults)"},
	{name: "user", value: true, arg: "NAME", help: "login user (default: a non-root user)"},
	{name: "group", value: true, multi: true, arg: "NAME", help: "a group of the user, for <IfGroup> (repeatable)"},
	{name: "class", value: true, arg: "NAME", help: "the connection's <Class>, for <IfClass>"},
	{name: "root-login", help: "the login is root (uid 0); RootLogin on is assumed unless the configuration says off"},
	{name: "vhost", value: true, arg: "ADDR", help: "the address the connection reaches (selects the <VirtualHost>)"},
	{name: "no-pam", help: "mod_auth_pam is not loaded"},
	{name: "master-set", value: true, arg: "SET", help: "the master's permitted/bounding set (default: this machine's bounding set)"},
	{name: "proftpd", value: true, arg: "PATH", help: "proftpd binary for the -t check (default: found in PATH)"},
	{name: "json", help: "print one JSON object"},
	{name: "help", help: "show this help"},
}

type predictJSON struct {
	Server      string      `json:"server"`
	Engine      bool        `json:"engine"`
	Refused     bool        `json:"refused"`
	RefusedWhy  string      `json:"refused_why,omitempty"`
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

func runPredict(env Env, args []string) error {
	p, err := parseArgs("predict", args, predictFlags)
	if err != nil {
		return err
	}
	if p.has("help") {
		fmt.Fprint(env.Stdout, helpText("predict", "[--config FILE] [--user NAME] [--group NAME]... [--root-login] [--vhost ADDR] [--no-pam] [+CAP_X|-CAP_X ...] [--json]",
			"Predicts what an FTP session process holds after login: CapPrm, CapEff, CapInh,\nCapAmb, CapBnd and its uids, with the reason for each point. Tokens act as the\nfirst CapabilitiesSet line of the selected server (\"what if\").\n\n"+capset.SetSyntax,
			predictFlags, "  captune predict\n  captune predict --config /etc/proftpd/proftpd.conf --user alice\n  captune predict -CAP_SETUID --json\n"))
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
	in := modcap.Input{MasterPermitted: master, MasterBounding: master, Extra: extra}
	checked := checkedJSON{By: "captune", Note: "no configuration file: proftpd's built-in defaults"}
	proftpdBin := p.get("proftpd")
	if path := p.get("config"); path != "" {
		abs, _ := filepath.Abs(path)
		opt := modcap.Options{}
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
			checked = checkedJSON{By: "proftpd -t", Note: "proftpd -t accepted every directive; captune checked mod_cap's"}
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
	login, note := lookupLogin(p)
	in.Login = login
	pr := modcap.Predict(in)
	if note != "" {
		pr.Reasons = append([]string{note}, pr.Reasons...)
	}
	if p.has("json") {
		return writeJSON(env, predictJSON{
			Server: pr.Server, Engine: pr.Engine, Refused: pr.Refused, RefusedWhy: pr.Why,
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
	fmt.Fprintf(&b, "server:  %s\n", model.Printable(pr.Server))
	if pr.Refused {
		fmt.Fprintf(&b, "login:   refused: %s\n", model.Printable(pr.Why))
		return b.String()
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
	fmt.Fprintf(&b, "checked: by %s: %s\n", checked.By, model.Printable(checked.Note))
	return b.String()
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

// lookupLogin builds the login from --user/--group/--root-login; the note
// says what was assumed.
func lookupLogin(p parsed) (modcap.Login, string) {
	l := modcap.Login{Groups: p.all("group"), Class: p.get("class"), Addr: p.get("vhost")}
	name := p.get("user")
	switch {
	case p.has("root-login"):
		if name == "" {
			name = "root"
		}
		l.User, l.UID, l.UIDKnown, l.AssumeRootLogin = name, 0, true, true
		return l, ""
	case name == "":
		l.User, l.UID = "", 1000
		return l, "no --user: the login is a non-root user (uid 1000 assumed) that no <IfUser> names"
	}
	l.User = name
	u, err := user.Lookup(name)
	if err != nil {
		l.UID = 1000
		return l, fmt.Sprintf("user %q is not known to this machine: assumed non-root (uid 1000)", clip(name))
	}
	uid, _ := strconv.ParseUint(u.Uid, 10, 32)
	l.UID, l.UIDKnown = uint32(uid), true
	if len(l.Groups) == 0 {
		if ids, err := u.GroupIds(); err == nil {
			for _, id := range ids {
				if g, err := user.LookupGroupId(id); err == nil {
					l.Groups = append(l.Groups, g.Name)
				}
			}
		}
	}
	return l, ""
}
