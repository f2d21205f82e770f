package cli

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func run(t *testing.T, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	var out, errb bytes.Buffer
	code = Run(Env{Stdin: strings.NewReader(""), Stdout: &out, Stderr: &errb, ProcRoot: "/proc", Getenv: os.Getenv}, args)
	return code, out.String(), errb.String()
}

// TestExitCodes checks the exit-code table and the one-line error rule.
func TestExitCodes(t *testing.T) {
	cases := []struct {
		args []string
		code int
		out  string // substring of stdout
		err  string // substring of stderr
	}{
		{[]string{"--version"}, ExitOK, "captune ", ""},
		{[]string{"--help"}, ExitOK, "usage: captune", ""},
		{[]string{"nosuch"}, ExitUsage, "", `unknown command "nosuch"`},
		{[]string{"decode", "4c1"}, ExitOK, "0x00000000000004c1=cap_chown,cap_setgid,cap_setuid,cap_net_bind_service\n", ""},
		{[]string{"decode", "0x0"}, ExitOK, "0x0000000000000000=\n", ""},
		{[]string{"decode"}, ExitUsage, "", "give at least one hex mask"},
		{[]string{"decode", "zz"}, ExitUsage, "", `"zz"`},
		{[]string{"decode", "-1"}, ExitUsage, "", `"-1"`},
		{[]string{"decode", ""}, ExitUsage, "", `""`},
		{[]string{"decode", "1ffffffffffffffff"}, ExitUsage, "", "more than 16 hex digits"},
		{[]string{"decode", "4c1", "zz"}, ExitUsage, "", "argument 2"},
		{[]string{"decode", "--bogus"}, ExitUsage, "", "unknown flag --bogus"},
		{[]string{"explain", "cap_chown"}, ExitOK, "cap_chown (number 0, mask 0000000000000001)", ""},
		{[]string{"explain", "SYS_ADMN"}, ExitUsage, "", "did you mean cap_sys_admin"},
		{[]string{"explain"}, ExitOK, "cap_checkpoint_restore", ""},
		{[]string{"explain", "50"}, ExitOK, "No capability has this number yet", ""},
		{[]string{"emit", "-CAP_CHOWN", "+CAP_FOWNER"}, ExitOK, "  CapabilitiesSet -CAP_CHOWN +CAP_FOWNER\n", ""},
		{[]string{"emit", "+CAP_FOWNER", "-CAP_CHOWN"}, ExitOK, "  CapabilitiesSet -CAP_CHOWN +CAP_FOWNER\n", ""},
		{[]string{"emit", "+CAP_NET_RAW"}, ExitUsage, "", "CapabilitiesSet: unknown capability: 'CAP_NET_RAW'"},
		{[]string{"emit", "CAP_CHOWN"}, ExitUsage, "", "CapabilitiesSet: : bad option: 'CAP_CHOWN'"},
		{[]string{"emit", "--from-set", "cap_sys_chroot"}, ExitUsage, "", "cap_sys_chroot is never kept"},
		{[]string{"emit", "--format", "yaml"}, ExitUsage, "", "unknown --format"},
		{[]string{"emit", "--format=docker"}, ExitOK, "--cap-drop=ALL --cap-add=CHOWN --cap-add=SETGID --cap-add=SETUID --cap-add=NET_BIND_SERVICE --cap-add=AUDIT_WRITE\n", ""},
		{[]string{"predict", "-CAP_SETUID"}, ExitOK, "CapEff:  0000000000000401", ""},
		{[]string{"predict", "--config", "/nonexistent/proftpd.conf"}, ExitUsage, "", "/nonexistent/proftpd.conf"},
		{[]string{"predict", "--user"}, ExitUsage, "", "--user needs a value"},
	}
	for _, c := range cases {
		t.Run(strings.Join(c.args, " "), func(t *testing.T) {
			code, out, errs := run(t, c.args...)
			if code != c.code {
				t.Errorf("exit %d, want %d (stderr %q)", code, c.code, errs)
			}
			if !strings.Contains(out, c.out) {
				t.Errorf("stdout %q does not contain %q", out, c.out)
			}
			if !strings.Contains(errs, c.err) {
				t.Errorf("stderr %q does not contain %q", errs, c.err)
			}
			if errs != "" && strings.Count(strings.TrimRight(errs, "\n"), "\n") > 0 && code != ExitOK {
				t.Errorf("error is not one line: %q", errs)
			}
		})
	}
}

func TestEveryCommandHasHelp(t *testing.T) {
	for _, c := range commands() {
		code, out, _ := run(t, c.name, "--help")
		if code != ExitOK || !strings.HasPrefix(out, "usage: captune "+c.name) {
			t.Errorf("%s --help: exit %d, output %q", c.name, code, out)
		}
	}
}

func TestDecodeJSON(t *testing.T) {
	code, out, _ := run(t, "decode", "--json", "3000", "0x8000000000000001")
	if code != ExitOK {
		t.Fatalf("exit %d", code)
	}
	var rows []struct {
		Mask  string   `json:"mask"`
		Names []string `json:"names"`
	}
	if err := json.Unmarshal([]byte(out), &rows); err != nil {
		t.Fatal(err)
	}
	if len(rows) != 2 || rows[0].Mask != "0000000000003000" || strings.Join(rows[0].Names, ",") != "cap_net_admin,cap_net_raw" ||
		strings.Join(rows[1].Names, ",") != "cap_chown,63" {
		t.Errorf("got %+v", rows)
	}
}

func TestPredictJSON(t *testing.T) {
	dir := t.TempDir()
	conf := filepath.Join(dir, "p.conf")
	if err := os.WriteFile(conf, []byte("RootRevoke off\nCapabilitiesSet -CAP_DAC_OVERRIDE\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	code, out, errs := run(t, "predict", "--config", conf, "--master-set", "1ffffffffff", "--json")
	if code != ExitOK {
		t.Fatalf("exit %d: %s", code, errs)
	}
	var got map[string]any
	if err := json.Unmarshal([]byte(out), &got); err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"engine", "permitted", "effective", "inheritable", "ambient", "uids", "reasons"} {
		if _, ok := got[k]; !ok {
			t.Errorf("JSON lacks %q", k)
		}
	}
	if got["permitted"] != "00000000000004c1" || got["effective"] != "00000000000004c1" || got["engine"] != true {
		t.Errorf("got %v", got)
	}
	reasons := strings.Join(toStrings(got["reasons"]), "\n")
	if !strings.Contains(reasons, conf+":2") {
		t.Errorf("reasons do not name %s:2: %s", conf, reasons)
	}
}

func TestPredictRejectsBadConfig(t *testing.T) {
	dir := t.TempDir()
	conf := filepath.Join(dir, "bad.conf")
	os.WriteFile(conf, []byte("# comment\nCapabilitiesSet +CAP_NET_RAW\n"), 0o644)
	code, _, errs := run(t, "predict", "--config", conf)
	if code != ExitUsage {
		t.Errorf("exit %d, want 2", code)
	}
	want := conf + ":2: CapabilitiesSet: unknown capability: 'CAP_NET_RAW'"
	if !strings.Contains(errs, want) {
		t.Errorf("stderr %q lacks %q", errs, want)
	}
}

func TestPredictMissingProftpd(t *testing.T) {
	code, _, errs := run(t, "predict", "--config", "/etc/hostname", "--proftpd", "/nonexistent/proftpd")
	if code != ExitMissing || !strings.Contains(errs, "apt-get install proftpd-core") {
		t.Errorf("exit %d, stderr %q", code, errs)
	}
}

func toStrings(v any) []string {
	var out []string
	if l, ok := v.([]any); ok {
		for _, x := range l {
			if s, ok := x.(string); ok {
				out = append(out, s)
			}
		}
	}
	return out
}

// TestHugeAndBinaryArguments: one short line, exit 2, never a stack trace.
func TestHugeAndBinaryArguments(t *testing.T) {
	huge := strings.Repeat("A", 1<<20)
	bin := string([]byte{0, 0xff, 0xfe, '\n', 0x1b, '['})
	for _, args := range [][]string{
		{"decode", huge}, {"decode", bin}, {"explain", huge}, {"explain", bin},
		{"emit", huge}, {"emit", "+" + bin}, {"emit", "--from-set", huge}, {"predict", "-" + huge},
		{"predict", "--config", bin},
	} {
		code, _, errs := run(t, args...)
		if code != ExitUsage {
			t.Errorf("%s: exit %d, want 2", args[0], code)
		}
		if len(errs) > 800 || strings.Count(errs, "\n") != 1 || strings.Contains(errs, "goroutine") {
			t.Errorf("%s: error is not one short line (%d bytes)", args[0], len(errs))
		}
	}
}
