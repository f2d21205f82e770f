package launch

import (
	"fmt"
	"strings"

	"captune/capset"
)

// Report renders a result for people: intended beside actual for each
// set, the read-back verdict, every probe, and a summary of what the
// process can, could once raised, and cannot do.
func (r Result) Report() string {
	var b strings.Builder
	what := "daemon"
	if len(r.Plan.Command) > 0 {
		what = "command"
	}
	fmt.Fprintf(&b, "%s PID %d as %s, uids %d/%d/%d (real/effective/saved)\n", what, r.PID, r.Plan.User, r.UIDs[0], r.UIDs[1], r.UIDs[2])
	fmt.Fprintf(&b, "%-12s %-16s  %-16s\n", "", "intended", "actual")
	for _, row := range []struct {
		name      string
		want, got capset.Set
	}{
		{"permitted", r.Plan.Target.Permitted, r.Actual.Permitted},
		{"effective", r.Plan.Target.Effective, r.Actual.Effective},
		{"inheritable", r.Plan.Target.Inheritable, r.Actual.Inheritable},
		{"bounding", r.Plan.Target.Bounding, r.Actual.Bounding},
		{"ambient", r.Plan.Target.Ambient, r.Actual.Ambient},
	} {
		mark := "✓ same"
		if row.want != row.got {
			mark = "✗ differs"
		}
		fmt.Fprintf(&b, "%-12s %s  %s  %s\n", row.name, row.want.Hex(), row.got.Hex(), mark)
	}
	if r.Match {
		b.WriteString("read-back: match\n")
	} else {
		b.WriteString("read-back: differs\n")
		for _, d := range r.Differences {
			fmt.Fprintf(&b, "  ✗ %s\n", d)
		}
	}
	if len(r.Probes) > 0 {
		b.WriteString("probes:\n")
		sym := map[string]string{"allowed": "✓", "denied": "✗", "permitted-only": "~", "not-testable": "?"}
		var can, latent, cannot []string
		for _, p := range r.Probes {
			extra := ""
			if p.Errno != "" {
				extra = " (" + p.Errno + ")"
			}
			fmt.Fprintf(&b, "  %s %-21s %-15s %s%s\n", sym[p.Result], p.Capability, p.Result, p.Name, extra)
			switch p.Result {
			case "allowed":
				can = append(can, p.Name)
			case "permitted-only":
				latent = append(latent, p.Name)
			case "denied":
				cannot = append(cannot, p.Name)
			}
		}
		if len(can) > 0 {
			fmt.Fprintf(&b, "it can:     %s\n", strings.Join(can, "; "))
		}
		if len(latent) > 0 {
			fmt.Fprintf(&b, "once raised from permitted it could: %s\n", strings.Join(latent, "; "))
		}
		if len(cannot) > 0 {
			fmt.Fprintf(&b, "it cannot:  %s\n", strings.Join(cannot, "; "))
		}
	}
	for _, n := range r.Plan.Notes {
		fmt.Fprintf(&b, "note: %s\n", n)
	}
	return b.String()
}
