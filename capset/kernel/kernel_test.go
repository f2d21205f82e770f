package kernel

import (
	"errors"
	"testing"

	"captune/capset"
)

const all = capset.Set(1<<41 - 1)

var (
	netRaw  = capset.Of(capset.NetRaw)
	netBind = capset.Of(capset.NetBindService)
	chown   = capset.Of(capset.Chown)
)

func root() Cred {
	return Cred{Permitted: all, Effective: all, Bounding: all}
}

func user(uid uint32) Cred {
	return Cred{UID: uid, EUID: uid, SUID: uid, Bounding: all}
}

func mustExec(t *testing.T, c Cred, f File) Cred {
	t.Helper()
	n, err := Exec(c, f)
	if err != nil {
		t.Fatalf("Exec: %v", err)
	}
	return n
}

func TestExec(t *testing.T) {
	plain := File{}
	cases := []struct {
		name string
		c    Cred
		f    File
		want Cred
	}{
		{"root runs a plain program: permitted and effective are the bounding set",
			root(), plain, Cred{Permitted: all, Effective: all, Bounding: all}},
		{"root with a narrowed bounding set",
			Cred{Permitted: all, Effective: all, Bounding: all &^ netRaw}, plain,
			Cred{Permitted: all &^ netRaw, Effective: all &^ netRaw, Bounding: all &^ netRaw}},
		{"real uid 0, effective uid not: permitted from the root rule, effective only ambient",
			Cred{UID: 0, EUID: 1000, SUID: 0, Bounding: all}, plain,
			Cred{UID: 0, EUID: 1000, SUID: 1000, Permitted: all, Bounding: all}},
		{"a user with nothing gets nothing",
			user(1000), plain, user(1000)},
		{"ambient survives a plain program and is effective",
			Cred{UID: 1000, EUID: 1000, SUID: 1000, Permitted: netRaw, Inheritable: netRaw, Ambient: netRaw, Bounding: all}, plain,
			Cred{UID: 1000, EUID: 1000, SUID: 1000, Permitted: netRaw, Effective: netRaw, Inheritable: netRaw, Ambient: netRaw, Bounding: all}},
		{"ambient also survives with the effective uid apart from the real one (Linux 6.16+)",
			Cred{UID: 1000, EUID: 1001, SUID: 1000, Permitted: netRaw, Inheritable: netRaw, Ambient: netRaw, Bounding: all}, plain,
			Cred{UID: 1000, EUID: 1001, SUID: 1001, Permitted: netRaw, Effective: netRaw, Inheritable: netRaw, Ambient: netRaw, Bounding: all}},
		{"file capabilities clear ambient",
			Cred{UID: 1000, EUID: 1000, SUID: 1000, Permitted: netRaw, Inheritable: netRaw, Ambient: netRaw, Bounding: all},
			File{Caps: true, Permitted: netBind, Effective: true},
			Cred{UID: 1000, EUID: 1000, SUID: 1000, Permitted: netBind, Effective: netBind, Inheritable: netRaw, Bounding: all}},
		{"a set-user-ID program clears ambient",
			Cred{UID: 1000, EUID: 1000, SUID: 1000, Permitted: netRaw, Inheritable: netRaw, Ambient: netRaw, Bounding: all},
			File{SetUID: true, Owner: 1002},
			Cred{UID: 1000, EUID: 1002, SUID: 1002, Inheritable: netRaw, Bounding: all}},
		{"set-user-ID root for a user: the root rule, effective too",
			user(1000), File{SetUID: true, Owner: 0},
			Cred{UID: 1000, EUID: 0, SUID: 0, Permitted: all, Effective: all, Bounding: all}},
		{"set-user-ID root with file capabilities for a user: only the file capabilities",
			user(1000), File{SetUID: true, Owner: 0, Caps: true, Permitted: netBind},
			Cred{UID: 1000, EUID: 0, SUID: 0, Permitted: netBind, Bounding: all}},
		{"file permitted is masked by bounding",
			Cred{UID: 1000, EUID: 1000, SUID: 1000, Bounding: all &^ netRaw}, File{Caps: true, Permitted: netRaw | netBind},
			Cred{UID: 1000, EUID: 1000, SUID: 1000, Permitted: netBind, Bounding: all &^ netRaw}},
		{"inheritable is not masked by bounding",
			Cred{UID: 1000, EUID: 1000, SUID: 1000, Inheritable: netRaw, Bounding: all &^ netRaw}, File{Caps: true, Inheritable: netRaw, Effective: true},
			Cred{UID: 1000, EUID: 1000, SUID: 1000, Permitted: netRaw, Effective: netRaw, Inheritable: netRaw, Bounding: all &^ netRaw}},
		{"root regains a dropped bounding bit that is still inheritable",
			Cred{Permitted: all, Effective: all, Inheritable: netRaw, Bounding: all &^ netRaw}, plain,
			Cred{Permitted: all, Effective: all, Inheritable: netRaw, Bounding: all &^ netRaw}},
		{"SECBIT_NOROOT: root gets only what the file gives",
			Cred{Permitted: all, Effective: all, Bounding: all, Secure: Securebits{NoRoot: true}}, plain,
			Cred{Bounding: all, Secure: Securebits{NoRoot: true}}},
		{"no_new_privs ignores set-user-ID",
			Cred{UID: 1000, EUID: 1000, SUID: 1000, Bounding: all, NoNewPrivs: true}, File{SetUID: true, Owner: 0},
			Cred{UID: 1000, EUID: 1000, SUID: 1000, Bounding: all, NoNewPrivs: true}},
		{"no_new_privs: file capabilities add nothing",
			Cred{UID: 1000, EUID: 1000, SUID: 1000, Permitted: chown, Bounding: all, NoNewPrivs: true}, File{Caps: true, Permitted: netBind | chown},
			Cred{UID: 1000, EUID: 1000, SUID: 1000, Permitted: chown, Bounding: all, NoNewPrivs: true}},
		{"no_new_privs: root keeps only what it had",
			Cred{Permitted: chown, Effective: chown, Bounding: all, NoNewPrivs: true}, plain,
			Cred{Permitted: chown, Effective: chown, Bounding: all, NoNewPrivs: true}},
		{"nosuid mount: set-user-ID and file capabilities ignored",
			user(1000), File{SetUID: true, Owner: 0, Caps: true, Permitted: netBind, NoSUID: true}, user(1000)},
		{"execve clears KEEPCAPS",
			Cred{Permitted: all, Effective: all, Bounding: all, Secure: Securebits{KeepCaps: true}}, plain,
			Cred{Permitted: all, Effective: all, Bounding: all}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if got := mustExec(t, c.c, c.f); got != c.want {
				t.Errorf("\ngot  %+v\nwant %+v", got, c.want)
			}
		})
	}
}

// TestExecLegacyEffectiveFile: a file marked effective whose permitted
// set the thread cannot get in full does not run.
func TestExecLegacyEffectiveFile(t *testing.T) {
	c := Cred{UID: 1000, EUID: 1000, SUID: 1000, Bounding: all &^ netRaw}
	if _, err := Exec(c, File{Caps: true, Permitted: netRaw, Effective: true}); !errors.Is(err, ErrPerm) {
		t.Errorf("err %v, want ErrPerm", err)
	}
	if _, err := Exec(c, File{Caps: true, Permitted: netRaw}); err != nil {
		t.Errorf("not effective: err %v, want nil", err)
	}
}

func TestUIDChanges(t *testing.T) {
	type step func(Cred) (Cred, error)
	cases := []struct {
		name  string
		start Cred
		steps []step
		want  Cred
	}{
		{"root to a user: everything cleared",
			root(), []step{func(c Cred) (Cred, error) { return c.SetResUID(1000, 1000, 1000) }},
			Cred{UID: 1000, EUID: 1000, SUID: 1000, Bounding: all}},
		{"root to a user with KEEPCAPS: permitted stays, effective goes (euid left 0)",
			Cred{Permitted: all, Effective: all, Bounding: all, Secure: Securebits{KeepCaps: true}},
			[]step{func(c Cred) (Cred, error) { return c.SetResUID(1000, 1000, 1000) }},
			Cred{UID: 1000, EUID: 1000, SUID: 1000, Permitted: all, Bounding: all, Secure: Securebits{KeepCaps: true}}},
		{"KEEPCAPS, euid already nonzero: effective stays, only ambient goes",
			Cred{UID: 0, EUID: 1000, SUID: 0, Permitted: netRaw, Effective: netRaw, Inheritable: netRaw, Ambient: netRaw, Bounding: all, Secure: Securebits{KeepCaps: true}},
			[]step{func(c Cred) (Cred, error) { return c.SetResUID(1000, 1000, 1000) }},
			Cred{UID: 1000, EUID: 1000, SUID: 1000, Permitted: netRaw, Effective: netRaw, Inheritable: netRaw, Bounding: all, Secure: Securebits{KeepCaps: true}}},
		{"without KEEPCAPS, euid already nonzero: all cleared",
			Cred{UID: 0, EUID: 1000, SUID: 0, Permitted: netRaw, Effective: netRaw, Bounding: all},
			[]step{func(c Cred) (Cred, error) { return c.SetResUID(1000, 1000, 1000) }},
			Cred{UID: 1000, EUID: 1000, SUID: 1000, Bounding: all}},
		{"euid 0 to nonzero clears effective, back to 0 copies permitted",
			root(), []step{func(c Cred) (Cred, error) { return c.SetEUID(1000) }},
			Cred{UID: 0, EUID: 1000, SUID: 0, Permitted: all, Bounding: all}},
		{"and back",
			Cred{UID: 0, EUID: 1000, SUID: 0, Permitted: all, Bounding: all}, []step{func(c Cred) (Cred, error) { return c.SetEUID(0) }},
			root()},
		{"SECBIT_NO_SETUID_FIXUP: sets untouched",
			Cred{Permitted: all, Effective: all, Bounding: all, Secure: Securebits{NoSetuidFixup: true}},
			[]step{func(c Cred) (Cred, error) { return c.SetResUID(1000, 1000, 1000) }},
			Cred{UID: 1000, EUID: 1000, SUID: 1000, Permitted: all, Effective: all, Bounding: all, Secure: Securebits{NoSetuidFixup: true}}},
		{"setreuid(r, e) sets the saved uid to the new effective uid",
			root(), []step{func(c Cred) (Cred, error) { return c.SetReUID(0, 1000) }},
			Cred{UID: 0, EUID: 1000, SUID: 1000, Permitted: all, Bounding: all}},
		{"setuid without CAP_SETUID changes only the effective uid",
			Cred{UID: 1000, EUID: 1001, SUID: 1000, Permitted: netRaw, Bounding: all}, []step{func(c Cred) (Cred, error) { return c.SetUID(1000) }},
			Cred{UID: 1000, EUID: 1000, SUID: 1000, Permitted: netRaw, Bounding: all}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got := c.start
			for _, s := range c.steps {
				var err error
				if got, err = s(got); err != nil {
					t.Fatal(err)
				}
			}
			if got != c.want {
				t.Errorf("\ngot  %+v\nwant %+v", got, c.want)
			}
		})
	}
}

func TestRefusals(t *testing.T) {
	u := Cred{UID: 1000, EUID: 1000, SUID: 1000, Permitted: netRaw, Bounding: all &^ chown}
	for name, f := range map[string]func() error{
		"setresuid to a uid the thread does not hold": func() error { _, err := u.SetResUID(0, Unchanged, Unchanged); return err },
		"setreuid effective to a foreign uid":         func() error { _, err := u.SetReUID(Unchanged, 0); return err },
		"setuid to a foreign uid":                     func() error { _, err := u.SetUID(0); return err },
		"capset growing permitted":                    func() error { _, err := u.Capset(netRaw|netBind, 0, 0); return err },
		"capset effective beyond permitted":           func() error { _, err := u.Capset(netRaw, netRaw|netBind, 0); return err },
		"capset inheritable beyond permitted":         func() error { _, err := u.Capset(netRaw, 0, netBind); return err },
		"capset inheritable outside bounding":         func() error { _, err := u.Capset(netRaw, 0, chown); return err },
		"ambient raise without inheritable":           func() error { _, err := u.RaiseAmbient(capset.NetRaw); return err },
		"bounding drop without CAP_SETPCAP in effect": func() error { _, err := u.DropBounding(capset.NetRaw); return err },
		"ambient raise with SECBIT_NO_CAP_AMBIENT_RAISE": func() error {
			c := u
			c.Inheritable, c.Secure.NoCapAmbientRaise = netRaw, true
			_, err := c.RaiseAmbient(capset.NetRaw)
			return err
		},
	} {
		if err := f(); !errors.Is(err, ErrPerm) {
			t.Errorf("%s: err %v, want ErrPerm", name, err)
		}
	}
	c, err := u.Capset(netRaw, netRaw, netRaw)
	if err != nil {
		t.Fatal(err)
	}
	if c, err = c.RaiseAmbient(capset.NetRaw); err != nil || c.Ambient != netRaw {
		t.Fatalf("ambient raise: %v %+v", err, c)
	}
	if c, _ = c.Capset(netRaw, 0, 0); c.Ambient != 0 {
		t.Errorf("ambient outlived its inheritable bit: %+v", c)
	}
}
