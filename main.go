// Command captune lets a person see, understand, tune and test the Linux
// capabilities of running processes, and speaks ProFTPD's mod_cap natively.
package main

import (
	"os"

	"captune/cli"
)

func main() {
	os.Exit(cli.Run(cli.Env{Stdin: os.Stdin, Stdout: os.Stdout, Stderr: os.Stderr, ProcRoot: "/proc", Getenv: os.Getenv}, os.Args[1:]))
}
