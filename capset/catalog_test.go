package capset_test

import (
	"slices"
	"strings"
	"testing"

	"captune/capset"
)

func TestCatalogue(t *testing.T) {
	cat := capset.Catalogue()
	if capset.NamedCount != 41 || len(cat) != 41 {
		t.Fatalf("Catalogue() has %d entries, want 41", len(cat))
	}
	for i, in := range cat {
		c := capset.Cap(i)
		if in.Cap != c {
			t.Errorf("entry %d has Cap %d", i, in.Cap)
		}
		if in.Name != c.String() || in.Name != allNames[i] {
			t.Errorf("entry %d is named %q, want %q", i, in.Name, c.String())
		}
		if in.Short == "" || len(in.Short) > 60 {
			t.Errorf("%s: Short %q is empty or longer than 60 characters (%d)", in.Name, in.Short, len(in.Short))
		}
		if strings.TrimSpace(in.Short) != in.Short || strings.HasSuffix(in.Short, ".") {
			t.Errorf("%s: Short %q has stray spaces or a full stop", in.Name, in.Short)
		}
		if strings.TrimSpace(in.Long) == "" || len(in.Long) <= len(in.Short) {
			t.Errorf("%s: Long is empty or not longer than Short", in.Name)
		}
		if strings.Contains(in.Long, "  ") || strings.TrimSpace(in.Long) != in.Long {
			t.Errorf("%s: Long has doubled or stray spaces: %q", in.Name, in.Long)
		}
		if len(in.Syscalls) == 0 {
			t.Errorf("%s: no Syscalls", in.Name)
		}
		for _, s := range in.Syscalls {
			if strings.TrimSpace(s) == "" {
				t.Errorf("%s: empty Syscalls entry", in.Name)
			}
		}
		if strings.TrimSpace(in.RiskWhy) == "" {
			t.Errorf("%s: empty RiskWhy", in.Name)
		}
		if in.Risk < capset.RiskLow || in.Risk > capset.RiskRootEquivalent || in.Risk.String() == "unknown" {
			t.Errorf("%s: bad Risk %d", in.Name, in.Risk)
		}
		got, ok := capset.Lookup(c)
		if !ok || got.Name != in.Name || got.Short != in.Short || got.Risk != in.Risk {
			t.Errorf("Lookup(%d) = %+v, %v; want entry %q", i, got, ok, in.Name)
		}
	}
	for _, c := range []capset.Cap{41, 50, 63, 64, 255} {
		if in, ok := capset.Lookup(c); ok || in.Name != "" {
			t.Errorf("Lookup(%d) = %+v, %v; want nothing", c, in, ok)
		}
	}
}

func TestCatalogueIsACopy(t *testing.T) {
	a := capset.Catalogue()
	a[0].Name, a[0].Risk = "changed", capset.RiskLow
	b := capset.Catalogue()
	if b[0].Name != "cap_chown" || b[0].Risk == capset.RiskLow {
		t.Errorf("changing Catalogue()'s result changed the catalogue: %+v", b[0])
	}
	if in, _ := capset.Lookup(0); in.Name != "cap_chown" {
		t.Errorf("changing Catalogue()'s result changed Lookup: %+v", in)
	}
}

func TestRootEquivalent(t *testing.T) {
	var root []string
	for _, in := range capset.Catalogue() {
		if in.Risk == capset.RiskRootEquivalent {
			root = append(root, in.Name)
		}
	}
	for _, n := range []string{
		"cap_sys_admin", "cap_sys_module", "cap_sys_rawio", "cap_sys_ptrace",
		"cap_dac_override", "cap_setuid", "cap_setpcap",
	} {
		if !slices.Contains(root, n) {
			t.Errorf("%s is not classed root-equivalent (root-equivalent: %v)", n, root)
		}
	}
	// The capabilities that grant nearly nothing are not.
	for _, n := range []string{"cap_net_bind_service", "cap_net_broadcast", "cap_wake_alarm", "cap_block_suspend"} {
		if slices.Contains(root, n) {
			t.Errorf("%s is classed root-equivalent", n)
		}
	}
}

func TestRiskString(t *testing.T) {
	want := map[capset.Risk]string{
		capset.RiskLow: "low", capset.RiskModerate: "moderate", capset.RiskHigh: "high",
		capset.RiskRootEquivalent: "root-equivalent", 0: "unknown", 99: "unknown",
	}
	for r, w := range want {
		if r.String() != w {
			t.Errorf("Risk(%d).String() = %q, want %q", r, r.String(), w)
		}
	}
	if !(capset.RiskLow < capset.RiskModerate && capset.RiskModerate < capset.RiskHigh && capset.RiskHigh < capset.RiskRootEquivalent) {
		t.Error("risk classes are not ordered from least to most dangerous")
	}
}
