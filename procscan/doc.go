// Package procscan reads the capability state of live processes through
// procfs. It only reads: the /proc root is a value (New(root)) so tests
// can point it at fixture trees or at a private proc mount.
//
// Each snapshot re-reads every process's status and cmdline: proftpd
// rewrites its title and changes uids at login, so nothing about a process
// is cached between snapshots. Only user names by uid are cached.
package procscan
