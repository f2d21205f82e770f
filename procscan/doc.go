// Package procscan reads the capability state of live processes through
// procfs. It only reads: the /proc root is a value (New(root)) so tests
// can point it at fixture trees or at a private proc mount.
//
// Each snapshot re-reads every process's status and cmdline: proftpd
// rewrites its title and changes uids at login, so nothing about a process
// is cached between snapshots. Only user names by uid are cached.
//
// A proc tree may be crafted (ps --proc DIR) and any user can name a
// process proftpd, so nothing read here is trusted: every file is opened
// without blocking and without following a final symbolic link, checked
// to be a regular file on the opened descriptor and read within a bound
// (status 1 MiB, cmdline 256 KiB, cut and marked); what no kernel writes
// (a FIFO, a mask that is not hex, a 10 MB status) leaves the process out,
// counted in Snapshot.Malformed, while a process that exits mid-read is
// dropped silently. A process named proftpd is a master only when its
// real uid is root and its executable a root-owned file named proftpd;
// others are Snapshot.LookAlikes and their children get no role.
package procscan
