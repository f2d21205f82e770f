package modcap

import (
	"errors"

	"captune/capset"
)

// errPerm stands for EPERM from a simulated system call.
var errPerm = errors.New("EPERM")

// proc is the credential state of a simulated thread: uids and the
// capability sets, with the kernel's rules for changing them.
type proc struct {
	ruid, euid, suid uint32
	P, E, I, A, B    capset.Set
	keepCaps         bool
}

const unchanged = -1

func (p *proc) can(c capset.Cap) bool { return p.E.Has(c) }

// fixup applies capabilities(7), "Effect of user ID changes on
// capabilities", after a uid change from old to p.
func (p *proc) fixup(old proc) {
	oldRoot := old.ruid == 0 || old.euid == 0 || old.suid == 0
	newNonRoot := p.ruid != 0 && p.euid != 0 && p.suid != 0
	if oldRoot && newNonRoot {
		if !p.keepCaps {
			p.P, p.E = 0, 0
		}
		p.A = 0
	}
	if old.euid == 0 && p.euid != 0 {
		p.E = 0
	}
	if old.euid != 0 && p.euid == 0 {
		p.E = p.P
	}
}

// setreuid follows the kernel's __sys_setreuid.
func (p *proc) setreuid(r, e int64) error {
	old := *p
	priv := p.can(capset.Setuid)
	if r != unchanged {
		ru := uint32(r)
		if ru != old.ruid && ru != old.euid && !priv {
			return errPerm
		}
		p.ruid = ru
	}
	if e != unchanged {
		eu := uint32(e)
		if eu != old.ruid && eu != old.euid && eu != old.suid && !priv {
			*p = old
			return errPerm
		}
		p.euid = eu
	}
	if r != unchanged || (e != unchanged && uint32(e) != old.ruid) {
		p.suid = p.euid
	}
	p.fixup(old)
	return nil
}

// seteuid is glibc's seteuid: setresuid(-1, e, -1).
func (p *proc) seteuid(e uint32) error {
	old := *p
	if !p.can(capset.Setuid) && e != old.ruid && e != old.euid && e != old.suid {
		return errPerm
	}
	p.euid = e
	p.fixup(old)
	return nil
}

// setuid follows the kernel's __sys_setuid.
func (p *proc) setuid(u uint32) error {
	old := *p
	switch {
	case p.can(capset.Setuid):
		p.ruid, p.euid, p.suid = u, u, u
	case u == old.ruid || u == old.suid:
		p.euid = u
	default:
		return errPerm
	}
	p.fixup(old)
	return nil
}

// capset follows the kernel's cap_capset checks.
func (p *proc) capset(P, E, I capset.Set) error {
	if I&^(p.I|p.P) != 0 && !p.can(capset.Setpcap) {
		return errPerm
	}
	if I&^(p.I|p.B) != 0 {
		return errPerm
	}
	if P&^p.P != 0 {
		return errPerm
	}
	if E&^P != 0 {
		return errPerm
	}
	p.P, p.E, p.I = P, E, I
	p.A &= P & I
	return nil
}
