// Package modcap reproduces ProFTPD's mod_cap: it reads proftpd
// configuration files the way proftpd does, checks mod_cap's directives
// with proftpd's own error texts, predicts the capabilities and uids of an
// FTP session process after login, and writes the minimal directive block
// that makes mod_cap keep a chosen set.
//
// The semantics follow ProFTPD 1.3.8's modules/mod_cap.c, mod_auth.c and
// mod_ifsession.c, as checked against a real Debian proftpd-core. The
// prediction simulates the system calls a session process makes at login
// (setreuid, capset, prctl(PR_SET_KEEPCAPS), seteuid, setuid) under the
// kernel's rules for capabilities across uid changes, so it also predicts
// the outcome of configurations nobody wrote a rule for.
//
// The package is pure: it reads configuration files but never runs
// proftpd or changes the system.
package modcap
