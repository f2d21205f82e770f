package model

import (
	"strings"
	"testing"

	"captune/capset"
	"captune/procscan"
)

func TestTunerTargetsCarryTheSet(t *testing.T) {
	tu := NewTuner(true)
	tu.Toggle(capset.Fowner)
	if tu.Kept() != 0x4c9 {
		t.Fatalf("kept %s", tu.Kept().Hex())
	}
	tu.SetTarget(TargetSystemd)
	if tu.Kept() != 0x4c9 || !strings.Contains(tu.Output(""), "AmbientCapabilities=CAP_CHOWN CAP_FOWNER CAP_SETGID CAP_SETUID CAP_NET_BIND_SERVICE") {
		t.Errorf("systemd: %s\n%s", tu.Kept().Hex(), tu.Output(""))
	}
	// Every capability toggles freely outside the modcap target.
	if !tu.Toggle(capset.SysAdmin) || !tu.Kept().Has(capset.SysAdmin) {
		t.Error("cap_sys_admin did not toggle in the systemd target")
	}
	tu.SetTarget(TargetModcap)
	if tu.Kept() != 0x4c9 {
		t.Errorf("back to modcap: %s (cap_sys_admin must not survive)", tu.Kept().Hex())
	}
	if !tu.Undo() || tu.Target() != TargetSystemd {
		t.Errorf("undo did not return to systemd")
	}
}

func TestTunerStartFrom(t *testing.T) {
	tu := NewTuner(true)
	tu.StartFrom(capset.Of(capset.Chown, capset.NetRaw, capset.DacOverride))
	if tu.Kept() != capset.Of(capset.Chown, capset.DacOverride, capset.NetBindService) {
		t.Errorf("kept %s", tu.Kept())
	}
	if !strings.Contains(tu.Note, "cap_net_raw") {
		t.Errorf("note %q does not name what was lost", tu.Note)
	}
	tu.Toggle(capset.Fowner)
	tu.Reset()
	if tu.Kept() != capset.Of(capset.Chown, capset.DacOverride, capset.NetBindService) {
		t.Errorf("reset goes to the start point, got %s", tu.Kept())
	}
}

func TestTunerWithoutPAM(t *testing.T) {
	tu := NewTuner(false)
	if tu.Kept() != 0x4c1 || tu.Lock(capset.AuditWrite) == "" || tu.Toggle(capset.AuditWrite) {
		t.Errorf("without PAM: kept %s, audit lock %q", tu.Kept().Hex(), tu.Lock(capset.AuditWrite))
	}
	tu.Toggle(capset.Setuid)
	if tu.Kept() != 0x401 || !strings.Contains(tu.Output(""), "CapabilitiesSet -CAP_SETUID") {
		t.Errorf("-setuid: %s\n%s", tu.Kept().Hex(), tu.Output(""))
	}
}

func TestProcListSortAndTree(t *testing.T) {
	l := NewProcList()
	l.SetSnapshot(procscan.Snapshot{LastCap: 40, Procs: []procscan.Process{
		{PID: 1, Comm: "init", User: "root", Sets: procscan.Sets{Permitted: 0xff}},
		{PID: 5, PPID: 1, Comm: "b", User: "zed"},
		{PID: 3, PPID: 1, Comm: "a", User: "amy", Sets: procscan.Sets{Permitted: 0xffff}},
		{PID: 7, PPID: 3, Comm: "c", User: "bob"},
	}})
	pids := func() string {
		var s []string
		for _, r := range l.Rows() {
			s = append(s, r.Prefix+strings.TrimSpace(r.Proc.Comm))
		}
		return strings.Join(s, " ")
	}
	if got := pids(); got != "init a b c" {
		t.Errorf("by pid: %s", got)
	}
	l.CycleSort() // user
	if got := pids(); got != "a c init b" {
		t.Errorf("by user: %s", got)
	}
	l.CycleSort() // command
	l.CycleSort() // capabilities
	if got := pids(); got != "a init b c" {
		t.Errorf("by capabilities: %s", got)
	}
	l.CycleSort() // back to pid, descending
	if got := pids(); got != "c b a init" {
		t.Errorf("by pid, descending: %s", got)
	}
	l.CycleSort()
	l.CycleSort()
	l.CycleSort()
	l.CycleSort() // pid ascending again
	l.ToggleTree()
	if got := pids(); got != "init ├─a │ └─c └─b" {
		t.Errorf("tree: %q", got)
	}
}
