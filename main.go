// Command captune lets a person see, understand, tune and test the Linux
// capabilities of running processes, and speaks ProFTPD's mod_cap natively.
package main

import (
	"os"
	"strconv"

	"golang.org/x/sys/unix"

	"captune/cli"
	"captune/launch"
)

func main() {
	// The hidden modes of the binary (the probe daemon, the raw-mode
	// supervisor and the janitor) have already run by now, from the
	// launch package's init: they take nothing from the command line and
	// check who started them (see launch.Hidden).
	closeInheritedOnExec()
	code := cli.Run(cli.Env{Stdin: os.Stdin, Stdout: os.Stdout, Stderr: os.Stderr, ProcRoot: "/proc", Getenv: os.Getenv}, os.Args[1:])
	launch.Shutdown()
	os.Exit(code)
}

// closeInheritedOnExec marks every descriptor above standard error
// close-on-exec, so that what captune starts (the probe daemon, a raw
// command, proftpd) holds only the descriptors captune hands it on
// purpose, never one captune itself inherited from its parent.
func closeInheritedOnExec() {
	if unix.CloseRange(3, ^uint(0), unix.CLOSE_RANGE_CLOEXEC) == nil {
		return
	}
	// Kernels before 5.11: one by one.
	ents, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		return
	}
	for _, e := range ents {
		if fd, err := strconv.Atoi(e.Name()); err == nil && fd > 2 {
			unix.FcntlInt(uintptr(fd), unix.F_SETFD, unix.FD_CLOEXEC)
		}
	}
}
