package cli

import (
	"bytes"
	"os"
	"strings"
	"testing"
	"unicode/utf8"
)

// FuzzCommandLine runs the pure commands with arbitrary arguments: no
// panic, an exit code from the table, and at most one line on stderr.
// The input is split on NUL into arguments; the first picks the command.
func FuzzCommandLine(f *testing.F) {
	for _, seed := range []string{
		"decode\x00ffffffffffffffff", "decode\x00zz", "decode\x00--json\x000x3000",
		"explain\x00cap_sys_admn", "explain", "emit\x00-CAP_CHOWN\x00+CAP_FOWNER",
		"emit\x00--from-set\x00cap_sys_admin", "emit\x00--format\x00capsh\x00--user\x00ftp",
		"predict\x00-CAP_SETUID\x00--json", "predict\x00--vhost\x00127.0.0.2\x00--root-login",
		"predict\x00--config", "emit\x00CAP_CHOWN", "decode\x00\xff\xfe", "--version", "help\x00emit",
	} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, in string) {
		args := strings.Split(in, "\x00")
		if len(args) == 0 {
			return
		}
		switch args[0] {
		case "decode", "explain", "emit", "predict", "--version", "help", "--help":
		default:
			args[0] = []string{"decode", "explain", "emit", "predict"}[len(in)%4]
		}
		for _, a := range args {
			if a == "--config" || strings.HasPrefix(a, "--config=") || a == "--proftpd" || strings.HasPrefix(a, "--proftpd=") {
				return // reading arbitrary files and running programs is not the point here
			}
		}
		var out, errb bytes.Buffer
		code := Run(Env{Stdout: &out, Stderr: &errb, ProcRoot: "/proc", Getenv: os.Getenv}, args)
		if code < 0 || code > 4 {
			t.Fatalf("exit %d for %q", code, args)
		}
		if e := errb.String(); e != "" {
			if strings.Count(strings.TrimSuffix(e, "\n"), "\n") > 0 && code != 0 {
				t.Fatalf("error is more than one line for %q: %q", args, e)
			}
			if len(e) > 1200 {
				t.Fatalf("error of %d bytes for %q", len(e), args)
			}
		}
		if code == 0 && !utf8.Valid(out.Bytes()) {
			t.Fatalf("invalid UTF-8 on stdout for %q", args)
		}
	})
}
