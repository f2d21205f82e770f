package cli

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"sync"
	"syscall"
	"time"

	"captune/capset"
	"captune/capset/modcap"
	"captune/launch/proftpd"
	"captune/model"
	"captune/procscan"
	"captune/ui"
)

var tuiFlags = []flagSpec{
	{name: "config", value: true, arg: "FILE", help: "start the tuner from this proftpd configuration's mod_cap lines"},
	{name: "refresh", value: true, arg: "DURATION", help: "how often the process list refreshes (default 2s)"},
	{name: "proc", value: true, arg: "DIR", help: "proc mount to read (default /proc)"},
	{name: "no-pam", help: "mod_auth_pam is not loaded (no CAP_AUDIT_WRITE by default)"},
	{name: "user", value: true, arg: "NAME", help: "login user for the preview and v (follows <IfUser>/<IfGroup>; default " + proftpd.DefaultUser + ", a virtual user), also named by the capsh target (default nobody); U in the tuner changes it"},
	{name: "help", help: "show this help"},
}

// runTUI opens the interactive explorer and tuner.
func runTUI(env Env, args []string) error {
	p, err := parseArgs("captune", args, tuiFlags)
	if err != nil {
		return err
	}
	if p.has("help") {
		fmt.Fprint(env.Stdout, Usage())
		return nil
	}
	if len(p.pos) > 0 {
		return usagef("unknown command %q (commands: %s)", clip(p.pos[0]), names())
	}
	if err := checkUserName("", p.get("user")); err != nil {
		return err
	}
	opts := ui.Options{PAM: !p.has("no-pam"), LookupUser: lookupLoginUser}
	login, err := lookupLoginUser(p.get("user"))
	if err != nil {
		return usagef("--user: %v", err)
	}
	opts.Login, opts.LoginChosen = login, p.get("user") != ""
	if r := p.get("refresh"); r != "" {
		d, err := time.ParseDuration(r)
		if err != nil || d < 100*time.Millisecond || d > time.Hour {
			return usagef("--refresh %q: give a duration from 100ms to 1h, e.g. 2s", clip(r))
		}
		opts.Refresh = d
	}
	root := p.get("proc")
	if root == "" {
		root = env.ProcRoot
	} else if err := checkProcRoot("", root); err != nil {
		return err
	}
	sc, err := procscan.New(root)
	if err != nil {
		return usagef("%v", err)
	}
	sc.KeepOpen()
	defer sc.Close()
	opts.Scanner = sc
	// The tuner's --config is a candidate for drift, not a given: it
	// counts for a master only by evidence (its PidFile or ScoreboardFile).
	var candidates []string
	if c := p.get("config"); c != "" {
		candidates = []string{c}
	}
	opts.Drift = newDriftChecker(root, "", candidates)
	master, err := masterSet(env, "")
	if err != nil {
		return err
	}
	opts.Master = master
	if path := p.get("config"); path != "" {
		cfg, toks, note, err := configTokens(path)
		if err != nil {
			return err
		}
		opts.Config, opts.Tokens, opts.ConfigNote = cfg, toks, note
	}
	verify, finish := tuiVerify(env)
	opts.Verify = verify
	// ui.Run handles SIGINT, SIGTERM and SIGHUP while it runs; this keeps
	// them caught after it, while the verify runs in flight stop proftpd
	// and remove their files, and on until captune exits: a burst of
	// signals must not find the default action (death by the signal,
	// exit 143, no last line) between this function's return and the
	// exit. Nothing reads the channel; it only holds the disposition.
	sigs := make(chan os.Signal, 1)
	signal.Notify(sigs, syscall.SIGINT, syscall.SIGTERM, syscall.SIGHUP)
	err = ui.Run(opts, env.Stdout)
	finish()
	if errors.Is(err, ui.ErrNoTTY) {
		return usagef("the interactive view needs a terminal (%v); for scripts use captune ps", err)
	}
	var pe *ui.PanicError
	if errors.As(err, &pe) {
		return fail(ExitInternal, "%s", panicLine(pe))
	}
	var ie *ui.InterruptedError
	if errors.As(err, &ie) {
		return fail(exitInterrupted, "%v: the terminal was restored, and the test daemon and any verify run stopped", ie)
	}
	return err
}

// panicLine is the one line for a panic inside the interactive view: the
// terminal has been restored and the daemon stopped by then. The stack
// trace goes to a private temporary file the line names, not over the
// screen.
func panicLine(pe *ui.PanicError) string {
	msg := pe.Error()
	if len(pe.Stack) == 0 {
		return msg
	}
	f, err := os.CreateTemp("", "captune-panic-*.txt")
	if err != nil {
		return msg
	}
	defer f.Close()
	if _, err := fmt.Fprintf(f, "captune %s: %v\n\n%s", Version, pe.Value, pe.Stack); err != nil {
		return msg
	}
	return msg + "; stack trace in " + f.Name() + " (please report it)"
}

// tuiVerify gives the tuner its v key: the tuned block on a throwaway
// proftpd, as captune verify runs it. finish cancels runs still in flight
// when the tuner quits and waits until they have stopped proftpd and
// removed their files.
func tuiVerify(env Env) (verify ui.VerifyFunc, finish func()) {
	base, cancel := context.WithCancel(context.Background())
	var mu sync.Mutex
	var wg sync.WaitGroup
	closed := false
	verify = func(ctx context.Context, req ui.VerifyRequest) (ui.VerifyResult, error) {
		mu.Lock()
		if closed {
			mu.Unlock()
			return ui.VerifyResult{}, context.Canceled
		}
		wg.Add(1)
		mu.Unlock()
		defer wg.Done()
		ctx, stop := context.WithCancel(ctx)
		defer stop()
		defer context.AfterFunc(base, stop)()
		// A --config file runs whole, as captune verify --config runs it
		// (with the tuned CapabilitiesSet in it); the tuned line alone
		// runs on captune's own server.
		spec := proftpd.Spec{User: req.User, ProcRoot: env.ProcRoot}
		if req.Config != nil && req.Config.Path != "" {
			spec.Config = req.Config
		} else {
			spec.Directives = proftpd.Decisive(req.Config)
		}
		rep, err := proftpd.Verify(ctx, spec)
		if err != nil {
			return ui.VerifyResult{}, err
		}
		var changes []string
		for _, c := range rep.Changes {
			changes = append(changes, c.String())
		}
		sets := func(refused bool, p, e, i, a, b capset.Set, u [3]uint32) ui.VerifySets {
			return ui.VerifySets{Refused: refused, Permitted: p, Effective: e, Inheritable: i, Ambient: a, Bounding: b, UIDs: u}
		}
		pr, ob := rep.Predicted, rep.Observed
		a := rep.Account
		return ui.VerifyResult{
			Version: rep.Version, Directives: rep.Directives, Whole: spec.Config != nil, Changes: changes,
			Login:       model.LoginUser{Name: a.Name, UID: a.UID, Groups: a.Groups, System: a.System},
			Predicted:   sets(pr.Refused, pr.Permitted, pr.Effective, pr.Inheritable, pr.Ambient, pr.Bounding, pr.UIDs),
			Observed:    sets(ob.Refused, ob.Permitted, ob.Effective, ob.Inheritable, ob.Ambient, ob.Bounding, ob.UIDs),
			Match:       rep.Match,
			Differences: rep.Differences,
		}, nil
	}
	finish = func() {
		mu.Lock()
		closed = true
		mu.Unlock()
		cancel()
		wg.Wait()
	}
	return verify, finish
}

// configTokens reads a configuration and the CapabilitiesSet tokens its
// main server would apply (nil: none), and says where they came from.
func configTokens(path string) (*modcap.Config, []modcap.Token, string, error) {
	abs, _ := filepath.Abs(path)
	opt := modcap.Options{}
	if bin, err := exec.LookPath("proftpd"); err == nil {
		if mods, err := proftpd.Modules(bin); err == nil {
			opt.Modules = mods
		}
	}
	cfg, err := modcap.ReadFile(abs, opt)
	if err != nil {
		var ce *modcap.Error
		if errors.As(err, &ce) {
			return nil, nil, "", usagef("%s", ce.Error())
		}
		return nil, nil, "", usagef("%s: %v", clip(path), err)
	}
	n := model.MainCapabilitiesSet(cfg)
	if n == nil {
		return cfg, nil, fmt.Sprintf("%s has no CapabilitiesSet for the main server: tuner starts from mod_cap's defaults", clip(path)), nil
	}
	toks, err := modcap.ParseTokens(n.Args)
	if err != nil {
		return nil, nil, "", usagef("%s: %v", n.Pos, err)
	}
	return cfg, toks, fmt.Sprintf("tuner starts from CapabilitiesSet at %s", n.Pos), nil
}

// lookupLoginUser resolves a login name as verify's throwaway proftpd
// uses it (empty: its default user).
func lookupLoginUser(name string) (model.LoginUser, error) {
	a, err := proftpd.NewAccount(name)
	if err != nil {
		return model.LoginUser{}, err
	}
	return model.LoginUser{Name: a.Name, UID: a.UID, Groups: a.Groups, System: a.System}, nil
}
