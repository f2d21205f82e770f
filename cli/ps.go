package cli

import (
	"fmt"
	"os"
	"sort"
	"strconv"
	"strings"
	"unicode/utf8"

	"captune/capset"
	"captune/drift"
	"captune/model"
	"captune/procscan"
)

var psFlags = []flagSpec{
	{name: "json", help: "print a JSON array of processes"},
	{name: "tree", help: "draw the process tree"},
	{name: "threads", help: "list threads whose sets differ from their leader"},
	{name: "filter", value: true, arg: "TEXT", help: "case-insensitive match on user, command and capability names; a number matches that PID"},
	{name: "all", help: "include kernel threads"},
	{name: "proc", value: true, arg: "DIR", help: "proc mount to read (default /proc)"},
	{name: "proftpd-config", value: true, arg: "FILE", help: "the proftpd master's configuration, to compare its sessions with (default: the file evidence ties to the master, else none)"},
	{name: "help", help: "show this help"},
}

const psAbout = `Lists every process with its capabilities in libcap's compact text
("=ep cap_sys_resource-ep" means every capability in effective and permitted
except cap_sys_resource; "=" means none), followed by markers:
  ^amb     the ambient set is not empty
  !bnd     the bounding set lacks some of the kernel's capabilities
  nnp      no_new_privs is set
  seccomp  a seccomp filter or strict mode is on
  userns   the process lives in a child user namespace
  fcaps    its executable carries file capabilities
Processes holding nothing are listed too; kernel threads only with --all.
With PIDs, shows just those, with all five sets by name (like getpcaps).

Drift: each logged-in proftpd session (role proftpd-session) is compared with
what its master's configuration predicts for its user and the master's
permitted set (as captune predict does); a difference is drift (JSON key
"drift", null when none), e.g. a configuration changed since the master
started. Pre-login children are never drift. Drift is claimed only against a
configuration known to be the master's: given with --proftpd-config, or tied to
it by evidence (its PidFile holds the master's PID, or the master holds its
ScoreboardFile's lock open; proftpd -V's defaults count for files that set
neither). proftpd hides its -c, so otherwise the configuration is unknown: no
drift, exit 0, "config_status": "unknown" and a note on stderr. Only a proftpd
run by root from a root-owned binary counts as a master; look-alikes are noted.
exit codes: 0, or 1 when drift is found; 2 bad input.`

func runPs(env Env, args []string) error {
	p, err := parseArgs("ps", args, psFlags)
	if err != nil {
		return err
	}
	if p.has("help") {
		fmt.Fprint(env.Stdout, helpText("ps", "[PID...] [--json] [--tree] [--threads] [--filter TEXT] [--all] [--proc DIR] [--proftpd-config FILE]", psAbout, psFlags,
			"  captune ps --filter net_raw\n  captune ps --tree --filter proftpd\n  captune ps 1 $$\n  captune ps --json | jq '.[] | select(.ambient != \"0000000000000000\")'\n"))
		return nil
	}
	root := p.get("proc")
	if root == "" {
		root = env.ProcRoot
	}
	var pids []int
	for _, a := range p.pos {
		n, err := strconv.Atoi(a)
		if err != nil || n <= 0 {
			return usagef("ps: %q is not a process id", clip(a))
		}
		pids = append(pids, n)
	}
	if p.get("proc") != "" {
		if err := checkProcRoot("ps: ", root); err != nil {
			return err
		}
	}
	sc, err := procscan.New(root)
	if err != nil {
		return usagef("ps: %v", err)
	}
	snap, err := sc.Snapshot()
	if err != nil {
		return fail(ExitMissing, "ps: %v", err)
	}
	known := capset.KnownSet(snap.LastCap)
	if len(pids) > 0 {
		return psDetail(env, snap, pids, known, p.has("json"), root, p.get("proftpd-config"))
	}
	procs := psSelect(snap.Procs, p.get("filter"), p.has("all"))
	notes := snap.Notes()
	if len(procs) < len(snap.Procs) {
		notes = snap.NotesListing(procs)
	}
	drift, rep, err := psDrift(env, root, p.get("proftpd-config"), snap.Procs, procs, notes)
	if err != nil {
		return err
	}
	if p.has("json") {
		if err := writeJSON(env, psJSONList(procs, drift, rep, known)); err != nil {
			return err
		}
		return driftExit(drift)
	}
	var b strings.Builder
	if p.has("tree") {
		psTree(&b, procs, known, p.has("threads"))
	} else {
		psTable(&b, procs, known, p.has("threads"))
	}
	b.WriteString(driftText(procs, drift))
	if _, err = fmt.Fprint(env.Stdout, b.String()); err != nil {
		return err
	}
	return driftExit(drift)
}

// printNotes says on standard error what the scan could not see or
// ignored; only once the command's input is known good, so that a refusal
// stays its one line alone.
func printNotes(env Env, notes []string) {
	for _, n := range notes {
		fmt.Fprintf(env.Stderr, "captune: %s\n", oneLine(n))
	}
}

// checkProcRoot refuses a --proc folder that is not a proc mount: one
// that cannot be listed, or that holds no process directory (exit 2).
func checkProcRoot(prefix, root string) error {
	ents, err := os.ReadDir(root)
	if err != nil {
		return usagef("%s--proc %s: %v", prefix, clip(root), err)
	}
	for _, e := range ents {
		if _, err := strconv.Atoi(e.Name()); err == nil && e.IsDir() {
			return nil
		}
	}
	return usagef("%s--proc %s holds no process directories: not a proc mount (or hidepid hides every process)", prefix, clip(root))
}

// driftExit is exit 1 when a proftpd session drifted.
func driftExit(drift map[int]*driftJSON) error {
	if len(drift) == 0 {
		return nil
	}
	return fail(ExitDiffer, "ps: %d proftpd session(s) differ from what their configuration predicts (drift)", len(drift))
}

// psSelect applies --filter and --all.
func psSelect(all []procscan.Process, filter string, kthreads bool) []procscan.Process {
	var out []procscan.Process
	for _, pr := range all {
		if pr.KernelThread && !kthreads {
			continue
		}
		if filter != "" && !model.Matches(pr, filter) {
			continue
		}
		out = append(out, pr)
	}
	return out
}

func psHeader(b *strings.Builder, width int) {
	fmt.Fprintf(b, "%-7s %-7s %-10s %s %s\n", "PID", "PPID", "USER", pad("COMMAND", width), "CAPABILITIES")
}

// pad fills s with spaces to width display columns.
func pad(s string, width int) string {
	if n := utf8.RuneCountInString(s); n < width {
		return s + strings.Repeat(" ", width-n)
	}
	return s
}

// maxCommandWidth bounds the COMMAND column: a kernel name is at most 16
// bytes (64 for a kernel thread), but a crafted proc tree's name, once
// escaped, could pad every row; a longer cell is cut with "…".
const maxCommandWidth = 48

func psCommand(pr procscan.Process, prefix string) string {
	cmd := prefix + model.Printable(pr.Comm)
	if pr.Role != "" {
		cmd += "(" + roleShort(pr.Role) + ")"
	}
	if utf8.RuneCountInString(cmd) > maxCommandWidth {
		r := []rune(cmd)
		cmd = string(r[:maxCommandWidth-1]) + "…"
	}
	return cmd
}

func psRow(b *strings.Builder, pr procscan.Process, known capset.Set, prefix string, width int) {
	user := model.Printable(pr.User)
	if r := []rune(user); len(r) > 10 {
		user = string(r[:9]) + "+"
	}
	fmt.Fprintf(b, "%-7d %-7d %-10s %s %s\n", pr.PID, pr.PPID, user, pad(psCommand(pr, prefix), width), model.CapText(pr, known))
}

func roleShort(r procscan.Role) string {
	switch r {
	case procscan.RoleProftpdMaster:
		return "master"
	case procscan.RoleProftpdSession:
		return "session"
	case procscan.RoleProftpdPre:
		return "pre-login"
	}
	return ""
}

func psThreads(b *strings.Builder, pr procscan.Process, indent string) {
	for _, t := range pr.Threads {
		fmt.Fprintf(b, "%s  thread %d (%s) differs: %s  amb %s  bnd %s\n", indent, t.TID, model.Printable(t.Comm),
			capset.Triple{Effective: t.Sets.Effective, Permitted: t.Sets.Permitted, Inheritable: t.Sets.Inheritable}, t.Sets.Ambient.Hex(), t.Sets.Bounding.Hex())
	}
}

func psTable(b *strings.Builder, procs []procscan.Process, known capset.Set, threads bool) {
	width := 16
	for _, pr := range procs {
		width = max(width, utf8.RuneCountInString(psCommand(pr, "")))
	}
	psHeader(b, width)
	for _, pr := range procs {
		psRow(b, pr, known, "", width)
		if threads {
			psThreads(b, pr, "       ")
		}
	}
}

// psTree draws parents before children; a process whose parent is not
// listed starts a tree of its own.
func psTree(b *strings.Builder, procs []procscan.Process, known capset.Set, threads bool) {
	sort.SliceStable(procs, func(i, j int) bool { return procs[i].PID < procs[j].PID })
	rows := model.Tree(procs)
	width := 16
	for _, n := range rows {
		width = max(width, utf8.RuneCountInString(psCommand(procs[n.Index], n.Prefix)))
	}
	psHeader(b, width)
	for _, n := range rows {
		psRow(b, procs[n.Index], known, n.Prefix, width)
		if threads {
			psThreads(b, procs[n.Index], "       ")
		}
	}
}

type setsJSON struct {
	Inheritable string `json:"inheritable"`
	Permitted   string `json:"permitted"`
	Effective   string `json:"effective"`
	Bounding    string `json:"bounding"`
	Ambient     string `json:"ambient"`
}

type threadJSON struct {
	TID  int    `json:"tid"`
	Comm string `json:"comm"`
	setsJSON
}

type procJSON struct {
	PID          int          `json:"pid"`
	PPID         int          `json:"ppid"`
	UID          uint32       `json:"uid"`
	EUID         uint32       `json:"euid"`
	User         string       `json:"user"`
	Comm         string       `json:"comm"`
	Cmdline      []string     `json:"cmdline"`
	CmdlineCut   bool         `json:"cmdline_cut,omitempty"`
	Inheritable  string       `json:"inheritable"`
	Permitted    string       `json:"permitted"`
	Effective    string       `json:"effective"`
	Bounding     string       `json:"bounding"`
	Ambient      string       `json:"ambient"`
	NoNewPrivs   bool         `json:"no_new_privs"`
	Seccomp      int          `json:"seccomp"`
	UserNSChild  *bool        `json:"userns_child"`
	KernelThread bool         `json:"kernel_thread"`
	FileCaps     *string      `json:"file_caps"`
	Role         string       `json:"role"`
	FTPUser      string       `json:"ftp_user,omitempty"`
	FTPHost      string       `json:"ftp_host,omitempty"`
	FTPState     string       `json:"ftp_state,omitempty"`
	Threads      []threadJSON `json:"threads"`
	// IAB is libcap's IAB text of the inheritable, ambient and bounding
	// sets ("" when all are at their defaults), as ps PID shows it.
	IAB   string     `json:"iab"`
	Drift *driftJSON `json:"drift"`
	// ConfigStatus ("known", "unknown") and ConfigNote are set for
	// proftpd masters and their logged-in sessions.
	ConfigStatus string `json:"config_status,omitempty"`
	ConfigNote   string `json:"config_note,omitempty"`
}

// fileCapsJSON is the executable's file capabilities in libcap text, ""
// when it has none, and null when they could not be read (as userns_child
// is null when the namespace could not be read).
func fileCapsJSON(p procscan.Process) *string {
	if p.FileCapsUnknown {
		return nil
	}
	fc := p.FileCaps
	return &fc
}

func setsOf(s procscan.Sets) setsJSON {
	return setsJSON{s.Inheritable.Hex(), s.Permitted.Hex(), s.Effective.Hex(), s.Bounding.Hex(), s.Ambient.Hex()}
}

func psJSON(pr procscan.Process, known capset.Set) procJSON {
	s := setsOf(pr.Sets)
	cmd := make([]string, len(pr.Cmdline))
	for i, a := range pr.Cmdline {
		cmd[i] = model.Printable(a)
	}
	th := []threadJSON{}
	for _, t := range pr.Threads {
		th = append(th, threadJSON{TID: t.TID, Comm: model.Printable(t.Comm), setsJSON: setsOf(t.Sets)})
	}
	return procJSON{
		PID: pr.PID, PPID: pr.PPID, UID: pr.UID, EUID: pr.EUID, User: model.Printable(pr.User), Comm: model.Printable(pr.Comm), Cmdline: cmd, CmdlineCut: pr.CmdlineCut,
		Inheritable: s.Inheritable, Permitted: s.Permitted, Effective: s.Effective, Bounding: s.Bounding, Ambient: s.Ambient,
		NoNewPrivs: pr.NoNewPrivs, Seccomp: pr.Seccomp, UserNSChild: pr.UserNSChild, KernelThread: pr.KernelThread,
		FileCaps: fileCapsJSON(pr), Role: string(pr.Role), FTPUser: model.Printable(pr.FTPUser), FTPHost: model.Printable(pr.FTPHost), FTPState: model.Printable(pr.FTPState),
		Threads: th, IAB: capset.IABOf(pr.Sets.Inheritable, pr.Sets.Ambient, pr.Sets.Bounding, known).String(),
	}
}

func psJSONList(procs []procscan.Process, drifts map[int]*driftJSON, rep drift.Report, known capset.Set) []procJSON {
	out := make([]procJSON, len(procs))
	for i, pr := range procs {
		out[i] = psJSON(pr, known)
		out[i].Drift = drifts[pr.PID]
		out[i].ConfigStatus, out[i].ConfigNote = configFields(rep, pr)
	}
	return out
}

// psDetail prints the named processes with all five sets, like getpcaps.
func psDetail(env Env, snap procscan.Snapshot, pids []int, known capset.Set, asJSON bool, root, config string) error {
	byPID := map[int]procscan.Process{}
	for _, p := range snap.Procs {
		byPID[p.PID] = p
	}
	var found []procscan.Process
	var missing []string
	for _, pid := range pids {
		if p, ok := byPID[pid]; ok {
			found = append(found, p)
		} else {
			missing = append(missing, strconv.Itoa(pid))
		}
	}
	drift, rep, err := psDrift(env, root, config, snap.Procs, found, snap.NotesFor(pids))
	if err != nil {
		return err
	}
	if asJSON {
		if err := writeJSON(env, psJSONList(found, drift, rep, known)); err != nil {
			return err
		}
	} else {
		var b strings.Builder
		for i, p := range found {
			if i > 0 {
				b.WriteString("\n")
			}
			DetailText(&b, p, known)
			if st, note := configFields(rep, p); st != "" {
				b.WriteString(hanging("  config:      ", st+": "+note))
			}
		}
		b.WriteString(driftText(found, drift))
		fmt.Fprint(env.Stdout, b.String())
	}
	if len(missing) > 0 {
		return usagef("ps: no such process (or not visible): %s", strings.Join(missing, ", "))
	}
	return driftExit(drift)
}

// DetailText writes one process in full, with every set by name.
func DetailText(b *strings.Builder, p procscan.Process, known capset.Set) {
	fmt.Fprintf(b, "%d: %s\n", p.PID, capset.Triple{Effective: p.Sets.Effective, Permitted: p.Sets.Permitted, Inheritable: p.Sets.Inheritable})
	cut := ""
	if p.CmdlineCut {
		cut = " … (cut: longer than captune reads)"
	}
	fmt.Fprintf(b, "  command:     %s%s\n", model.Printable(model.Command(p)), cut)
	fmt.Fprintf(b, "  parent:      %d\n", p.PPID)
	fmt.Fprintf(b, "  user:        %s (uid %d/%d/%d real/effective/saved, gid %d/%d)\n", model.Printable(p.User), p.UID, p.EUID, p.SUID, p.GID, p.EGID)
	if p.Role != "" {
		fmt.Fprintf(b, "  role:        %s", p.Role)
		if p.FTPUser != "" {
			fmt.Fprintf(b, " (ftp user %s from %s, %s)", model.Printable(p.FTPUser), model.Printable(p.FTPHost), model.Printable(p.FTPState))
		}
		b.WriteString("\n")
	}
	set := func(label string, s capset.Set) {
		fmt.Fprintf(b, "  %-12s %s  %s\n", label+":", s.Hex(), model.SetWords(s, known))
	}
	set("permitted", p.Sets.Permitted)
	set("effective", p.Sets.Effective)
	set("inheritable", p.Sets.Inheritable)
	set("bounding", p.Sets.Bounding)
	if p.HasAmbient {
		set("ambient", p.Sets.Ambient)
	} else {
		fmt.Fprintf(b, "  %-12s (this kernel has no ambient set)\n", "ambient:")
	}
	fmt.Fprintf(b, "  iab:         %s\n", orNone(capset.IABOf(p.Sets.Inheritable, p.Sets.Ambient, p.Sets.Bounding, known).String()))
	ns := "unknown"
	if p.UserNSChild != nil {
		ns = "initial"
		if *p.UserNSChild {
			ns = "child (capabilities count only inside it)"
		}
	}
	fmt.Fprintf(b, "  no_new_privs: %s, seccomp: %s, user namespace: %s\n", model.YesNo(p.NoNewPrivs), model.SeccompWord(p.Seccomp), ns)
	fmt.Fprintf(b, "  file caps:   %s\n", model.FileCapsWord(p))
	if p.NumThreads > 1 {
		if len(p.Threads) == 0 {
			fmt.Fprintf(b, "  threads:     %d, all with the leader's sets\n", p.NumThreads)
		} else {
			fmt.Fprintf(b, "  threads:     %d, %d differ from the leader:\n", p.NumThreads, len(p.Threads))
			psThreads(b, p, "  ")
		}
	}
}

// hanging writes label and text folded at 78 columns, the lines after
// the first indented under the text.
func hanging(label, text string) string {
	lines := strings.Split(strings.TrimRight(wrap(text, 78-len(label), ""), "\n"), "\n")
	for i := range lines {
		if i == 0 {
			lines[i] = label + lines[i]
		} else {
			lines[i] = strings.Repeat(" ", len(label)) + lines[i]
		}
	}
	return strings.Join(lines, "\n") + "\n"
}

func orNone(s string) string {
	if s == "" {
		return "none"
	}
	return s
}
