package launch

import (
	"strings"
	"testing"

	"captune/capset"
	"captune/capset/modcap"
	"captune/procscan"
)

const all = capset.Set(0x000001ffffffffff)

func rootSelf() procscan.Process {
	return procscan.Process{Sets: procscan.Sets{Permitted: all, Effective: all, Bounding: all}}
}

func TestRawPlanTargets(t *testing.T) {
	set := capset.Of(capset.NetRaw, capset.Chown)
	p := RawPlan(set, 65534, 65534, nil, "nobody", nil, all)
	if p.Target != (Sets{Inheritable: set, Permitted: set, Effective: set, Ambient: set, Bounding: set}) || p.LaunchAmb != set || p.LaunchBnd != set {
		t.Errorf("non-root: %+v", p)
	}
	r := RawPlan(set, 0, 0, nil, "root", nil, all)
	if r.Target != (Sets{Permitted: set, Effective: set, Bounding: set}) || r.LaunchAmb != 0 || r.LaunchInh != 0 {
		t.Errorf("root: %+v", r)
	}
	if !strings.Contains(strings.Join(r.Why, " "), "exec as root refills permitted and effective from the bounding set") {
		t.Errorf("root plan does not explain itself: %q", r.Why)
	}
}

func TestModcapPlan(t *testing.T) {
	pred := modcap.Prediction{Engine: true, Permitted: 0x200004c1, UIDs: [3]uint32{0, 1000, 1000}}
	p := ModcapPlan(pred, 65534, 65534, nil, "nobody", all)
	if p.Target.Permitted != 0x200004c1 || p.Target.Effective != 0 || p.Target.Inheritable != 0 || p.Target.Ambient != 0 || !p.Shape {
		t.Errorf("%+v", p)
	}
	if p.LaunchInh != 0x200004c1 || p.LaunchAmb != 0x200004c1 || p.LaunchBnd != all {
		t.Errorf("launch sets: %+v", p)
	}
	if !strings.Contains(strings.Join(p.Notes, " "), "cannot show that risk") {
		t.Errorf("uid 0 kept by the prediction is not noted: %q", p.Notes)
	}
	for _, want := range []string{"as:         nobody (uid 65534, gid 65534)", "permitted   00000000200004c1", "stopped when captune exits"} {
		if !strings.Contains(p.Preview(), want) {
			t.Errorf("preview lacks %q:\n%s", want, p.Preview())
		}
	}
}

func TestCheckRefuses(t *testing.T) {
	plan := RawPlan(capset.Of(capset.NetRaw), 65534, 65534, nil, "nobody", nil, all)
	if err := plan.Check(rootSelf()); err != nil {
		t.Fatalf("root refused: %v", err)
	}
	cases := []struct {
		name string
		self procscan.Process
		want string
	}{
		{"no setuid", procscan.Process{Sets: procscan.Sets{Permitted: all &^ capset.Of(capset.Setuid), Effective: all &^ capset.Of(capset.Setuid), Bounding: all}}, "lacks cap_setuid"},
		{"no setpcap", procscan.Process{Sets: procscan.Sets{Permitted: all &^ capset.Of(capset.Setpcap), Effective: all &^ capset.Of(capset.Setpcap), Bounding: all}}, "lacks cap_setpcap"},
		{"outside bounding", procscan.Process{Sets: procscan.Sets{Permitted: all &^ capset.Of(capset.NetRaw), Effective: all &^ capset.Of(capset.NetRaw), Bounding: all &^ capset.Of(capset.NetRaw)}}, "holds cap_net_raw, outside captune's own"},
		{"unprivileged", procscan.Process{UID: 1000, EUID: 1000, Sets: procscan.Sets{Bounding: all}}, "lacks"},
	}
	for _, c := range cases {
		err := plan.Check(c.self)
		r, ok := err.(*Refusal)
		if !ok || !r.Privilege || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: %v", c.name, err)
		}
	}
}

func TestCompare(t *testing.T) {
	want := Sets{Permitted: 0x401, Effective: 0x401, Bounding: all}
	if d := Compare(want, want); len(d) != 0 {
		t.Errorf("equal sets differ: %v", d)
	}
	got := want
	got.Effective = 0x1
	d := Compare(want, got)
	if len(d) != 1 || !strings.Contains(d[0], "effective: intended 0000000000000401, actual 0000000000000001; missing cap_net_bind_service") {
		t.Errorf("%v", d)
	}
}
