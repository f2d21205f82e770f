// Command lookalike is a hostile local user's fake proftpd for captune's
// drift tests. Installed as a file named proftpd and started as
// "proftpd -c FIFO", it starts a child titled like a logged-in FTP session
// ("proftpd: alice - 1.2.3.4: IDLE", or the title in LOOKALIKE_TITLE) and
// both sleep until they are killed (the child also when its parent dies).
package main

import (
	"os"
	"os/exec"
	"syscall"
	"time"
)

func main() {
	if os.Getenv("LOOKALIKE_CHILD") == "" {
		title := os.Getenv("LOOKALIKE_TITLE")
		if title == "" {
			title = "proftpd: alice - 1.2.3.4: IDLE"
		}
		self, err := os.Executable()
		if err != nil {
			os.Exit(1)
		}
		cmd := exec.Command(self)
		cmd.Args = []string{title}
		cmd.Env = append(os.Environ(), "LOOKALIKE_CHILD=1")
		cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
		if err := cmd.Start(); err != nil {
			os.Exit(1)
		}
	}
	time.Sleep(time.Hour)
}
