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
	closeInheritedOnExec()
	// The hidden modes apply launches: the probe daemon and the raw-mode
	// supervisor.
	if len(os.Args) > 1 {
		switch os.Args[1] {
		case launch.TestdArg:
			os.Exit(launch.TestdMain(os.Args[2:]))
		case launch.SuperviseArg:
			os.Exit(launch.SuperviseMain(os.Args[2:]))
		}
	}
	os.Exit(cli.Run(cli.Env{Stdin: os.Stdin, Stdout: os.Stdout, Stderr: os.Stderr, ProcRoot: "/proc", Getenv: os.Getenv}, os.Args[1:]))
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
