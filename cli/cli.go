// Package cli is captune's command line: it parses arguments, runs the
// subcommands on the domain packages and maps errors to exit codes.
package cli

import (
	"errors"
	"fmt"
	"io"
	"strings"

	"captune/termsafe"
)

// Exit codes, the same for every command.
const (
	ExitOK        = 0 // success
	ExitDiffer    = 1 // a check found a difference (verify, apply read-back, drift)
	ExitUsage     = 2 // usage error or bad input
	ExitMissing   = 3 // a needed component is missing (e.g. proftpd)
	ExitPrivilege = 4 // not enough privilege
	// ExitInternal is a bug: a panic inside the interactive view, caught
	// after the terminal was restored and the daemon stopped. None of the
	// codes above fits (1 would claim a check found a difference, and 2,
	// Go's own exit code for a panic, would blame the input), so it is
	// sysexits.h's EX_SOFTWARE, "internal software error".
	ExitInternal = 70
)

// Version is captune's version, set at build time with -ldflags.
var Version = "0.1.0-dev"

// Env is what a command may touch of the outside world.
type Env struct {
	Stdin          io.Reader
	Stdout, Stderr io.Writer
	// ProcRoot is the proc mount to read ("/proc").
	ProcRoot string
	// Getenv reads the environment.
	Getenv func(string) string
}

// exitError carries an exit code with its one-line message.
type exitError struct {
	code int
	msg  string
}

func (e *exitError) Error() string { return e.msg }

func fail(code int, format string, a ...any) error {
	return &exitError{code: code, msg: fmt.Sprintf(format, a...)}
}

type command struct {
	name    string
	summary string
	run     func(env Env, args []string) error
}

func commands() []command {
	return []command{
		{"ps", "list processes with their capabilities (tree, filter, JSON, details)", runPs},
		{"decode", "print the capability names in hex masks, like capsh --decode", runDecode},
		{"explain", "explain capabilities: what each allows, its risk, what mod_cap does", runExplain},
		{"emit", "print the mod_cap directive block (or systemd/docker/capsh lines) for a set", runEmit},
		{"predict", "predict a proftpd session process's capabilities and uids", runPredict},
		{"verify", "run the directives on a throwaway proftpd and compare its session with predict", runVerify},
		{"apply", "apply a set to a test-spawned daemon, read it back and probe what it can do", runApply},
	}
}

// Usage is the top-level help.
func Usage() string {
	var b strings.Builder
	b.WriteString("captune: see, understand, tune and test the Linux capabilities of processes,\nwith ProFTPD's mod_cap built in.\n\nusage: captune [FLAGS]            the interactive explorer and tuner\n       captune COMMAND [ARGS...]\n       captune --version\n\ncommands:\n")
	for _, c := range commands() {
		fmt.Fprintf(&b, "  %-9s %s\n", c.name, c.summary)
	}
	b.WriteString("\nflags of the interactive view:\n")
	for _, s := range tuiFlags {
		left := "--" + s.name
		if s.value {
			left += " " + s.arg
		}
		fmt.Fprintf(&b, "  %-20s %s\n", left, s.help)
	}
	b.WriteString("\nEach command takes --help. Capability tokens such as -CAP_CHOWN are plain\narguments, never flags.\n\nexit codes: 0 ok, 1 a check found a difference, 2 usage or bad input,\n3 a needed component missing, 4 not enough privilege; 130 when SIGINT or\nSIGTERM stopped the interactive view or verify (after cleaning up), 70 for a\nbug caught inside the interactive view (the line names its stack trace).\n")
	return b.String()
}

// Run runs captune with args (without the program name) and returns the
// exit code. Errors are printed as one line on env.Stderr.
func Run(env Env, args []string) int {
	if env.ProcRoot == "" {
		env.ProcRoot = "/proc"
	}
	if len(args) == 0 || (len(args[0]) > 2 && args[0][:2] == "--" && args[0] != "--version" && args[0] != "--help") {
		return report(env, runTUI(env, args))
	}
	switch args[0] {
	case "--version", "version":
		fmt.Fprintf(env.Stdout, "captune %s\n", Version)
		return ExitOK
	case "--help", "-h", "help":
		if len(args) > 1 {
			return Run(env, []string{args[1], "--help"})
		}
		fmt.Fprint(env.Stdout, Usage())
		return ExitOK
	}
	for _, c := range commands() {
		if c.name == args[0] {
			return report(env, c.run(env, args[1:]))
		}
	}
	fmt.Fprintf(env.Stderr, "captune: unknown command %q (commands: %s)\n", clip(args[0]), names())
	return ExitUsage
}

func names() string {
	var ns []string
	for _, c := range commands() {
		ns = append(ns, c.name)
	}
	return strings.Join(ns, ", ")
}

func report(env Env, err error) int {
	if err == nil {
		return ExitOK
	}
	var ee *exitError
	var ue *usageError
	code := ExitUsage
	switch {
	case errors.As(err, &ee):
		code = ee.code
	case errors.As(err, &ue):
		code = ExitUsage
	}
	if msg := oneLine(err.Error()); msg != "" {
		fmt.Fprintf(env.Stderr, "captune: %s\n", msg)
	}
	return code
}

// oneLine folds a message onto one line and bounds its length, so that a
// huge or binary argument never floods the terminal: newlines become
// spaces, and everything else a terminal must not see raw is escaped by
// termsafe, the escaping captune uses everywhere.
func oneLine(s string) string { return termsafe.Line(s, 600) }

// clip bounds a user-supplied value quoted in a message.
func clip(s string) string {
	if len(s) > 80 {
		return s[:80] + "..."
	}
	return s
}
