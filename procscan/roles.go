package procscan

import "strings"

// assignRoles marks proftpd masters (comm proftpd, parent not proftpd)
// and their session children, parsing a child's title:
// "proftpd: USER - HOST: STATE" once logged in; anything else
// ("proftpd: connected: ...", "proftpd: ADDR: USER name") is pre-login.
func assignRoles(procs []Process) {
	byPID := make(map[int]*Process, len(procs))
	for i := range procs {
		byPID[procs[i].PID] = &procs[i]
	}
	for i := range procs {
		p := &procs[i]
		if p.Comm != "proftpd" {
			continue
		}
		parent, ok := byPID[p.PPID]
		if !ok || parent.Comm != "proftpd" {
			p.Role = RoleProftpdMaster
			continue
		}
		p.Role = RoleProftpdPre
		title := strings.Join(p.Cmdline, " ")
		rest, ok := strings.CutPrefix(strings.TrimSpace(title), "proftpd: ")
		if !ok {
			continue
		}
		if strings.HasPrefix(rest, "connected: ") {
			continue
		}
		user, after, ok := strings.Cut(rest, " - ")
		if !ok || user == "" || strings.ContainsAny(user, " :") {
			continue
		}
		host, state, ok := strings.Cut(after, ": ")
		if !ok {
			continue
		}
		p.Role = RoleProftpdSession
		p.FTPUser, p.FTPHost, p.FTPState = user, host, strings.TrimSpace(state)
	}
}
