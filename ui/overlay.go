package ui

import (
	"fmt"
	"strings"

	"charm.land/bubbles/v2/key"

	"captune/capset"
	"captune/capset/modcap"
	"captune/model"
)

type keyBinding = key.Binding

// overlayLines draws the open overlay in the main area (h lines).
func (m Model) overlayLines(h int) []string {
	var title string
	var body []string
	w := max(10, m.width-4)
	switch m.overlay {
	case overlayHelp:
		title = "Keys"
		body = m.helpBody()
	case overlayExplain:
		c := capset.Cap(m.gridCursor)
		title = "Explain " + c.String()
		body = m.explainBody(c, w)
	case overlayPrimer:
		title = "Primer: the five capability sets"
		body = wrapAll(primerText(), w)
	case overlayEmit, overlayWrite, overlayOverwrite:
		title = "Emit · " + m.tuner.Target().String()
		body = strings.Split(strings.TrimRight(m.tuner.Output(m.opts.User), "\n"), "\n")
		body = append(body, "", m.styles.Dim.Render("c sends it to the terminal's clipboard (OSC 52), w writes it to a file,"),
			m.styles.Dim.Render("enter quits and prints it on standard output (captune > mod_cap.conf works)."))
	case overlayVerify:
		title = "Verify on a real proftpd"
		body = m.verifyBody(w)
	case overlayApply:
		title = "Apply"
		body = m.applyBody(w)
	}
	out := []string{"", "  " + m.styles.PanelTitle.Render(title), ""}
	for _, b := range body {
		out = append(out, "  "+b)
	}
	if len(out) > h {
		out = out[:h]
	}
	return out
}

func wrapAll(text string, w int) []string {
	var out []string
	for _, para := range strings.Split(text, "\n") {
		if para == "" {
			out = append(out, "")
			continue
		}
		out = append(out, wrapLines(para, w)...)
	}
	return out
}

func (m Model) helpBody() []string {
	h := m.help
	h.SetWidth(m.width - 4)
	var groups [][]keyBinding
	name := "process list"
	if m.focus == paneGrid {
		groups = m.keys.Grid.FullHelp()
		name = "capability grid"
	} else {
		groups = m.keys.Procs.FullHelp()
	}
	out := []string{m.styles.Dim.Render("focused pane: " + name + " (tab switches)"), ""}
	out = append(out, strings.Split(h.FullHelpView(groups), "\n")...)
	out = append(out, "",
		m.styles.Dim.Render("grid symbols: ● held/kept  · not held  ○ dropped, can be kept  ■ kept, locked"),
		m.styles.Dim.Render("              + more than mod_cap's default  - less than it"),
		m.styles.Dim.Render("process markers: ^amb ambient  !bnd bounding narrowed  nnp no_new_privs"),
		m.styles.Dim.Render("                 seccomp  userns child namespace  fcaps file capabilities"),
		m.styles.Dim.Render("mouse: wheel scrolls, click selects.  esc closes this help."))
	return out
}

func (m Model) explainBody(c capset.Cap, w int) []string {
	st := m.styles
	var out []string
	in, ok := capset.Lookup(c)
	if !ok {
		out = append(out, fmt.Sprintf("Bit %d has no name: the kernel knows it, captune's catalogue does not yet.", c))
	} else {
		risk := st.Risk[in.Risk.String()].Render(in.Risk.String())
		out = append(out, st.Bold.Render(in.Name)+fmt.Sprintf("  number %d, mask %s, risk ", in.Cap, capset.Of(c).Hex())+risk, "")
		out = append(out, wrapAll(in.Short+".", w)...)
		out = append(out, "")
		out = append(out, wrapAll(in.Long, w)...)
		out = append(out, "")
		out = append(out, wrapAll("Governs: "+strings.Join(in.Syscalls, ", "), w)...)
		out = append(out, wrapAll("Why "+in.Risk.String()+": "+in.RiskWhy, w)...)
	}
	out = append(out, "")
	out = append(out, wrapAll("mod_cap: "+modcap.Explain(c), w)...)
	if lock := m.tuner.Lock(c); lock != "" {
		out = append(out, wrapAll("In the tuner: locked ("+lock+").", w)...)
	}
	if row, ok := m.list.Selected(); ok {
		p := row.Proc
		var in []string
		for _, s := range []struct {
			name string
			set  capset.Set
		}{{"inheritable", p.Sets.Inheritable}, {"permitted", p.Sets.Permitted}, {"effective", p.Sets.Effective}, {"bounding", p.Sets.Bounding}, {"ambient", p.Sets.Ambient}} {
			if s.set.Has(c) {
				in = append(in, s.name)
			}
		}
		where := "none of its sets"
		if len(in) > 0 {
			where = strings.Join(in, ", ")
		}
		out = append(out, "")
		out = append(out, wrapAll(fmt.Sprintf("PID %d (%s) holds it in: %s.", p.PID, model.Printable(p.Comm), where), w)...)
	}
	return out
}
