// Package capset holds Linux capabilities as plain values: their names,
// 64-bit sets, the text forms people and tools use for them, and a
// catalogue that explains each one.
//
// A Linux process carries five capability sets, each a 64-bit mask with
// one bit per capability (cap_chown is bit 0):
//
//   - Permitted (CapPrm): the capabilities the thread may use. It can
//     raise any of them into its effective set, and it can only ever shrink
//     this set by itself.
//   - Effective (CapEff): what the kernel actually checks at each
//     privileged operation. A permitted capability that is not effective
//     does nothing until it is raised.
//   - Inheritable (CapInh): what may survive an execve into a program whose
//     file capabilities also name it as inheritable.
//   - Bounding (CapBnd): a limit on what an execve takes from the file's
//     permitted capabilities (and from root's "all file capabilities"
//     rule), and on what can be added to the inheritable set; bits dropped
//     from it never come back in that process tree. It does not stop
//     inheritable capabilities the file also marks inheritable from
//     becoming permitted at execve.
//   - Ambient (CapAmb): capabilities that survive an execve of an ordinary
//     program (one without file capabilities) for a non-root user. Every
//     ambient bit must also be permitted and inheritable.
//
// /proc/PID/status prints each set as 16 hex digits. This package parses
// and prints those masks, comma lists of names, libcap's text form
// ("=ep cap_sys_resource-ep") and libcap's IAB form ("!cap_sys_admin,^cap_chown").
// It changes nothing on the system.
package capset
