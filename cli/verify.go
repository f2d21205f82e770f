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
	{name: "config", value: true, arg: "FILE", help: "proftpd configuration whose mod_cap lines to test (default: none, the built-in defaults)"},
	{name: "user", value: true, arg: "NAME", help: "login user (default captune; uid " + fmt.Sprint(proftpd.VirtualID) + " unless this machine knows the name)"},
	{name: "proftpd", value: true, arg: "PATH", help: "proftpd binary (default: found in PATH)"},
	{name: "json", help: "print one JSON object"},
	{name: "help", help: "show this help"},
}

const verifyAbout = `Runs the directives under test on a real, throwaway proftpd and compares the
session process it makes with captune's prediction. The directives are the
tokens' CapabilitiesSet line, or the lines of --config that decide a login's
capabilities (mod_cap's, RootRevoke, RootLogin, UserOwner, LoadModule,
<IfUser>/<IfGroup>/<IfClass>, <Global>; <VirtualHost> sections are left out),
or nothing (proftpd's defaults).

captune writes them with a server of its own into a private temporary folder:
loopback 127.0.0.1 on a free port, its own pid and scoreboard files, no logs,
and a virtual login user in an AuthUserFile (no system account is created or
changed; /etc/ftpusers is not consulted). It starts proftpd -n, logs in over FTP, reads the session's
/proc/PID/status, quits, stops proftpd and removes the folder, also on errors
and on SIGINT/SIGTERM (exit 130).

The folder is a private folder in $TMPDIR/captune-0 (/tmp when not every
user may pass through TMPDIR, since the login user must reach its home);
captune's janitor kills the throwaway proftpd and its sessions and removes
the folder even when captune is killed, and every run sweeps leftovers of
dead runs. Every step (proftpd -t, -l, -v, the start, the login, the
read-back) is bounded in time and stops at SIGINT or SIGTERM.

Needs root (proftpd switches to the login user only when started as root) and
proftpd (apt-get install proftpd-core).
exit codes: 0 match, 1 the session differs from the prediction, 2 bad input or
a configuration proftpd rejects, 3 proftpd missing, or proftpd -t killed or
out of time, or no safe private folder, 4 not root, 130 stopped by SIGINT or
SIGTERM (after cleaning up).`

type verifySetsJSON struct {
	Refused     bool     `json:"refused"`
	Permitted   string   `json:"permitted"`
	Effective   string   `json:"effective"`
	Inheritable string   `json:"inheritable"`
	Ambient     string   `json:"ambient"`
	Bounding    string   `json:"bounding"`
	UIDs        uidsJSON `json:"uids"`
}

type verifyJSON struct {
	ProftpdVersion string         `json:"proftpd_version"`
	Proftpd        string         `json:"proftpd"`
	User           string         `json:"user"`
	UID            uint32         `json:"uid"`
	Directives     string         `json:"directives"`
	MasterPID      int            `json:"master_pid"`
	SessionPID     int            `json:"session_pid"`
	Predicted      verifySetsJSON `json:"predicted"`
	Observed       verifySetsJSON `json:"observed"`
	Match          bool           `json:"match"`
	Differences    []string       `json:"differences"`
}

func runVerify(env Env, args []string) error {
	p, err := parseArgs("verify", args, verifyFlags)
	if err != nil {
		return err
	}
	if p.has("help") {
		fmt.Fprint(env.Stdout, helpText("verify", "[--config FILE] [--user NAME] [+CAP_X|-CAP_X ...] [--json] [--proftpd PATH]", verifyAbout, verifyFlags,
			"  sudo captune verify\n  sudo captune verify -CAP_SETUID\n  sudo captune verify --config /etc/proftpd/proftpd.conf --user alice --json\n"))
		return nil
	}
	tokens, err := parseTokens("verify", p.pos)
	if err != nil {
		return err
	}
	if _, err := proftpd.NewAccount(p.get("user")); err != nil {
		return usagef("verify: --user: %v", err)
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
	directives := proftpd.TokenDirectives(tokens)
	if path := p.get("config"); path != "" {
		d, err := verifyConfig(ctx, env, bin, path)
		if err != nil {
			return err
		}
		directives += d
	}
	rep, err := proftpd.Verify(ctx, proftpd.Spec{Bin: bin, Directives: directives, User: p.get("user"), ProcRoot: env.ProcRoot})
	if err == nil {
		err = ctx.Err()
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

// verifyConfig reads a configuration as predict does (proftpd -t judges
// it first) and returns its decisive lines.
func verifyConfig(ctx context.Context, env Env, bin, path string) (string, error) {
	abs, _ := filepath.Abs(path)
	opt := modcap.Options{}
	mods, err := proftpd.ModulesContext(ctx, bin)
	if ctx.Err() != nil {
		return "", verifyError(ctx, ctx.Err())
	}
	if err == nil {
		opt.Modules = mods
	}
	cfg, err := readConfig(ctx, abs, opt)
	if ctx.Err() != nil {
		return "", verifyError(ctx, ctx.Err())
	}
	if err != nil {
		var ce *modcap.Error
		if errors.As(err, &ce) {
			return "", usagef("verify: %s", ce.Error())
		}
		return "", usagef("verify: %s: %v", clip(path), err)
	}
	if err := proftpd.Check(ctx, bin, abs); err != nil {
		var ce *proftpd.ConfigError
		if errors.As(err, &ce) && ctx.Err() == nil {
			return "", usagef("verify: proftpd -t rejects %s: %s", clip(path), ce.Message)
		}
		return "", verifyError(ctx, err)
	}
	// Warnings go with a result; a refusal is its one line alone.
	for _, w := range cfg.Warnings {
		fmt.Fprintf(env.Stderr, "captune: warning: %s\n", oneLine(w.String()))
	}
	return proftpd.Decisive(cfg), nil
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
	switch {
	case ctx.Err() != nil || errors.Is(err, context.Canceled):
		return fail(exitInterrupted, "verify: interrupted: the throwaway proftpd was stopped and its files removed")
	case errors.Is(err, proftpd.ErrNotInstalled), errors.Is(err, proftpd.ErrIncomplete),
		errors.Is(err, launch.ErrUnsafePlace), errors.Is(err, launch.ErrJanitor):
		return fail(ExitMissing, "verify: %v", err)
	case errors.Is(err, proftpd.ErrNotRoot):
		return fail(ExitPrivilege, "verify: %v", err)
	case errors.Is(err, proftpd.ErrBadUser):
		return usagef("verify: --user: %v", err)
	case errors.As(err, &ce):
		return usagef("verify: %s", ce.Error())
	}
	return fmt.Errorf("verify: %w", err)
}

func verifyJSONOf(rep proftpd.Report) verifyJSON {
	pr, ob := rep.Predicted, rep.Observed
	return verifyJSON{
		ProftpdVersion: rep.Version, Proftpd: rep.Bin, User: rep.Account.Name, UID: rep.Account.UID,
		Directives: rep.Directives, MasterPID: rep.MasterPID, SessionPID: ob.PID,
		Predicted: verifySetsJSON{Refused: pr.Refused, Permitted: pr.Permitted.Hex(), Effective: pr.Effective.Hex(), Inheritable: pr.Inheritable.Hex(),
			Ambient: pr.Ambient.Hex(), Bounding: pr.Bounding.Hex(), UIDs: uidsJSON{pr.UIDs[0], pr.UIDs[1], pr.UIDs[2]}},
		Observed: verifySetsJSON{Refused: ob.Refused, Permitted: ob.Permitted.Hex(), Effective: ob.Effective.Hex(), Inheritable: ob.Inheritable.Hex(),
			Ambient: ob.Ambient.Hex(), Bounding: ob.Bounding.Hex(), UIDs: uidsJSON{ob.UIDs[0], ob.UIDs[1], ob.UIDs[2]}},
		Match: rep.Match, Differences: nonNil(rep.Differences),
	}
}

func verifyText(rep proftpd.Report, known capset.Set) string {
	var b strings.Builder
	line := func(format string, a ...any) {
		b.WriteString(strings.TrimRight(fmt.Sprintf(format, a...), " ") + "\n")
	}
	line("proftpd: %s (%s), master PID %d (CapPrm %s)", rep.Version, rep.Bin, rep.MasterPID, rep.MasterPermitted.Hex())
	who := "not known to this machine: a virtual user"
	if rep.Account.System {
		who = "a user of this machine; only its ids were used"
	}
	line("login:   %s, uid %d (%s)", rep.Account.Name, rep.Account.UID, who)
	if strings.TrimSpace(rep.Directives) == "" {
		line("tested:  no directives: proftpd's defaults")
	} else {
		line("tested:")
		for _, ln := range strings.Split(strings.TrimRight(rep.Directives, "\n"), "\n") {
			line("  %s", ln)
		}
	}
	pr, ob := rep.Predicted, rep.Observed
	line("")
	switch {
	case pr.Refused || ob.Refused:
		line("predicted: %s", refusedWord(pr.Refused, pr.Why))
		line("observed:  %s", refusedWord(ob.Refused, ob.Reply))
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

func refusedWord(refused bool, why string) string {
	if refused {
		return "login refused: " + why
	}
	return "logged in"
}

func uidString(u [3]uint32) string { return fmt.Sprintf("%d/%d/%d", u[0], u[1], u[2]) }
