package drift

import (
	"os"
	"path/filepath"
	"testing"

	"captune/procscan"
)

func TestCheckOnlyComparesLoggedInSessions(t *testing.T) {
	conf := filepath.Join(t.TempDir(), "proftpd.conf")
	os.WriteFile(conf, []byte("CapabilitiesSet +CAP_FOWNER\n"), 0o644)
	c := NewChecker("testdata-none", conf)
	full := procscan.Sets{Permitted: 0x1ffffffffff, Effective: 0x1ffffffffff, Bounding: 0x1ffffffffff}
	master := procscan.Process{PID: 10, Role: procscan.RoleProftpdMaster, Sets: full}
	ok := procscan.Process{PID: 11, PPID: 10, UID: 1000, EUID: 1000, SUID: 1000, Role: procscan.RoleProftpdSession, FTPUser: "u",
		Sets: procscan.Sets{Permitted: 0x4c9, Bounding: 0x1ffffffffff}}
	drifted := ok
	drifted.PID, drifted.Sets.Permitted = 12, 0x200004c1
	pre := procscan.Process{PID: 13, PPID: 10, Role: procscan.RoleProftpdPre, Sets: full}
	all := map[int]procscan.Process{10: master, 11: ok, 12: drifted, 13: pre}

	if r, _, err := c.Check(all, ok); err != nil || r == nil || r.Drifted() {
		t.Errorf("matching session: %+v %v", r, err)
	}
	r, _, err := c.Check(all, drifted)
	if err != nil || !r.Drifted() || r.Expected.Permitted != 0x4c9 || len(r.Reasons) < 2 {
		t.Errorf("drifted session: %+v %v", r, err)
	}
	for _, p := range []procscan.Process{pre, master} {
		if r, _, _ := c.Check(all, p); r != nil {
			t.Errorf("PID %d (%s) was compared", p.PID, p.Role)
		}
	}
	orphan := ok
	orphan.PPID = 99
	if r, _, _ := c.Check(all, orphan); r != nil {
		t.Error("a session without its master was compared")
	}
}

func TestExplicitConfigErrors(t *testing.T) {
	c := NewChecker("/proc", "/nonexistent/proftpd.conf")
	master := procscan.Process{PID: 10, Role: procscan.RoleProftpdMaster}
	s := procscan.Process{PID: 11, PPID: 10, Role: procscan.RoleProftpdSession, FTPUser: "u"}
	if _, _, err := c.Check(map[int]procscan.Process{10: master, 11: s}, s); err == nil {
		t.Error("an unreadable explicit configuration is not an error")
	}
}
