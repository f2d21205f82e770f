// Package kernel models the Linux kernel's capability rules as pure
// functions on values: what execve does to a thread's five sets and uids
// (file capabilities, the root rules, ambient, bounding, no_new_privs,
// set-user-ID bits), what uid changes do (KEEPCAPS and the other
// securebits), and the checks of capset, the ambient set and the
// bounding set. It follows security/commoncap.c and capabilities(7); where
// kernels differ it follows Linux 6.16 and later (observed on 6.18).
//
// It is captune's one model of these rules: mod_cap's session
// prediction (capset/modcap) runs its system calls through it, and the
// primer the explorer shows is tested against it. It reads nothing from
// the running system.
package kernel

import (
	"errors"

	"captune/capset"
)

// ErrPerm stands for EPERM from a modelled system call.
var ErrPerm = errors.New("operation not permitted (EPERM)")

// Securebits are the thread's securebits flags that change capability
// rules (prctl PR_SET_SECUREBITS; KEEPCAPS also by PR_SET_KEEPCAPS).
type Securebits struct {
	// NoRoot (SECBIT_NOROOT): uid 0 gets no capabilities at execve.
	NoRoot bool
	// NoSetuidFixup (SECBIT_NO_SETUID_FIXUP): uid changes leave the
	// capability sets alone.
	NoSetuidFixup bool
	// KeepCaps (SECBIT_KEEP_CAPS): when every uid leaves 0 the permitted
	// set stays. execve clears it.
	KeepCaps bool
	// NoCapAmbientRaise (SECBIT_NO_CAP_AMBIENT_RAISE): the ambient set
	// cannot be raised.
	NoCapAmbientRaise bool
}

// Cred is a thread's credentials as far as capabilities go.
type Cred struct {
	// UID, EUID and SUID are the real, effective and saved uid.
	UID, EUID, SUID uint32
	// The five capability sets.
	Permitted, Effective, Inheritable, Ambient, Bounding capset.Set
	// Secure holds the securebits.
	Secure Securebits
	// NoNewPrivs is the no_new_privs flag (prctl PR_SET_NO_NEW_PRIVS).
	NoNewPrivs bool
}

// File is what execve reads from the program's file.
type File struct {
	// Caps is set when the file has capabilities (security.capability);
	// Permitted, Inheritable and Effective are their content.
	Caps                   bool
	Permitted, Inheritable capset.Set
	Effective              bool
	// SetUID is the set-user-ID bit; Owner is the file's owner.
	SetUID bool
	Owner  uint32
	// SetGID is the set-group-ID bit (gids are not modelled: it counts as
	// a change of the effective gid).
	SetGID bool
	// NoSUID says the file is on a nosuid mount: set-id bits and file
	// capabilities are ignored.
	NoSUID bool
}

// Exec returns the credentials after c executes f (security/commoncap.c
// cap_bprm_creds_from_file with fs/exec.c bprm_fill_uid), ptrace aside:
//
//	P'(ambient)     = 0 if the file has capabilities or changes an id, else P(ambient)
//	P'(permitted)   = (P(inheritable) & F(inheritable)) | (F(permitted) & P(bounding)) | P'(ambient)
//	P'(effective)   = F(effective) ? P'(permitted) : P'(ambient)
//	P'(inheritable) = P(inheritable);  P'(bounding) = P(bounding)
//
// With a real or effective uid of 0 (unless SECBIT_NOROOT, and unless a
// set-user-ID-root file with capabilities runs for a non-root user) the
// file's permitted and inheritable sets count as full; only an
// effective uid of 0 makes F(effective) count as set. no_new_privs
// ignores set-id bits and keeps permitted within what the thread had.
// A file marked effective whose permitted set the thread cannot get in
// full fails with ErrPerm. The saved uid becomes the effective uid, and
// KEEPCAPS is cleared.
func Exec(c Cred, f File) (Cred, error) {
	n := c
	honourSetID := !f.NoSUID && !c.NoNewPrivs
	if f.SetUID && honourSetID {
		n.EUID = f.Owner
	}
	setgid := f.SetGID && honourSetID
	hasFcap := f.Caps && !f.NoSUID
	effective := false
	var p capset.Set
	if hasFcap {
		p = c.Bounding&f.Permitted | c.Inheritable&f.Inheritable
		effective = f.Effective
		if effective && f.Permitted&^p != 0 {
			return c, ErrPerm
		}
	}
	if !c.Secure.NoRoot && !(hasFcap && n.UID != 0 && n.EUID == 0) {
		if n.UID == 0 || n.EUID == 0 {
			p = c.Bounding | c.Inheritable
		}
		if n.EUID == 0 {
			effective = true
		}
	}
	idChanged := n.EUID != c.EUID || setgid
	if c.NoNewPrivs && (idChanged || p&^c.Permitted != 0) {
		n.EUID = n.UID
		p &= c.Permitted
	}
	n.SUID = n.EUID
	if hasFcap || idChanged {
		n.Ambient = 0
	}
	n.Permitted = p | n.Ambient
	if effective {
		n.Effective = n.Permitted
	} else {
		n.Effective = n.Ambient
	}
	n.Secure.KeepCaps = false
	return n, nil
}

// Unchanged leaves a uid as it is in SetResUID and SetReUID (the -1 of
// the system calls).
const Unchanged = -1

func (c Cred) can(cp capset.Cap) bool { return c.Effective.Has(cp) }

// fixup applies capabilities(7), "Effect of user ID changes on
// capabilities" (cap_emulate_setxuid), after a uid change from old to c.
func (c *Cred) fixup(old Cred) {
	if c.Secure.NoSetuidFixup {
		return
	}
	oldRoot := old.UID == 0 || old.EUID == 0 || old.SUID == 0
	newNonRoot := c.UID != 0 && c.EUID != 0 && c.SUID != 0
	if oldRoot && newNonRoot {
		if !c.Secure.KeepCaps {
			c.Permitted, c.Effective = 0, 0
		}
		c.Ambient = 0
	}
	if old.EUID == 0 && c.EUID != 0 {
		c.Effective = 0
	}
	if old.EUID != 0 && c.EUID == 0 {
		c.Effective = c.Permitted
	}
}

func (c Cred) holds(u uint32) bool { return u == c.UID || u == c.EUID || u == c.SUID }

// SetResUID is setresuid(2): each uid that is not Unchanged becomes the
// given one; without CAP_SETUID in effect each must be one of the
// thread's current uids.
func (c Cred) SetResUID(r, e, s int64) (Cred, error) {
	n := c
	for _, id := range []struct {
		v   int64
		dst *uint32
	}{{r, &n.UID}, {e, &n.EUID}, {s, &n.SUID}} {
		if id.v == Unchanged {
			continue
		}
		if !c.can(capset.Setuid) && !c.holds(uint32(id.v)) {
			return c, ErrPerm
		}
		*id.dst = uint32(id.v)
	}
	n.fixup(c)
	return n, nil
}

// SetReUID is setreuid(2) (the kernel's __sys_setreuid): the saved uid
// follows the effective uid when the real uid is set, or the effective
// uid is set to something other than the old real uid.
func (c Cred) SetReUID(r, e int64) (Cred, error) {
	n := c
	priv := c.can(capset.Setuid)
	if r != Unchanged {
		u := uint32(r)
		if u != c.UID && u != c.EUID && !priv {
			return c, ErrPerm
		}
		n.UID = u
	}
	if e != Unchanged {
		u := uint32(e)
		if !c.holds(u) && !priv {
			return c, ErrPerm
		}
		n.EUID = u
	}
	if r != Unchanged || (e != Unchanged && uint32(e) != c.UID) {
		n.SUID = n.EUID
	}
	n.fixup(c)
	return n, nil
}

// SetEUID is glibc's seteuid: setresuid(-1, e, -1).
func (c Cred) SetEUID(e uint32) (Cred, error) { return c.SetResUID(Unchanged, int64(e), Unchanged) }

// SetUID is setuid(2): with CAP_SETUID every uid becomes u; without, u
// must be the real or saved uid and only the effective uid changes.
func (c Cred) SetUID(u uint32) (Cred, error) {
	n := c
	switch {
	case c.can(capset.Setuid):
		n.UID, n.EUID, n.SUID = u, u, u
	case u == c.UID || u == c.SUID:
		n.EUID = u
	default:
		return c, ErrPerm
	}
	n.fixup(c)
	return n, nil
}

// Capset is capset(2) on the thread itself: permitted may only shrink,
// effective must stay within the new permitted, and inheritable may only
// gain what is permitted (or anything with CAP_SETPCAP in effect), never
// what is outside the bounding set. The ambient set keeps only what is
// still permitted and inheritable.
func (c Cred) Capset(p, e, i capset.Set) (Cred, error) {
	if i&^(c.Inheritable|c.Permitted) != 0 && !c.can(capset.Setpcap) {
		return c, ErrPerm
	}
	if i&^(c.Inheritable|c.Bounding) != 0 || p&^c.Permitted != 0 || e&^p != 0 {
		return c, ErrPerm
	}
	n := c
	n.Permitted, n.Effective, n.Inheritable = p, e, i
	n.Ambient &= p & i
	return n, nil
}

// RaiseAmbient is prctl(PR_CAP_AMBIENT_RAISE): cp must be permitted and
// inheritable, and SECBIT_NO_CAP_AMBIENT_RAISE unset.
func (c Cred) RaiseAmbient(cp capset.Cap) (Cred, error) {
	if !c.Permitted.Has(cp) || !c.Inheritable.Has(cp) || c.Secure.NoCapAmbientRaise {
		return c, ErrPerm
	}
	c.Ambient = c.Ambient.With(cp)
	return c, nil
}

// DropBounding is prctl(PR_CAPBSET_DROP): it needs CAP_SETPCAP in
// effect. Nothing adds a capability to the bounding set again.
func (c Cred) DropBounding(cp capset.Cap) (Cred, error) {
	if !c.can(capset.Setpcap) {
		return c, ErrPerm
	}
	c.Bounding = c.Bounding.Without(cp)
	return c, nil
}
