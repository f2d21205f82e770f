package model

import (
	"slices"
	"sort"
	"strconv"
	"strings"

	"captune/capset"
	"captune/procscan"
)

// SortKey orders the process list.
type SortKey int

// The sort keys, in the order the sort key cycles through them.
const (
	SortPID SortKey = iota
	SortUser
	SortCommand
	SortCaps
)

var sortNames = []string{"pid", "user", "command", "capabilities"}

// String names the key.
func (k SortKey) String() string { return sortNames[k] }

// Row is one visible line of the process list.
type Row struct {
	Proc procscan.Process
	// Prefix is the tree drawing before the command.
	Prefix string
	// Gone marks the selected process after it exited.
	Gone bool
}

// ProcList is the process table's state.
type ProcList struct {
	snap        procscan.Snapshot
	rows        []Row
	filter      string
	tree        bool
	proftpdOnly bool
	kernel      bool
	sortKey     SortKey
	desc        bool
	cursor      int
	// selPID follows the selected process across refreshes.
	selPID int
	// gone keeps the selected process visible after it exited.
	gone *procscan.Process
	// version counts rebuilds of rows (Version).
	version uint64
	// sigs caches Signature by the three sets it prints: a machine has
	// few distinct ones, and libcap's text is slow to make.
	sigs map[[3]capset.Set]string
}

// Version changes whenever Rows may have changed.
func (l *ProcList) Version() uint64 { return l.version }

// CapText is model.CapText with the signature cached.
func (l *ProcList) CapText(p procscan.Process) string {
	t := l.signature(p)
	if m := Markers(p, l.Known()); len(m) > 0 {
		t += "  [" + strings.Join(m, " ") + "]"
	}
	return t
}

func (l *ProcList) signature(p procscan.Process) string {
	k := [3]capset.Set{p.Sets.Effective, p.Sets.Permitted, p.Sets.Inheritable}
	if s, ok := l.sigs[k]; ok {
		return s
	}
	if l.sigs == nil || len(l.sigs) > 4096 {
		l.sigs = map[[3]capset.Set]string{}
	}
	s := Signature(p)
	l.sigs[k] = s
	return s
}

// NewProcList returns an empty list.
func NewProcList() *ProcList { return &ProcList{} }

// Snapshot returns the last snapshot.
func (l *ProcList) Snapshot() procscan.Snapshot { return l.snap }

// Known returns the capabilities the kernel has.
func (l *ProcList) Known() capset.Set {
	if l.snap.LastCap == 0 {
		return capset.Upto(capset.NamedCount)
	}
	return capset.KnownSet(l.snap.LastCap)
}

// SetSnapshot replaces the data; the selection stays on the same PID, and
// a selected process that exited stays visible, marked gone.
func (l *ProcList) SetSnapshot(s procscan.Snapshot) {
	if l.selPID != 0 {
		found := false
		for _, p := range s.Procs {
			if p.PID == l.selPID {
				found = true
				break
			}
		}
		if !found && l.gone == nil {
			if cur, ok := l.Selected(); ok {
				cp := cur.Proc
				l.gone = &cp
			}
		} else if found {
			l.gone = nil
		}
	}
	l.snap = s
	l.rebuild()
}

// Filter returns the filter text.
func (l *ProcList) Filter() string { return l.filter }

// SetFilter changes the filter.
func (l *ProcList) SetFilter(f string) { l.filter = f; l.rebuild() }

// Tree reports tree mode.
func (l *ProcList) Tree() bool { return l.tree }

// ToggleTree switches tree mode.
func (l *ProcList) ToggleTree() { l.tree = !l.tree; l.rebuild() }

// ProftpdOnly reports whether only proftpd processes are shown.
func (l *ProcList) ProftpdOnly() bool { return l.proftpdOnly }

// ToggleProftpd shows only proftpd masters and sessions, or everything.
func (l *ProcList) ToggleProftpd() { l.proftpdOnly = !l.proftpdOnly; l.rebuild() }

// Kernel reports whether kernel threads are shown.
func (l *ProcList) Kernel() bool { return l.kernel }

// ToggleKernel shows or hides kernel threads.
func (l *ProcList) ToggleKernel() { l.kernel = !l.kernel; l.rebuild() }

// Sort returns the sort key and direction.
func (l *ProcList) Sort() (SortKey, bool) { return l.sortKey, l.desc }

// CycleSort moves to the next sort key; from the last key it flips the
// direction and starts over.
func (l *ProcList) CycleSort() {
	l.sortKey++
	if int(l.sortKey) >= len(sortNames) {
		l.sortKey = SortPID
		l.desc = !l.desc
	}
	l.rebuild()
}

// Rows returns the visible rows.
func (l *ProcList) Rows() []Row { return l.rows }

// Cursor returns the selected row index.
func (l *ProcList) Cursor() int { return l.cursor }

// Selected returns the selected row.
func (l *ProcList) Selected() (Row, bool) {
	if l.cursor < 0 || l.cursor >= len(l.rows) {
		return Row{}, false
	}
	return l.rows[l.cursor], true
}

// Move moves the selection by delta rows (clamped); moving lets go of a
// process that is gone.
func (l *ProcList) Move(delta int) { l.MoveTo(l.cursor + delta) }

// MoveTo selects row i (clamped).
func (l *ProcList) MoveTo(i int) {
	if len(l.rows) == 0 {
		l.cursor = 0
		return
	}
	i = max(0, min(i, len(l.rows)-1))
	if i == l.cursor {
		return
	}
	l.cursor = i
	l.selPID = l.rows[i].Proc.PID
	if l.gone != nil {
		l.gone = nil
		l.rebuild()
	}
}

// SelectPID selects the process with that PID, if visible.
func (l *ProcList) SelectPID(pid int) bool {
	for i, r := range l.rows {
		if r.Proc.PID == pid {
			l.MoveTo(i)
			l.cursor, l.selPID = i, pid
			return true
		}
	}
	return false
}

// Matches is the filter rule: a number matches that PID exactly; other
// text matches user, command and the names of held capabilities,
// case-insensitively.
func Matches(p procscan.Process, filter string) bool {
	f := strings.ToLower(strings.TrimSpace(filter))
	if f == "" {
		return true
	}
	if n, err := strconv.Atoi(f); err == nil {
		return p.PID == n
	}
	if strings.Contains(strings.ToLower(p.User), f) || strings.Contains(strings.ToLower(p.Comm), f) ||
		strings.Contains(strings.ToLower(strings.Join(p.Cmdline, " ")), f) {
		return true
	}
	held := p.Sets.Permitted | p.Sets.Effective | p.Sets.Ambient
	for _, n := range held.Names() {
		if strings.Contains(n, f) {
			return true
		}
	}
	return false
}

func (l *ProcList) keep(p procscan.Process) bool {
	if p.KernelThread && !l.kernel {
		return false
	}
	if l.proftpdOnly && p.Role == procscan.RoleNone {
		return false
	}
	return Matches(p, l.filter)
}

func (l *ProcList) rebuild() {
	l.version++
	procs := make([]procscan.Process, 0, len(l.snap.Procs)+1)
	for _, p := range l.snap.Procs {
		if l.keep(p) {
			procs = append(procs, p)
		}
	}
	l.sortProcs(procs)
	// The gone process goes where the order puts it, and its index marks
	// its row (sorting it with the others would lose which one it is).
	goneIdx := -1
	if l.gone != nil {
		goneIdx = sort.Search(len(procs), func(i int) bool { return l.before(*l.gone, procs[i]) })
		procs = slices.Insert(procs, goneIdx, *l.gone)
	}
	l.rows = l.rows[:0]
	if l.tree {
		for _, tr := range Tree(procs) {
			l.rows = append(l.rows, Row{Proc: procs[tr.Index], Prefix: tr.Prefix, Gone: l.gone != nil && procs[tr.Index].PID == l.gone.PID && tr.Index == goneIdx})
		}
	} else {
		for i, p := range procs {
			l.rows = append(l.rows, Row{Proc: p, Gone: i == goneIdx})
		}
	}
	l.cursor = 0
	for i, r := range l.rows {
		if r.Proc.PID == l.selPID {
			l.cursor = i
			break
		}
	}
	if len(l.rows) > 0 && l.selPID == 0 {
		l.selPID = l.rows[0].Proc.PID
	}
	if len(l.rows) > 0 && l.rows[l.cursor].Proc.PID != l.selPID {
		l.selPID = l.rows[l.cursor].Proc.PID
	}
}

func (l *ProcList) sortProcs(procs []procscan.Process) {
	sort.SliceStable(procs, func(i, j int) bool { return l.before(procs[i], procs[j]) })
}

// before reports whether a is listed before b in the current order.
func (l *ProcList) before(a, b procscan.Process) bool {
	if l.desc {
		a, b = b, a
	}
	less := func(a, b procscan.Process) bool {
		switch l.sortKey {
		case SortUser:
			if a.User != b.User {
				return a.User < b.User
			}
		case SortCommand:
			if a.Comm != b.Comm {
				return a.Comm < b.Comm
			}
		case SortCaps:
			na, nb := (a.Sets.Permitted | a.Sets.Effective).Len(), (b.Sets.Permitted | b.Sets.Effective).Len()
			if na != nb {
				return na > nb
			}
		}
		return a.PID < b.PID
	}
	return less(a, b)
}

// TreeRow is one line of a drawn process tree.
type TreeRow struct {
	Index  int
	Prefix string
	Depth  int
}

// Tree orders processes as a tree, children under their parent in the
// given order, with the box-drawing prefix of each row. A process whose
// parent is not in the list starts a tree of its own.
func Tree(procs []procscan.Process) []TreeRow {
	idx := make(map[int]int, len(procs))
	for i, p := range procs {
		if _, dup := idx[p.PID]; !dup {
			idx[p.PID] = i
		}
	}
	children := map[int][]int{}
	var roots []int
	for i, p := range procs {
		if j, ok := idx[p.PPID]; ok && j != i {
			children[j] = append(children[j], i)
		} else {
			roots = append(roots, i)
		}
	}
	out := make([]TreeRow, 0, len(procs))
	seen := make([]bool, len(procs))
	var walk func(i int, lead string, last bool, depth int)
	walk = func(i int, lead string, last bool, depth int) {
		if seen[i] {
			return
		}
		seen[i] = true
		prefix, next := "", ""
		if depth > 0 {
			if last {
				prefix, next = lead+"└─", lead+"  "
			} else {
				prefix, next = lead+"├─", lead+"│ "
			}
		}
		out = append(out, TreeRow{Index: i, Prefix: prefix, Depth: depth})
		kids := children[i]
		for k, c := range kids {
			walk(c, next, k == len(kids)-1, depth+1)
		}
	}
	for _, r := range roots {
		walk(r, "", true, 0)
	}
	for i := range procs {
		if !seen[i] {
			walk(i, "", true, 0)
		}
	}
	return out
}
