package ui

import "strings"

// primer teaches the five sets and the rules that move capabilities
// between them, in captune's own words: paragraphs of sentences. Every
// sentence is a claim that primer_test.go checks against captune's model
// of the kernel (capset/kernel) and of mod_cap (capset/modcap), so a
// sentence cannot change without its check being looked at again. A nil
// paragraph is a blank line.
var primer = [][]string{
	{
		"Every Linux thread carries five capability sets, each a 64-bit mask with one bit per capability (cap_chown is bit 0).",
		"/proc/PID/status prints them as CapInh, CapPrm, CapEff, CapBnd and CapAmb.",
	},
	nil,
	{
		"Permitted (Prm): what the thread may use.",
		"It can raise any of these into its effective set, and it can only shrink this set by itself.",
	},
	{
		"Effective (Eff): what the kernel checks at each privileged operation.",
		"A capability that is permitted but not effective does nothing until raised.",
	},
	{
		"Inheritable (Inh): what may pass through an execve into a program whose file capabilities also mark it inheritable.",
	},
	{
		"Bounding (Bnd): limits what an execve takes from a program's file permitted set, and what a thread may add to its inheritable set.",
		"A bit dropped from it never returns in that process tree.",
		"It does not limit capabilities that are already inheritable: an execve still grants them when the file marks them inheritable, or when the program runs as root.",
		"It grants nothing by itself.",
	},
	{
		"Ambient (Amb): what survives an execve of an ordinary program (no file capabilities, not set-user-ID or set-group-ID) for a non-root user.",
		"Each ambient bit must also be permitted and inheritable.",
	},
	nil,
	{
		"Across execve: the new permitted set is (inheritable & file inheritable) | (file permitted & bounding) | ambient; effective is the new permitted set when the file is marked effective, else the ambient set.",
		"When the real or the effective uid is 0, the kernel counts the program's file permitted and inheritable sets as full, so an execve as root makes the permitted set the bounding set plus the inheritable set.",
		"Only an effective uid of 0 also counts the file as marked effective: with real uid 0 and another effective uid, the new effective set is just the ambient set.",
		"With no_new_privs set, an execve ignores set-user-ID bits and never adds to the permitted set.",
	},
	nil,
	{
		"Across a uid change: when all of real, effective and saved uid leave 0, permitted, effective and ambient are cleared.",
		"With KEEPCAPS set, only ambient is cleared then, and effective only if the effective uid was 0 before the change.",
		"An effective uid going from 0 to nonzero clears effective; from nonzero to 0 it copies permitted into effective.",
	},
	nil,
	{
		"What mod_cap does to an FTP session: after a successful PASS it switches to the user with KEEPCAPS set and keeps only CAP_NET_BIND_SERVICE, CAP_CHOWN and CAP_SETUID/CAP_SETGID (plus CAP_AUDIT_WRITE with mod_auth_pam), adjusted by CapabilitiesSet.",
		"Then mod_auth's root revoke gives up uid 0: effective ends empty while permitted keeps the set, unless RootRevoke is off, CAP_SETUID was removed, or the user is root.",
		"The master process is never restricted.",
	},
}

// primerText is the primer as the overlay shows it: one paragraph a line.
func primerText() string {
	paras := make([]string, len(primer))
	for i, p := range primer {
		paras[i] = strings.Join(p, " ")
	}
	return strings.Join(paras, "\n")
}
