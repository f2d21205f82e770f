package cli

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
	"unicode"
	"unicode/utf8"
)

// checkOneLine is the rule for every refusal: exactly one line on stderr,
// starting "captune: ", short, with no control character but its final
// newline, and never a stack trace.
func checkOneLine(t *testing.T, what, stderr string) {
	t.Helper()
	if !strings.HasPrefix(stderr, "captune: ") || !strings.HasSuffix(stderr, "\n") || strings.Count(stderr, "\n") != 1 {
		t.Errorf("%s: stderr is not one line: %.300q", what, stderr)
	}
	if len(stderr) > 800 {
		t.Errorf("%s: stderr of %d bytes", what, len(stderr))
	}
	if strings.Contains(stderr, "goroutine ") || strings.Contains(stderr, "panic") {
		t.Errorf("%s: stack trace: %.300q", what, stderr)
	}
	if !utf8.ValidString(stderr) {
		t.Errorf("%s: stderr is not UTF-8: %.300q", what, stderr)
	}
	for _, r := range strings.TrimSuffix(stderr, "\n") {
		if unicode.IsControl(r) {
			t.Errorf("%s: control character %U on stderr: %.300q", what, r, stderr)
			break
		}
	}
}

type badCase struct {
	args []string
	code int
	want string // substring of stderr ("" when code is 0: stderr must be empty)
}

// TestBadArgumentsEverywhere gives every command and every flag that
// takes a value a missing value, an empty value, a malformed value, a
// 1 MB value and binary bytes (NUL, 0xff, escape sequences, CR): a flag
// whose value is free text accepts them (exit 0, nothing on stderr);
// every other gets one clear line and exit 2 (3 for a --proftpd that is
// not there). Run in-process: an argument of 1 MB cannot pass execve.
func TestBadArgumentsEverywhere(t *testing.T) {
	huge := strings.Repeat("A", 1<<20)
	bin := string([]byte{0, 0xff, 0xfe, '\r', 0x1b, '[', '2', 'J', 0x07, 'x'})
	valued := []struct {
		cmd       []string // command and whatever the flag needs beside it
		flag      string
		malformed string
		free      bool // any text is a valid value
		code      int  // for malformed, huge and binary values (default 2)
	}{
		{[]string{"ps"}, "filter", "", true, 0},
		{[]string{"ps"}, "proc", "/nonexistent/proc", false, 0},
		{[]string{"ps"}, "proftpd-config", "/nonexistent/proftpd.conf", false, 0},
		{[]string{"emit"}, "format", "yaml", false, 0},
		{[]string{"emit"}, "from-set", "cap_chown,,", false, 0},
		{[]string{"emit", "--format", "capsh"}, "user", "x; rm -rf /", false, 0},
		{[]string{"predict"}, "config", "/nonexistent/proftpd.conf", false, 0},
		{[]string{"predict"}, "user", "", true, 0},
		{[]string{"predict"}, "group", "", true, 0},
		{[]string{"predict"}, "class", "", true, 0},
		{[]string{"predict"}, "vhost", "not an address", false, 0},
		{[]string{"predict"}, "client", "10.0.0.0/8", false, 0},
		{[]string{"predict"}, "connect", "127.0.0.1:0", false, 0},
		{[]string{"predict"}, "host", "a,,b", false, 0},
		{[]string{"predict"}, "master-set", "0xzz", false, 0},
		{[]string{"predict", "--config", "/etc/hostname"}, "proftpd", "/nonexistent/proftpd", false, ExitMissing},
		{[]string{"apply"}, "uid", "no-such-user-here", false, 0},
		{[]string{"apply"}, "mode", "cooked", false, 0},
		{[]string{"apply", "--mode", "raw"}, "set", "cap_chown=ep+", false, 0},
		{[]string{"apply"}, "config", "/nonexistent/proftpd.conf", false, 0},
		{[]string{"verify"}, "config", "/nonexistent/proftpd.conf", false, 0},
		{[]string{"verify"}, "user", "a:b", false, 0},
		{[]string{"verify"}, "proftpd", "/nonexistent/proftpd", false, ExitMissing},
		{nil, "config", "/nonexistent/proftpd.conf", false, 0},
		{nil, "refresh", "10ms", false, 0},
		{nil, "proc", "/nonexistent/proc", false, 0},
		{nil, "user", "x y", false, 0},
	}
	var cases []badCase
	for _, v := range valued {
		code := ExitUsage
		if v.code != 0 {
			code = v.code
		}
		cases = append(cases,
			badCase{append(v.cmd[:len(v.cmd):len(v.cmd)], "--"+v.flag), ExitUsage, "--" + v.flag + " needs a value"},
			badCase{append(v.cmd[:len(v.cmd):len(v.cmd)], "--"+v.flag+"="), ExitUsage, "--" + v.flag + " needs a value"},
		)
		for _, val := range []string{v.malformed, huge, bin} {
			if val == "" {
				continue
			}
			c := badCase{append(v.cmd[:len(v.cmd):len(v.cmd)], "--"+v.flag, val), code, "captune: "}
			if v.free {
				c.code, c.want = ExitOK, ""
			}
			cases = append(cases, c)
		}
	}
	// Positional arguments and the other values each command reads.
	for _, args := range [][]string{
		{"ps", "x"}, {"ps", "-1"}, {"ps", "99999999999999999999"}, {"ps", huge}, {"ps", bin},
		{"decode", "0x"}, {"decode", huge}, {"decode", bin},
		{"explain", "cap_"}, {"explain", huge}, {"explain", bin},
		{"emit", "CAP_CHOWN"}, {"emit", "+" + huge}, {"emit", bin},
		{"predict", "+CAP_NET_RAW"}, {"predict", "-" + huge}, {"predict", bin},
		{"apply", "+CAP_SETPCAP"}, {"apply", "+" + huge}, {"apply", bin},
		{"apply", "--keep=forever"}, {"apply", "--keep=" + huge}, {"apply", "--keep=" + bin},
		{"apply", "--mode", "raw", "--set", "cap_chown", "--", "/nonexistent/cmd"},
		{"apply", "--mode", "raw", "--set", "cap_chown", "--", huge},
		{"apply", "--mode", "raw", "--set", "cap_chown", "--", bin},
		{"verify", "CAP_CHOWN"}, {"verify", "+" + huge}, {"verify", bin},
		{"--" + huge}, {"--" + bin}, {"--refresh", "2s", huge}, {"--refresh", "2s", bin},
		{huge}, {bin},
	} {
		cases = append(cases, badCase{args, ExitUsage, "captune: "})
	}
	for _, c := range cases {
		name := strings.Join(c.args, " ")
		if len(name) > 60 {
			name = name[:60]
		}
		code, stdout, stderr := run(t, c.args...)
		if code != c.code {
			t.Errorf("%q: exit %d, want %d; stderr %.300q", name, code, c.code, stderr)
			continue
		}
		if c.code == ExitOK {
			if stderr != "" {
				t.Errorf("%q: exit 0 with stderr %.300q", name, stderr)
			}
			if !utf8.ValidString(stdout) {
				t.Errorf("%q: stdout is not UTF-8", name)
			}
			continue
		}
		checkOneLine(t, name, stderr)
		if !strings.Contains(stderr, c.want) {
			t.Errorf("%q: stderr %.300q lacks %q", name, stderr, c.want)
		}
		if strings.Contains(stdout, "daemon PID") {
			t.Errorf("%q: something was launched", name)
		}
	}
	t.Logf("%d cases", len(cases))
}

// badFiles makes the files the file cases read: a 1 MB configuration that
// is fine, a 1 MB one with its error on the last line, 1 MB of binary, a
// directory, a missing path, an unreadable file, and folders that are not
// a proc mount.
type badFiles struct {
	dir                                        string
	bigValid, bigJunk, binary, folder, missing string
	unreadable, emptyDir, unreadableDir        string
	fifo, includesFIFO                         string
}

func makeBadFiles(t *testing.T) badFiles {
	t.Helper()
	dir := sharedDir(t, 0o755)
	f := badFiles{dir: dir, bigValid: filepath.Join(dir, "big.conf"), bigJunk: filepath.Join(dir, "junk.conf"),
		binary: filepath.Join(dir, "binary.conf"), folder: filepath.Join(dir, "folder"), missing: filepath.Join(dir, "missing.conf"),
		unreadable: filepath.Join(dir, "unreadable.conf"), emptyDir: filepath.Join(dir, "empty"), unreadableDir: filepath.Join(dir, "closed"),
		fifo: filepath.Join(dir, "fifo.conf"), includesFIFO: filepath.Join(dir, "includes-fifo.conf")}
	// A FIFO blocks whoever opens it for reading until a writer comes:
	// captune must refuse it at once, named directly or included.
	if err := syscall.Mkfifo(f.fifo, 0o644); err != nil {
		t.Fatal(err)
	}
	var b strings.Builder
	for b.Len() < 1<<20 {
		b.WriteString("# padding to one megabyte: captune reads every line of it\n")
	}
	valid := b.String() + "<IfModule mod_cap.c>\n  CapabilitiesSet -CAP_CHOWN\n</IfModule>\n"
	junk := b.String() + "CapabilitiesSet +CAP_NET_RAW\n"
	r := rand.New(rand.NewPCG(7, 7))
	bin := make([]byte, 1<<20)
	for i := range bin {
		bin[i] = byte(r.Uint32())
	}
	copy(bin, "\x00\x1b[2J\r\xff") // NUL, an escape sequence, CR, 0xff at the start
	for path, data := range map[string]string{f.bigValid: valid, f.bigJunk: junk, f.binary: string(bin), f.unreadable: "CapabilitiesEngine on\n",
		f.includesFIFO: "ServerName fifo\nInclude " + f.fifo + "\n"} {
		if err := os.WriteFile(path, []byte(data), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	for _, d := range []string{f.folder, f.emptyDir, f.unreadableDir} {
		if err := os.Mkdir(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.Mkdir(filepath.Join(f.unreadableDir, "1"), 0o755); err != nil {
		t.Fatal(err)
	}
	os.Chmod(f.unreadable, 0)
	os.Chmod(f.unreadableDir, 0)
	t.Cleanup(func() { os.Chmod(f.unreadableDir, 0o755) })
	return f
}

// TestBadFilesEverywhere gives every flag that reads a file (--config,
// --proftpd-config) or a folder (--proc) a 1 MB file, a binary file, a
// directory, a missing file and an unreadable one, through the shipped
// binary without a terminal: one clear line and exit 2, or exit 0 for a
// 1 MB configuration that is fine. Unreadable means unreadable to captune
// as root without cap_dac_override and cap_dac_read_search (capsh
// --drop), so that verify, which needs root, gets as far as reading it.
func TestBadFilesEverywhere(t *testing.T) {
	needRoot(t)
	capsh := needTool(t, "capsh")
	needTool(t, "proftpd")
	bin := captuneBin(t)
	f := makeBadFiles(t)
	type fileCase struct {
		args       []string
		code       int
		want       string
		unreadable bool // run without cap_dac_override and cap_dac_read_search
	}
	var cases []fileCase
	// ps looks at its own PID only: the exit code and notes then do not
	// depend on proftpd sessions of others on the machine.
	for _, cmd := range [][]string{{"predict", "--config"}, {"ps", strconv.Itoa(os.Getpid()), "--proftpd-config"}, {"apply", "--config"}, {"verify", "--config"}, {"--config"}} {
		// The binary has no terminal: apply refuses to launch without
		// confirmation, the TUI without a terminal, both in one line.
		validCode, validWant := ExitOK, ""
		switch cmd[0] {
		case "apply":
			validCode, validWant = ExitUsage, "refusing to launch without confirmation"
		case "--config":
			validCode, validWant = ExitUsage, "needs a terminal"
		}
		with := func(path string) []string { return append(cmd[:len(cmd):len(cmd)], path) }
		if cmd[0] != "verify" { // a fine configuration would run proftpd
			cases = append(cases, fileCase{with(f.bigValid), validCode, validWant, false})
		}
		cases = append(cases,
			fileCase{with(f.bigJunk), ExitUsage, "junk.conf:", false},
			fileCase{with(f.binary), ExitUsage, "binary.conf:2: unknown configuration directive", false},
			fileCase{with(f.folder), ExitUsage, "folder: is a directory", false},
			fileCase{with(f.missing), ExitUsage, "missing.conf: no such file or directory", false},
			fileCase{with(f.unreadable), ExitUsage, "unreadable.conf: permission denied", true},
			fileCase{with("/dev/zero"), ExitUsage, "/dev/zero: not a regular file (a character device)", false},
			fileCase{with(f.fifo), ExitUsage, "fifo.conf: not a regular file (a FIFO)", false},
			fileCase{with(f.includesFIFO), ExitUsage, "includes-fifo.conf:2: Include: '" + f.fifo + "': not a regular file (a FIFO)", false},
		)
	}
	for _, cmd := range [][]string{{"ps", "--proc"}, {"--proc"}} {
		with := func(path string) []string { return append(cmd[:len(cmd):len(cmd)], path) }
		cases = append(cases,
			fileCase{with(f.bigValid), ExitUsage, "not a directory", false},
			fileCase{with(f.binary), ExitUsage, "not a directory", false},
			fileCase{with(f.emptyDir), ExitUsage, "holds no process directories: not a proc mount", false},
			fileCase{with(f.missing), ExitUsage, "no such file or directory", false},
			fileCase{with(f.unreadableDir), ExitUsage, "closed: permission denied", true},
			fileCase{with(f.fifo), ExitUsage, "not a directory", false},
		)
	}
	for _, c := range cases {
		name := strings.ReplaceAll(strings.Join(c.args, " "), f.dir+"/", "")
		t.Run(name, func(t *testing.T) {
			var cmd *exec.Cmd
			if c.unreadable {
				cmd = exec.Command(capsh, append([]string{"--drop=cap_dac_override,cap_dac_read_search", "--", "-c", `exec "$0" "$@"`, bin}, c.args...)...)
			} else {
				cmd = exec.Command(bin, c.args...)
			}
			cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true} // no terminal
			var out, errb bytes.Buffer
			cmd.Stdout, cmd.Stderr = &out, &errb
			// A FIFO read by mistake would block for ever: bound the run.
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			timer := time.AfterFunc(2*time.Minute, func() { cmd.Process.Kill() })
			err := cmd.Wait()
			if !timer.Stop() {
				t.Fatalf("still running after 2 minutes (blocked?); killed. stderr %.300q", errb.String())
			}
			code := exitCode(err)
			if code != c.code {
				t.Fatalf("exit %d, want %d; stderr %.300q", code, c.code, errb.String())
			}
			if c.code == ExitOK {
				if errb.Len() > 0 {
					t.Errorf("stderr %.300q", errb.String())
				}
				return
			}
			checkOneLine(t, name, errb.String())
			if !strings.Contains(errb.String(), c.want) {
				t.Errorf("stderr %.300q lacks %q", errb.String(), c.want)
			}
		})
	}
}

// TestIncludeLoopAndFlood: through captune predict --config, an Include
// cycle is refused naming every file of it, 10,000 included files (a
// chain, a directory pattern, a whole directory) are refused at
// captune's cap of 1,000, and an included file over 16 MiB is refused, in
// one clear line.
func TestIncludeLoopAndFlood(t *testing.T) {
	dir := t.TempDir()
	write := func(name, text string) string {
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	a, b, c := filepath.Join(dir, "cycle", "a.conf"), filepath.Join(dir, "cycle", "b.conf"), filepath.Join(dir, "cycle", "c.conf")
	write("cycle/a.conf", "ServerName a\nInclude "+b+"\n")
	write("cycle/b.conf", "<IfModule mod_cap.c>\n  Include "+c+"\n</IfModule>\n")
	write("cycle/c.conf", "# back to the start\nInclude "+a+"\n")
	self := write("self.conf", "Include "+filepath.Join(dir, "self.conf")+"\n")

	for i := 0; i < 10000; i++ {
		write(fmt.Sprintf("chain/%05d.conf", i), fmt.Sprintf("Include %s\n", filepath.Join(dir, "chain", fmt.Sprintf("%05d.conf", i+1))))
		write(fmt.Sprintf("many/%05d.conf", i), fmt.Sprintf("# file %d\n", i))
	}
	write("chain/10000.conf", "CapabilitiesSet -CAP_CHOWN\n")
	pattern := write("pattern.conf", "Include "+filepath.Join(dir, "many", "*.conf")+"\n")
	folder := write("folder.conf", "Include "+filepath.Join(dir, "many")+"\n")
	zero := write("zero.conf", "ServerName z\nInclude /dev/zero\n")

	for _, tc := range []struct {
		name, conf string
		want       []string
	}{
		{"cycle of three", a, []string{"Include cycle", a + " -> " + b + " -> " + c + " -> " + a, c + ":2"}},
		{"includes itself", self, []string{"Include cycle", self + " -> " + self}},
		{"chain of 10,000", filepath.Join(dir, "chain", "00000.conf"), []string{"more than 1000 configuration files included", "refused by captune"}},
		{"pattern matching 10,000", pattern, []string{"more than 1000 configuration files included", "refused by captune"}},
		{"folder of 10,000", folder, []string{"more than 1000 configuration files included", "refused by captune"}},
		// Refused by captune, so proftpd -t (which would read it forever)
		// is never run.
		{"includes /dev/zero", zero, []string{zero + ":2: Include: '/dev/zero': not a regular file (a character device)", "refused by captune"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, stdout, stderr := run(t, "predict", "--config", tc.conf)
			if code != ExitUsage || stdout != "" {
				t.Fatalf("exit %d, stdout %q, stderr %q", code, stdout, stderr)
			}
			checkOneLine(t, tc.name, stderr)
			for _, w := range tc.want {
				if !strings.Contains(stderr, w) {
					t.Errorf("stderr %q lacks %q", stderr, w)
				}
			}
		})
	}
}
