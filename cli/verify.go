package cli

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"

	"captune/capset"
	"captune/capset/modcap"
	"captune/launch"
	"captune/launch/proftpd"
	"captune/model"
)

// exitInterrupted is verify's exit code after SIGINT or SIGTERM (128 +
// SIGINT, as shells report it): the run was stopped and cleaned up.
const exitInterrupted = 130

var verifyFlags = []flagSpec{
	{name: "config", value: true, arg: "FILE", help: "proftpd configuration to run whole (default: none, captune's own server with the tokens' line)"},
	{name: "user", value: true, arg: "NAME", help: "login user (default captune; with --config whoever the file's user databases find, else a virtual user, uid " + fmt.Sprint(proftpd.VirtualID) + ")"},
	{name: "connect", value: true, arg: "ADDR[:PORT]", help: "with --config: where the client connects (default: the main server's address and port)"},
	{name: "client", value: true, arg: "ADDR", help: "with --config: the client's own address, for <Class> (default 127.0.0.1)"},
	{name: "host", value: true, arg: "NAME[,NAME...]", help: "with --config: names to send with HOST before USER, in order"},
	{name: "proftpd", value: true, arg: "PATH", help: "proftpd binary (default: found in PATH)"},
	{name: "json", help: "print one JSON object"},
	{name: "help", help: "show this help"},
}

const verifyAbout = `Runs a configuration on a real, throwaway proftpd, logs in, and compares the
session process it makes with captune's prediction for the same
configuration, login and master.

With --config FILE the whole file runs, as proftpd reads it (Include,
<IfModule> and <IfDefine> resolved): every <VirtualHost>, <Global>, <Class>,
<Directory>, <IfUser>/<IfGroup>/<IfClass>/<IfAuthenticated> and <Limit>
stays. verify changes only what a throwaway run must, and lists each change:
PidFile, ScoreboardFile, DelayTable, ControlsSocket and every log go into
its private folder (replaced wherever they appear, added where a server has
none, since proftpd's defaults are the real server's files); WtmpLog and
UseLastlog are off; AuthOrder starts with a private AuthUserFile, a copy of
the file's own with the login's password set (the system's user database
follows, so UserOwner targets and <IfGroup> resolve as in production). The
login is whoever the file's user databases find: its AuthUserFile, then this
machine's accounts (used with their uid, gid, groups, home and shell; nothing
of the machine's is changed), else a virtual user; the prediction looks the
user up in the same files and consults the same /etc/ftpusers, /etc/shells
and /etc/hosts as the run's proftpd. UseFtpUsers, RootLogin, Port and
addresses are never changed: proftpd runs in a private network of its own
(loopback, with the file's addresses added), where the client connects to
--connect (default: the main server's address and port) from --client,
sending --host names first. A file whose effects a run cannot
contain (mod_exec commands, mod_sql, mod_ldap, mod_radius, TLS or SFTP,
ServerType inetd, a module captune does not know) is refused with the
reason (exit 3). The tokens, with --config, become every server's first
CapabilitiesSet.

Without --config, the tokens' CapabilitiesSet line (or nothing: proftpd's
defaults) runs on a server of captune's own: a virtual login user in an
AuthUserFile (a name this machine knows keeps its ids), no logs, /etc/ftpusers
not consulted.

Everything lives in a private temporary folder in $TMPDIR/captune-0 (/tmp
when not every user may pass through TMPDIR, since the login user must reach
its home). captune starts proftpd -n, logs in over FTP, reads the session's
/proc/PID/status, quits, stops proftpd and removes the folder, also on errors
and on SIGINT/SIGTERM (exit 130); captune's janitor kills the throwaway
proftpd and its sessions and removes the folder even when captune is killed,
and every run sweeps leftovers of dead runs. Every step (proftpd -t, -l, -v,
the start, the login, the read-back) is bounded in time and stops at SIGINT
or SIGTERM.

Needs root (proftpd switches to the login user only when started as root) and
proftpd (apt-get install proftpd-core).
exit codes: 0 match, 1 the session differs from the prediction, 2 bad input or
a configuration proftpd rejects, 3 proftpd missing, proftpd -t killed or out
of time, no safe private folder or private network, or a configuration verify
cannot run faithfully, 4 not root, 130 stopped by SIGINT or SIGTERM (after
cleaning up).`

type verifyChangeJSON struct {
	Where     string `json:"where"`
	Server    string `json:"server"`
	Directive string `json:"directive"`
	Was       string `json:"was"`
	Now       string `json:"now"`
	Why       string `json:"why"`
}

type verifySetsJSON struct {
	Refused bool `json:"refused"`
	// RefusedAt and Why say where and why the login was refused.
	RefusedAt   string   `json:"refused_at,omitempty"`
	Why         string   `json:"why,omitempty"`
	Permitted   string   `json:"permitted"`
	Effective   string   `json:"effective"`
	Inheritable string   `json:"inheritable"`
	Ambient     string   `json:"ambient"`
	Bounding    string   `json:"bounding"`
	UIDs        uidsJSON `json:"uids"`
}

type verifyJSON struct {
	ProftpdVersion string             `json:"proftpd_version"`
	Proftpd        string             `json:"proftpd"`
	User           string             `json:"user"`
	UID            uint32             `json:"uid"`
	Groups         []string           `json:"groups"`
	Account        string             `json:"account"`
	Directives     string             `json:"directives"`
	Config         string             `json:"config"`
	Connect        string             `json:"connect"`
	Client         string             `json:"client"`
	Hosts          []string           `json:"hosts"`
	NetAddresses   []string           `json:"network_addresses"`
	Changes        []verifyChangeJSON `json:"changes"`
	Notes          []string           `json:"notes"`
	MasterPID      int                `json:"master_pid"`
	SessionPID     int                `json:"session_pid"`
	Transcript     []string           `json:"transcript"`
	Predicted      verifySetsJSON     `json:"predicted"`
	Observed       verifySetsJSON     `json:"observed"`
	Match          bool               `json:"match"`
	Differences    []string           `json:"differences"`
}

func runVerify(env Env, args []string) error {
	p, err := parseArgs("verify", args, verifyFlags)
	if err != nil {
		return err
	}
	if p.has("help") {
		fmt.Fprint(env.Stdout, helpText("verify", "[--config FILE [--connect ADDR[:PORT]] [--client ADDR] [--host NAME,...]] [--user NAME] [+CAP_X|-CAP_X ...] [--json] [--proftpd PATH]", verifyAbout, verifyFlags,
			"  sudo captune verify\n  sudo captune verify -CAP_SETUID\n  sudo captune verify --config /etc/proftpd/proftpd.conf --user alice --json\n  sudo captune verify --config ftp.conf --connect 192.0.2.7:2121 --host files.example\n"))
		return nil
	}
	tokens, err := parseTokens("verify", p.pos)
	if err != nil {
		return err
	}
	if _, err := proftpd.NewAccount(p.get("user")); err != nil {
		return usagef("verify: --user: %v", err)
	}
	path := p.get("config")
	var hosts []string
	if h := p.get("host"); h != "" {
		for _, n := range strings.Split(h, ",") {
			if n = strings.TrimSpace(n); n == "" || strings.ContainsAny(n, " \t\r\n") {
				return usagef("verify: --host %q: give names separated by commas", clip(h))
			}
			hosts = append(hosts, n)
		}
	}
	if path == "" {
		for _, f := range []string{"connect", "client", "host"} {
			if p.has(f) {
				return usagef("verify: --%s needs --config: captune's own server has one address", f)
			}
		}
	}
	bin, err := proftpd.FindBinary(p.get("proftpd"))
	if err != nil {
		return fail(ExitMissing, "verify: %v", err)
	}
	if os.Geteuid() != 0 {
		return fail(ExitPrivilege, "verify: %v", proftpd.ErrNotRoot)
	}
	if err := launch.CheckPlace(""); err != nil {
		return fail(ExitMissing, "verify: %v", err)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	spec := proftpd.Spec{Bin: bin, User: p.get("user"), ProcRoot: env.ProcRoot}
	if path != "" {
		cfg, err := verifyConfig(ctx, env, bin, path)
		if err != nil {
			return err
		}
		spec.Config, spec.Tokens = cfg, tokens
		spec.Connect, spec.Client, spec.Hosts = p.get("connect"), p.get("client"), hosts
	} else {
		spec.Directives = proftpd.TokenDirectives(tokens)
	}
	rep, err := proftpd.Verify(ctx, spec)
	if err == nil {
		err = ctx.Err()
	}
	var ce *proftpd.ConfigError
	if path != "" && errors.As(err, &ce) && ctx.Err() == nil {
		return usagef("verify: proftpd -t rejects %s: %s", clip(path), ce.Message)
	}
	if err != nil {
		return verifyError(ctx, err)
	}
	if p.has("json") {
		if err := writeJSON(env, verifyJSONOf(rep)); err != nil {
			return err
		}
		if !rep.Match {
			return fail(ExitDiffer, "")
		}
		return nil
	}
	known := capset.Upto(capset.NamedCount)
	if last, err := capset.LastCap(env.ProcRoot); err == nil {
		known = capset.KnownSet(last)
	}
	fmt.Fprint(env.Stdout, verifyText(rep, known))
	if !rep.Match {
		return fail(ExitDiffer, "verify: the session process differs from the prediction (%d difference(s))", len(rep.Differences))
	}
	return nil
}

// verifyConfig reads a configuration as predict does. proftpd -t judges
// the copy that runs, never the file itself: proftpd -t opens the file's
// logs, creates its DelayTable and replaces its control socket.
func verifyConfig(ctx context.Context, env Env, bin, path string) (*modcap.Config, error) {
	abs, _ := filepath.Abs(path)
	opt := modcap.Options{}
	mods, err := proftpd.ModulesContext(ctx, bin)
	if ctx.Err() != nil {
		return nil, verifyError(ctx, ctx.Err())
	}
	if err == nil {
		opt.Modules = mods
	}
	cfg, err := readConfig(ctx, abs, opt)
	if ctx.Err() != nil {
		return nil, verifyError(ctx, ctx.Err())
	}
	if err != nil {
		var ce *modcap.Error
		if errors.As(err, &ce) {
			return nil, usagef("verify: %s", ce.Error())
		}
		return nil, usagef("verify: %s: %v", clip(path), err)
	}
	// Warnings go with a result; a refusal is its one line alone.
	for _, w := range cfg.Warnings {
		fmt.Fprintf(env.Stderr, "captune: warning: %s\n", oneLine(w.String()))
	}
	return cfg, nil
}

// readConfig reads a configuration the way predict does, but returns as
// soon as ctx is done, whatever the read is blocked on (the read itself
// is then abandoned; captune is about to exit).
func readConfig(ctx context.Context, path string, opt modcap.Options) (*modcap.Config, error) {
	type result struct {
		cfg *modcap.Config
		err error
	}
	ch := make(chan result, 1)
	go func() {
		cfg, err := modcap.ReadFile(path, opt)
		ch <- result{cfg, err}
	}()
	select {
	case r := <-ch:
		return r.cfg, r.err
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

// verifyError maps a run's error to its exit code.
func verifyError(ctx context.Context, err error) error {
	var ce *proftpd.ConfigError
	var me *modcap.Error
	var ue *proftpd.UnfaithfulError
	switch {
	case ctx.Err() != nil || errors.Is(err, context.Canceled):
		return fail(exitInterrupted, "verify: interrupted: the throwaway proftpd was stopped and its files removed")
	case errors.Is(err, proftpd.ErrNotInstalled), errors.Is(err, proftpd.ErrIncomplete),
		errors.Is(err, launch.ErrUnsafePlace), errors.Is(err, launch.ErrJanitor), errors.Is(err, proftpd.ErrNoNetNS):
		return fail(ExitMissing, "verify: %v", err)
	case errors.As(err, &ue):
		return fail(ExitMissing, "verify: %v", err)
	case errors.Is(err, proftpd.ErrNotRoot):
		return fail(ExitPrivilege, "verify: %v", err)
	case errors.Is(err, proftpd.ErrBadUser):
		return usagef("verify: --user: %v", err)
	case proftpd.IsUsage(err):
		return usagef("verify: %v", err)
	case errors.As(err, &me):
		return usagef("verify: %s", me.Error())
	case errors.As(err, &ce):
		return usagef("verify: %s", ce.Error())
	}
	return fmt.Errorf("verify: %w", err)
}

func verifyJSONOf(rep proftpd.Report) verifyJSON {
	pr, ob := rep.Predicted, rep.Observed
	v := verifyJSON{
		ProftpdVersion: rep.Version, Proftpd: rep.Bin, User: rep.Account.Name, UID: rep.Account.UID,
		Groups: nonNil(rep.Account.Groups), Account: rep.Account.Source,
		Directives: rep.Directives, Config: rep.Source, Connect: rep.Target.String(), Client: rep.Client.String(),
		Hosts: nonNil(rep.Hosts), NetAddresses: []string{}, Changes: []verifyChangeJSON{}, Notes: nonNil(rep.Notes),
		MasterPID: rep.MasterPID, SessionPID: ob.PID, Transcript: nonNil(ob.Transcript),
		Predicted: verifySetsJSON{Refused: pr.Refused, RefusedAt: pr.RefusedAt, Why: pr.Why, Permitted: pr.Permitted.Hex(), Effective: pr.Effective.Hex(), Inheritable: pr.Inheritable.Hex(),
			Ambient: pr.Ambient.Hex(), Bounding: pr.Bounding.Hex(), UIDs: uidsJSON{pr.UIDs[0], pr.UIDs[1], pr.UIDs[2]}},
		Observed: verifySetsJSON{Refused: ob.Refused, RefusedAt: ob.At, Permitted: ob.Permitted.Hex(), Effective: ob.Effective.Hex(), Inheritable: ob.Inheritable.Hex(),
			Ambient: ob.Ambient.Hex(), Bounding: ob.Bounding.Hex(), UIDs: uidsJSON{ob.UIDs[0], ob.UIDs[1], ob.UIDs[2]}},
		Match: rep.Match, Differences: nonNil(rep.Differences),
	}
	if ob.Refused {
		v.Observed.Why = ob.Reply
	}
	for _, a := range rep.NetAddrs {
		v.NetAddresses = append(v.NetAddresses, a.String())
	}
	for _, c := range rep.Changes {
		where := ""
		if c.Pos.Line > 0 {
			where = c.Pos.String()
		}
		v.Changes = append(v.Changes, verifyChangeJSON{Where: where, Server: c.Server, Directive: c.Directive, Was: c.Was, Now: c.Now, Why: c.Why})
	}
	return v
}

func verifyText(rep proftpd.Report, known capset.Set) string {
	var b strings.Builder
	line := func(format string, a ...any) {
		b.WriteString(strings.TrimRight(fmt.Sprintf(format, a...), " ") + "\n")
	}
	esc := model.Printable
	line("proftpd: %s (%s), master PID %d (CapPrm %s)", esc(rep.Version), esc(rep.Bin), rep.MasterPID, rep.MasterPermitted.Hex())
	who := rep.Account.Source
	if rep.Source == "" {
		who = "not known to this machine: a virtual user"
		if rep.Account.System {
			who = "a user of this machine; only its ids were used"
		}
	}
	line("login:   %s, uid %d (%s), groups %s", esc(rep.Account.Name), rep.Account.UID, esc(who), esc(strings.Join(rep.Account.Groups, ",")))
	if rep.Source != "" {
		line("config:  %s, run whole with %d change(s)", esc(rep.Source), len(rep.Changes))
		hosts := ""
		if len(rep.Hosts) > 0 {
			hosts = ", HOST " + esc(strings.Join(rep.Hosts, ", HOST "))
		}
		line("connect: %s from %s%s", rep.Target, rep.Client, hosts)
		net := "a private network: loopback"
		if len(rep.NetAddrs) > 0 {
			var as []string
			for _, a := range rep.NetAddrs {
				as = append(as, a.String())
			}
			net += " with " + strings.Join(as, ", ") + " added"
		}
		line("network: %s; no address or port of the file changed", net)
		line("changes:")
		for _, c := range rep.Changes {
			where := "added to " + c.Server
			if c.Pos.Line > 0 {
				where = c.Pos.String()
			}
			was := ""
			if c.Was != "" {
				was = c.Was + " -> "
			}
			b.WriteString(wrap(fmt.Sprintf("- %s: %s%s (%s)", where, was, c.Now, c.Why), 78, "  "))
		}
		for _, n := range rep.Notes {
			b.WriteString(wrap("! "+n, 78, "  "))
		}
	} else if strings.TrimSpace(rep.Directives) == "" {
		line("tested:  no directives: proftpd's defaults")
	} else {
		line("tested:")
		for _, ln := range strings.Split(strings.TrimRight(rep.Directives, "\n"), "\n") {
			line("  %s", esc(ln))
		}
	}
	pr, ob := rep.Predicted, rep.Observed
	line("")
	switch {
	case pr.Refused || ob.Refused:
		line("predicted: %s", esc(refusedWord(pr.Refused, pr.RefusedAt, pr.Why)))
		line("observed:  %s", esc(refusedWord(ob.Refused, ob.At, ob.Reply)))
		if !ob.Refused {
			line("observed session (PID %d): CapPrm %s, CapEff %s", ob.PID, ob.Permitted.Hex(), ob.Effective.Hex())
		}
	default:
		line("%-8s %-18s %-18s", "", "predicted", fmt.Sprintf("observed (PID %d)", ob.PID))
		row := func(label string, p, o capset.Set) {
			words := model.SetWords(o, known)
			if p != o {
				words = "differs: " + words
			}
			line("%-8s %-18s %-18s %s", label, p.Hex(), o.Hex(), words)
		}
		row("CapPrm:", pr.Permitted, ob.Permitted)
		row("CapEff:", pr.Effective, ob.Effective)
		row("CapInh:", pr.Inheritable, ob.Inheritable)
		row("CapAmb:", pr.Ambient, ob.Ambient)
		row("CapBnd:", pr.Bounding, ob.Bounding)
		line("%-8s %-18s %-18s real/effective/saved", "uids:", uidString(pr.UIDs), uidString(ob.UIDs))
	}
	line("")
	if rep.Match {
		line("match: proftpd did what captune predicts")
		return b.String()
	}
	line("DIFFERS:")
	for _, d := range rep.Differences {
		b.WriteString(wrap("- "+d, 78, "  "))
	}
	return b.String()
}

func refusedWord(refused bool, at, why string) string {
	if !refused {
		return "logged in"
	}
	if at != "" {
		return "login refused at " + at + ": " + why
	}
	return "login refused: " + why
}

func uidString(u [3]uint32) string { return fmt.Sprintf("%d/%d/%d", u[0], u[1], u[2]) }
