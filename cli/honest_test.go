package cli

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestRootFlagErrorsOnePrefix: a mistake in captune's own flags (the
// interactive view's) is one line starting "captune: " once, pointing to
// captune --help.
func TestRootFlagErrorsOnePrefix(t *testing.T) {
	for _, args := range [][]string{{"--bogus"}, {"--refresh"}, {"--refresh="}, {"--no-pam=1"}, {"--proc", "/", "--proc", "/"}} {
		code, _, errs := run(t, args...)
		if code != ExitUsage {
			t.Errorf("%q: exit %d, want %d", args, code, ExitUsage)
		}
		if strings.Count(errs, "captune:") != 1 || !strings.HasPrefix(errs, "captune: ") || strings.Count(strings.TrimRight(errs, "\n"), "\n") > 0 {
			t.Errorf("%q: stderr %q, want one line with one \"captune: \"", args, errs)
		}
		if args[0] == "--bogus" && !strings.Contains(errs, "see captune --help") {
			t.Errorf("%q: stderr %q does not point to captune --help", args, errs)
		}
	}
	// A command's own flags keep the command's name.
	if _, _, errs := run(t, "ps", "--bogus"); errs != "captune: ps: unknown flag --bogus (see captune ps --help)\n" {
		t.Errorf("ps --bogus: stderr %q", errs)
	}
}

// TestEmitRefusalKeepsReasons: refusing a large set names the set
// compactly, so every reason and the nearest set fit in the one line.
func TestEmitRefusalKeepsReasons(t *testing.T) {
	for _, set := range []string{"0x1ffffffffff", "all", "0xffffffffffffffff", "=ep cap_chown-ep"} {
		code, _, errs := run(t, "emit", "--from-set", set)
		if code != ExitUsage {
			t.Fatalf("emit --from-set %q: exit %d, want 2 (%q)", set, code, errs)
		}
		line := strings.TrimSuffix(errs, "\n")
		if strings.Contains(line, "\n") || strings.HasSuffix(line, "...") || !strings.Contains(line, "nearest set it can keep: ") ||
			!strings.Contains(line, "are never kept") {
			t.Errorf("emit --from-set %q: message cut or incomplete: %q", set, line)
		}
		if strings.Contains(line, "cap_sys_admin,") {
			t.Errorf("emit --from-set %q: the set is written out name by name: %q", set, line)
		}
	}
	_, _, errs := run(t, "emit", "--from-set", "0x1ffffffffff")
	if !strings.Contains(errs, "cannot keep exactly all capabilities (000001ffffffffff)") {
		t.Errorf("stderr %q does not name the set compactly", errs)
	}
}

// TestSetSyntaxOneRule: a lone decimal number is refused everywhere a set
// is read, naming both readings; sixteen digits and 0x are masks; numbers in
// a list are capability numbers; help says so.
func TestSetSyntaxOneRule(t *testing.T) {
	for _, args := range [][]string{
		{"emit", "--format", "systemd", "--from-set", "10"},
		{"emit", "--format", "systemd", "--from-set", "400"},
		{"emit", "--format", "systemd", "--from-set", "0"},
		{"predict", "--master-set", "10"},
	} {
		code, out, errs := run(t, args...)
		if code != ExitUsage || out != "" || !strings.Contains(errs, "ambiguous") || !strings.Contains(errs, "for the mask") {
			t.Errorf("%q: exit %d, stdout %q, stderr %q; want exit 2 naming the ambiguity", args, code, out, errs)
		}
	}
	for _, c := range []struct{ set, want string }{
		{"0000000000000010", "CapabilityBoundingSet=CAP_FSETID\n"},
		{"0x10", "CapabilityBoundingSet=CAP_FSETID\n"},
		{"10,", "CapabilityBoundingSet=CAP_NET_BIND_SERVICE\n"},
		{"0,7", "CapabilityBoundingSet=CAP_CHOWN CAP_SETUID\n"},
		{"4c1", "CapabilityBoundingSet=CAP_CHOWN CAP_SETGID CAP_SETUID CAP_NET_BIND_SERVICE\n"},
	} {
		code, out, errs := run(t, "emit", "--format", "systemd", "--from-set", c.set)
		if code != ExitOK || !strings.HasPrefix(out, c.want) {
			t.Errorf("--from-set %q: exit %d, stdout %q, stderr %q; want %q", c.set, code, out, errs, c.want)
		}
	}
	for _, cmd := range []string{"emit", "predict", "apply"} {
		_, out, _ := run(t, cmd, "--help")
		if !strings.Contains(out, "A lone number such") {
			t.Errorf("%s --help does not state how a set is read:\n%s", cmd, out)
		}
	}
}

// TestPredictEscapesFileText: what predict prints from a configuration (its
// path in reasons, a virtual host's name) never reaches the terminal raw.
func TestPredictEscapesFileText(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "x\x1b]0;owned\a\x1b[2J")
	if err := os.Mkdir(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	conf := filepath.Join(dir, "proftpd.conf")
	if err := os.WriteFile(conf, []byte("CapabilitiesSet -CAP_SETUID\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	code, out, errs := run(t, "predict", "--config", conf, "--proftpd", "/nonexistent-proftpd")
	_ = code
	for _, s := range []string{out, errs} {
		if strings.ContainsAny(s, "\x1b\a") {
			t.Errorf("raw escape reached the output: %q", s)
		}
	}
	code, out, errs = run(t, "predict", "--config", conf)
	if code == ExitOK && !strings.Contains(out, `\x1b]0;owned\x07\x1b[2J`) {
		t.Errorf("predict output does not show the escaped path: %q", out)
	}
	for _, s := range []string{out, errs} {
		if strings.ContainsAny(s, "\x1b\a") {
			t.Errorf("raw escape reached the output: %q", s)
		}
	}
}
