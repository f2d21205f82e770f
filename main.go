// Command captune lets a person see, understand, tune and test the Linux
// capabilities of running processes, and speaks ProFTPD's mod_cap natively.
package main

import (
	"os"

	"captune/cli"
	"captune/launch"
)

func main() {
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
