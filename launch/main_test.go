package launch

import (
	"bufio"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// TestMain lets the test binary stand in for captune: the hidden modes
// the tests start (janitor, probe daemon, supervisor) are this binary
// re-executed. With CAPTUNE_TEST_HOSTILE set it is instead a hostile
// caller of a hidden mode (see hostileMain).
func TestMain(m *testing.M) {
	if h := os.Getenv("CAPTUNE_TEST_HOSTILE"); h != "" {
		os.Exit(hostileMain(h))
	}
	code := m.Run()
	Shutdown()
	os.Exit(code)
}

// hostile is what a hostile caller does: start Target in a hidden Mode
// with a socket of its own on fd 3 (or exec it in place), write Messages
// on it, and print every line the hidden mode answers, then "exit N".
type hostile struct {
	Target   string            `json:"target"`
	Mode     string            `json:"mode"`
	Messages []json.RawMessage `json:"messages"`
	// Exec execs the hidden mode in place (its parent is then this
	// caller's parent).
	Exec bool `json:"exec"`
	// RecordDir, when set, gets an owner record naming this caller, and
	// FixtureDir's files are sent as fixtures (testd).
	RecordDir string `json:"record_dir"`
}

func hostileMain(arg string) int {
	// The hidden mode it starts must not be a hostile caller in turn.
	os.Unsetenv("CAPTUNE_TEST_HOSTILE")
	var h hostile
	if err := json.Unmarshal([]byte(arg), &h); err != nil {
		fmt.Println("bad hostile spec:", err)
		return 99
	}
	fds, err := unix.Socketpair(unix.AF_UNIX, unix.SOCK_STREAM, 0)
	if err != nil {
		fmt.Println(err)
		return 99
	}
	if h.RecordDir != "" {
		self, _ := HolderOf(os.Getpid())
		rec, _ := json.Marshal(ownerRecord{Kind: "probe", Boot: bootID(), Holders: []Holder{self}})
		os.Remove(filepath.Join(h.RecordDir, ownerFile))
		if err := os.WriteFile(filepath.Join(h.RecordDir, ownerFile), rec, 0o644); err != nil {
			fmt.Println(err)
			return 99
		}
		var ids []fixtureID
		for _, f := range fixtures(uint32(os.Getuid()), uint32(os.Getgid())) {
			var st unix.Stat_t
			if unix.Stat(filepath.Join(h.RecordDir, f.name), &st) == nil {
				ids = append(ids, fixtureID{Name: f.name, Dev: st.Dev, Ino: st.Ino})
			}
		}
		spec := testdSpec{Dir: h.RecordDir, Fixtures: ids}
		b, _ := json.Marshal(spec)
		h.Messages = append([]json.RawMessage{b}, h.Messages...)
	}
	sock := os.NewFile(uintptr(fds[0]), "mine")
	for _, m := range h.Messages {
		sock.Write(append(m, '\n'))
	}
	// Nothing more to say: the hidden mode reads end of input after the
	// messages (as if captune had gone).
	unix.Shutdown(fds[0], unix.SHUT_WR)
	if h.Exec {
		if err := unix.Dup2(fds[1], 3); err != nil {
			fmt.Println(err)
			return 99
		}
		err := syscall.Exec(h.Target, []string{"captune", h.Mode}, os.Environ())
		fmt.Println("exec:", err)
		return 99
	}
	cmd := exec.Command(h.Target, h.Mode)
	cmd.Args[0] = "captune"
	cmd.ExtraFiles = []*os.File{os.NewFile(uintptr(fds[1]), "theirs")}
	cmd.Stderr = os.Stdout
	if err := cmd.Start(); err != nil {
		fmt.Println(err)
		return 99
	}
	cmd.ExtraFiles[0].Close()
	done := make(chan struct{})
	go func() {
		r := bufio.NewScanner(sock)
		for r.Scan() {
			fmt.Println("reply:", r.Text())
		}
		close(done)
	}()
	select {
	case <-done:
	case <-time.After(20 * time.Second):
		fmt.Println("no end of replies within 20 s")
	}
	sock.Close()
	err = cmd.Wait()
	code := 0
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	}
	fmt.Println("exit", code)
	return 0
}
