package modcap

import (
	"captune/capset"
	"captune/capset/kernel"
)

// proc is the credential state of a simulated thread: uids and the
// capability sets. Its system calls run through captune's one model of
// the kernel's rules (capset/kernel).
type proc struct {
	ruid, euid, suid uint32
	P, E, I, A, B    capset.Set
	keepCaps         bool
}

const unchanged = kernel.Unchanged

func (p *proc) cred() kernel.Cred {
	return kernel.Cred{UID: p.ruid, EUID: p.euid, SUID: p.suid,
		Permitted: p.P, Effective: p.E, Inheritable: p.I, Ambient: p.A, Bounding: p.B,
		Secure: kernel.Securebits{KeepCaps: p.keepCaps}}
}

// set takes the outcome of a modelled system call.
func (p *proc) set(c kernel.Cred, err error) error {
	if err != nil {
		return err
	}
	p.ruid, p.euid, p.suid = c.UID, c.EUID, c.SUID
	p.P, p.E, p.I, p.A, p.B = c.Permitted, c.Effective, c.Inheritable, c.Ambient, c.Bounding
	p.keepCaps = c.Secure.KeepCaps
	return nil
}

func (p *proc) setreuid(r, e int64) error { return p.set(p.cred().SetReUID(r, e)) }

func (p *proc) seteuid(e uint32) error { return p.set(p.cred().SetEUID(e)) }

func (p *proc) setuid(u uint32) error { return p.set(p.cred().SetUID(u)) }

func (p *proc) capset(P, E, I capset.Set) error { return p.set(p.cred().Capset(P, E, I)) }
