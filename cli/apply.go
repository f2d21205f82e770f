package cli

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/charmbracelet/x/term"

	"captune/capset"
	"captune/capset/modcap"
	"captune/launch"
	"captune/procscan"
)

var applyFlags = []flagSpec{
	{name: "yes", help: "do not ask for confirmation"},
	{name: "json", help: "print one JSON object on standard output (messages, and a command's standard output, go to standard error)"},
	{name: "keep", value: true, optional: true, arg: "[=DURATION]", help: "leave the daemon (or command) running, detached, for DURATION (default 10m) or until SIGTERM"},
	{name: "wait", help: "stay until SIGINT/SIGTERM or end of standard input, then stop the probe daemon"},
	{name: "uid", value: true, arg: "USER|UID", help: "the daemon's user (default nobody)"},
	{name: "mode", value: true, arg: "MODE", help: "modcap (default: emulate a proftpd session) or raw (any set, any command)"},
	{name: "set", value: true, arg: "SET", help: "raw mode: the exact set, as names, hex or libcap text"},
	{name: "config", value: true, arg: "FILE", help: "modcap mode: the proftpd configuration to predict from"},
	{name: "no-pam", help: "modcap mode: mod_auth_pam is not loaded"},
	{name: "help", help: "show this help"},
}

const applyAbout = `Applies a capability set to a test-spawned daemon through libcap, reads
the daemon's /proc back, compares each of the five sets with the plan, and
runs probes that show what the daemon can and cannot do (bind a low port,
chown, read or write another user's file, chmod it, set the setgid bit,
change uid and gid). The plan is shown first and confirmed (y/N) unless
--yes is given. The daemon stops when captune exits, even if captune is
killed, unless --keep is given.

modcap mode emulates a proftpd session process for the tokens or the
configuration: permitted and effective as predict says, inheritable and
ambient empty, bounding unchanged. raw mode gives exactly --set to the
built-in probe daemon or to -- COMMAND ARGS.

A command runs with captune's standard input, output and error (with
--json its standard output goes to standard error), as the foreground of
the terminal, with PATH and TERM as its environment. captune reads it back
as soon as its exec is done, then waits for it to end (ctrl+c and SIGTERM
stop it: SIGTERM, then SIGKILL after 2 s); what it left running in its
process group is killed. apply then exits with the command's status
(128+N when signal N killed it; JSON "command_exit"), or 1 when the
read-back differed. A command that ends before it can be read back is
reported as such, with its status. With --keep the command runs
detached, its standard streams on /dev/null.

Private folders (the probe daemon's) live in $TMPDIR/captune-EUID (/tmp
when not every user may pass through TMPDIR); captune's janitor removes
them, and stops what captune started, even when captune is killed, and
every run sweeps leftovers of dead runs.

Needs CAP_SETUID and CAP_SETGID to switch to the daemon's uid and gid
(unless --uid is captune's own), CAP_SETPCAP to narrow the bounding set and
hand over inheritable capabilities, and for the probe daemon CAP_CHOWN to
give the daemon's files their owners; never grants a capability outside
captune's own permitted and bounding sets. Exit 4 when captune lacks one
of these or the set goes beyond its own, 2 for bad input, 3 when the
daemon or its private folder could not be set up, 1 when the read-back
differs from the plan.`

type applyJSON struct {
	PID      int       `json:"pid"`
	UID      uint32    `json:"uid"`
	Mode     string    `json:"mode"`
	Intended setsJSON  `json:"intended"`
	Actual   *setsJSON `json:"actual"`
	UIDs     *uidsJSON `json:"uids"`
	// ReadBack is false when a command ended before it could be read.
	ReadBack    bool                `json:"read_back"`
	Match       bool                `json:"match"`
	Differences []string            `json:"differences"`
	Probes      []probeJSON         `json:"probes"`
	CommandExit *launch.CommandExit `json:"command_exit,omitempty"`
	Kept        *keptJSON           `json:"kept,omitempty"`
	Notes       []string            `json:"notes"`
}

type probeJSON struct {
	Name       string `json:"name"`
	Capability string `json:"capability"`
	Result     string `json:"result"`
	Errno      string `json:"errno"`
}

type keptJSON struct {
	Until string `json:"until"`
}

func launchSets(s launch.Sets) setsJSON {
	return setsJSON{s.Inheritable.Hex(), s.Permitted.Hex(), s.Effective.Hex(), s.Bounding.Hex(), s.Ambient.Hex()}
}

func runApply(env Env, args []string) error {
	p, err := parseArgs("apply", args, applyFlags)
	if err != nil {
		return err
	}
	if p.has("help") {
		fmt.Fprint(env.Stdout, helpText("apply", "[--yes] [--json] [--keep[=DURATION]] [--wait] [--uid USER|UID] [--mode modcap|raw] [--set SET] [--config FILE] [+CAP_X|-CAP_X ...] [-- COMMAND ARGS...]",
			applyAbout+"\n\n"+capset.SetSyntax, applyFlags, "  captune apply --yes -CAP_SETUID\n  captune apply --mode raw --set cap_net_bind_service --yes --json\n  captune apply --mode raw --set cap_net_raw --uid nobody --yes -- /bin/ping -c1 127.0.0.1\n"))
		return nil
	}
	plan, err := buildPlan(env, p, args)
	if err != nil {
		return err
	}
	sc, err := procscan.New(env.ProcRoot)
	if err != nil {
		return fail(ExitMissing, "apply: %v", err)
	}
	self, err := sc.Process(os.Getpid())
	if err != nil {
		return fail(ExitMissing, "apply: reading captune's own state: %v", err)
	}
	if err := plan.Check(self); err != nil {
		return launchError(err)
	}
	if len(plan.Command) == 0 {
		if err := launch.CheckPlace(""); err != nil {
			return fail(ExitMissing, "apply: %v", err)
		}
	}
	jsonOut := p.has("json")
	msgs := env.Stdout
	if jsonOut {
		msgs = env.Stderr
	}
	fmt.Fprint(msgs, plan.Preview())
	if !p.has("yes") {
		if err := confirm(env, msgs); err != nil {
			return err
		}
	}
	ctx, stop := signal.NotifyContext(contextBackground(), os.Interrupt, syscall.SIGTERM, syscall.SIGHUP)
	defer stop()
	opts := launch.Options{}
	if len(plan.Command) > 0 && plan.Keep == 0 {
		out := env.Stdout
		if jsonOut {
			out = env.Stderr
		}
		var closeIO func()
		opts.Stdin, opts.Stdout, opts.Stderr, closeIO, err = commandIO(env.Stdin, out, env.Stderr)
		if err != nil {
			return fail(ExitMissing, "apply: %v", err)
		}
		defer closeIO()
	}
	d, err := launch.Start(plan, opts)
	if err != nil {
		return launchError(err)
	}
	defer d.Stop()
	res, err := launch.ReadBack(sc, d, plan)
	readBack := err == nil
	if err != nil && !errors.Is(err, launch.ErrExited) {
		return fail(ExitMissing, "apply: %v", err)
	}
	out := applyJSON{PID: d.PID, UID: plan.UID, Mode: plan.Mode.String(), Intended: launchSets(plan.Target), ReadBack: readBack,
		Match: res.Match, Differences: nonNil(res.Differences), Probes: []probeJSON{}, Notes: nonNil(plan.Notes)}
	if readBack {
		a := launchSets(res.Actual)
		out.Actual, out.UIDs = &a, &uidsJSON{res.UIDs[0], res.UIDs[1], res.UIDs[2]}
	} else {
		out.Notes = append(out.Notes, launch.ErrExited.Error())
	}
	for _, pr := range res.Probes {
		out.Probes = append(out.Probes, probeJSON(pr))
	}
	if !jsonOut {
		if readBack {
			fmt.Fprint(env.Stdout, ApplyText(res))
		} else {
			fmt.Fprintf(env.Stdout, "\ncommand PID %d: %v\n", d.PID, launch.ErrExited)
		}
	}
	if d.Command && plan.Keep == 0 {
		return finishCommand(ctx, env, d, out, res, readBack, jsonOut)
	}
	if plan.Keep > 0 {
		out.Kept = &keptJSON{Until: time.Now().Add(plan.Keep).Format(time.RFC3339)}
	}
	if jsonOut {
		if err := writeJSONSynced(env, out); err != nil {
			return err
		}
	}
	switch {
	case plan.Keep > 0:
		d.ReadDone()
		what := "daemon"
		if d.Command {
			what = "command"
		}
		fmt.Fprintf(env.Stderr, "captune: %s %d keeps running, detached, until %s (or SIGTERM)\n", what, d.PID, time.Now().Add(plan.Keep).Format("15:04:05"))
	case p.has("wait"):
		fmt.Fprintf(env.Stderr, "captune: daemon %d is running; stop with ctrl+c, SIGTERM or end of input\n", d.PID)
		eof := make(chan struct{})
		go func() {
			if env.Stdin != nil {
				io.Copy(io.Discard, env.Stdin)
			}
			close(eof)
		}()
		select {
		case <-ctx.Done():
		case <-eof:
		}
		d.Stop()
		fmt.Fprintf(msgs, "daemon %d stopped\n", d.PID)
	default:
		d.Stop()
		if !jsonOut {
			fmt.Fprintf(env.Stdout, "daemon %d stopped\n", d.PID)
		}
	}
	if !res.Match {
		return fail(ExitDiffer, "apply: the read-back differs from the plan: %s", strings.Join(res.Differences, "; "))
	}
	return nil
}

// finishCommand waits for a raw-mode command to end (SIGINT, SIGTERM or
// SIGHUP to captune stop it), reports its end and returns captune's
// exit: the command's status, or 1 when the read-back differed.
func finishCommand(ctx context.Context, env Env, d *launch.Daemon, out applyJSON, res launch.Result, readBack, jsonOut bool) error {
	exit, err := d.Wait(ctx)
	d.Stop()
	if err != nil {
		return fail(ExitMissing, "apply: command PID %d: %v", d.PID, err)
	}
	out.CommandExit = &exit
	if jsonOut {
		if err := writeJSONSynced(env, out); err != nil {
			return err
		}
	} else {
		fmt.Fprintf(env.Stdout, "command PID %d %s\n", d.PID, exit)
	}
	if readBack && !res.Match {
		return fail(ExitDiffer, "apply: the read-back differs from the plan: %s", strings.Join(res.Differences, "; "))
	}
	return fail(exit.Status(), "")
}

func writeJSONSynced(env Env, v any) error {
	if err := writeJSON(env, v); err != nil {
		return err
	}
	if f, ok := env.Stdout.(*os.File); ok {
		f.Sync()
	}
	return nil
}

// launchError maps a refusal or a failed launch to its exit code.
func launchError(err error) error {
	var r *launch.Refusal
	switch {
	case errors.As(err, &r) && r.Privilege:
		return fail(ExitPrivilege, "apply: %v", err)
	case errors.As(err, &r):
		return usagef("apply: %v", err)
	}
	return fail(ExitMissing, "apply: %v", err)
}

// commandIO gives a raw-mode command captune's standard input, output
// and error as files: a writer or reader that is not a file (in tests) is
// bridged by a pipe, which closeIO closes and drains.
func commandIO(in io.Reader, out, errw io.Writer) (stdin, stdout, stderr *os.File, closeIO func(), err error) {
	var closers []func()
	closeIO = func() {
		for _, c := range closers {
			c()
		}
	}
	if f, ok := in.(*os.File); ok {
		stdin = f
	}
	bridge := func(w io.Writer) (*os.File, error) {
		if f, ok := w.(*os.File); ok {
			return f, nil
		}
		r, wf, err := os.Pipe()
		if err != nil {
			return nil, err
		}
		done := make(chan struct{})
		go func() {
			io.Copy(w, r)
			r.Close()
			close(done)
		}()
		closers = append(closers, func() { wf.Close(); <-done })
		return wf, nil
	}
	if stdout, err = bridge(out); err != nil {
		closeIO()
		return nil, nil, nil, nil, err
	}
	if stderr, err = bridge(errw); err != nil {
		closeIO()
		return nil, nil, nil, nil, err
	}
	return stdin, stdout, stderr, closeIO, nil
}

// buildPlan turns the command line into a plan; nothing runs yet.
func buildPlan(env Env, p parsed, raw []string) (launch.Plan, error) {
	mode := p.get("mode")
	if mode == "" {
		mode = "modcap"
	}
	uid, gid, groups, name, err := launch.Identity(p.get("uid"))
	if err != nil {
		return launch.Plan{}, usagef("apply: --uid: %v", err)
	}
	var command []string
	if i := indexOf(raw, "--"); i >= 0 {
		command = raw[i+1:]
		p.pos = p.pos[:len(p.pos)-len(command)]
	}
	if len(command) > 0 && p.has("wait") {
		return launch.Plan{}, usagef("apply: --wait belongs to the probe daemon; a command runs until it ends (ctrl+c or SIGTERM stop it)")
	}
	keep := time.Duration(0)
	if p.has("keep") {
		keep = 10 * time.Minute
		if v := p.get("keep"); v != "" {
			keep, err = time.ParseDuration(v)
			if err != nil || keep <= 0 || keep > 7*24*time.Hour {
				return launch.Plan{}, usagef("apply: --keep=%q: give a duration such as 10m (at most a week)", clip(v))
			}
		}
		if p.has("wait") {
			return launch.Plan{}, usagef("apply: --keep and --wait exclude each other")
		}
	}
	bounding, err := masterSet(env, "")
	if err != nil {
		return launch.Plan{}, err
	}
	var plan launch.Plan
	switch mode {
	case "modcap":
		if len(command) > 0 {
			return launch.Plan{}, usagef("apply: running a command needs --mode raw")
		}
		if p.has("set") {
			return launch.Plan{}, usagef("apply: --set belongs to --mode raw; modcap mode takes tokens or --config")
		}
		var toks []modcap.Token
		if len(p.pos) > 0 {
			if toks, err = modcap.ParseTokens(p.pos); err != nil {
				return launch.Plan{}, usagef("apply: %s", clip(err.Error()))
			}
		}
		in := modcap.Input{MasterPermitted: bounding, MasterBounding: bounding, Extra: toks,
			Login: modcap.Login{User: name, UID: uid, UIDKnown: true}}
		if p.has("no-pam") {
			f := false
			in.PAM = &f
		}
		if path := p.get("config"); path != "" {
			cfg, err := modcap.ReadFile(path, modcap.Options{})
			if err != nil {
				var ce *modcap.Error
				if errors.As(err, &ce) {
					return launch.Plan{}, usagef("apply: %s", ce.Error())
				}
				return launch.Plan{}, usagef("apply: %s: %v", clip(path), err)
			}
			in.Config = cfg
		}
		if uid == 0 {
			return launch.Plan{}, usagef("apply: modcap mode emulates a non-root FTP user; pick another --uid (root sessions keep every kept capability in effect: see captune predict --root-login)")
		}
		pred := modcap.Predict(in)
		if pred.Refused {
			return launch.Plan{}, usagef("apply: the login would be refused: %s", pred.Why)
		}
		plan = launch.ModcapPlan(pred, uid, gid, groups, name, bounding)
	case "raw":
		if !p.has("set") {
			return launch.Plan{}, usagef("apply: --mode raw needs --set (names, hex or libcap text)")
		}
		if len(p.pos) > 0 {
			return launch.Plan{}, usagef("apply: raw mode takes --set, not tokens (%s)", clip(p.pos[0]))
		}
		set, err := capset.Parse(p.get("set"))
		if err != nil {
			return launch.Plan{}, usagef("apply: --set: %v", shortErr(err, p.get("set")))
		}
		if len(command) > 0 {
			path, err := exec.LookPath(command[0])
			if err != nil {
				return launch.Plan{}, usagef("apply: cannot run %q: %v", clip(command[0]), err)
			}
			command = append([]string{path}, command[1:]...)
		}
		known := capset.Upto(capset.NamedCount)
		if last, err := capset.LastCap(env.ProcRoot); err == nil {
			known = capset.KnownSet(last)
		}
		plan = launch.RawPlan(set, uid, gid, groups, name, command, known)
	default:
		return launch.Plan{}, usagef("apply: unknown --mode %q (modcap or raw)", clip(mode))
	}
	plan.Keep = keep
	return plan, nil
}

func indexOf(l []string, s string) int {
	for i, x := range l {
		if x == s {
			return i
		}
	}
	return -1
}

// confirm asks y/N on a terminal; without one it refuses.
func confirm(env Env, msgs io.Writer) error {
	f, ok := env.Stdin.(*os.File)
	if !ok || !term.IsTerminal(f.Fd()) {
		return usagef("apply: refusing to launch without confirmation: standard input is not a terminal (pass --yes)")
	}
	fmt.Fprint(msgs, "launch it? [y/N] ")
	line, _ := bufio.NewReader(f).ReadString('\n')
	if a := strings.ToLower(strings.TrimSpace(line)); a != "y" && a != "yes" {
		return usagef("apply: not confirmed; nothing was launched")
	}
	return nil
}

// ApplyText renders an apply result (see launch.Result.Report).
func ApplyText(r launch.Result) string { return "\n" + r.Report() }
