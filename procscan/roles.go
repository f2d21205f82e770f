package procscan

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"

	"captune/safefile"
)

// assignRoles marks proftpd masters and their session children, and
// returns the processes named proftpd that were not taken for a master.
//
// A master is a process named proftpd whose parent is not named proftpd,
// and which check finds credible (see Scanner.masterCheck): anyone can
// start a process called proftpd and title its children like sessions,
// so the name alone proves nothing. The children of a master are parsed
// from their title: "proftpd: USER - HOST: STATE" once logged in;
// anything else ("proftpd: connected: ...", "proftpd: ADDR: USER name")
// is pre-login. The children of a look-alike get no role. A process that
// is exiting (a zombie, or one whose executable is already gone) is no
// master and no look-alike either: it is simply on its way out.
func assignRoles(procs []Process, check func(Process) string) []LookAlike {
	byPID := make(map[int]*Process, len(procs))
	for i := range procs {
		byPID[procs[i].PID] = &procs[i]
	}
	var look []LookAlike
	for i := range procs {
		p := &procs[i]
		if p.Comm != "proftpd" {
			continue
		}
		if parent, ok := byPID[p.PPID]; ok && parent.Comm == "proftpd" {
			continue
		}
		if p.State == 'Z' || p.State == 'X' {
			continue
		}
		switch why := check(*p); why {
		case "":
			p.Role = RoleProftpdMaster
		case exiting:
		default:
			look = append(look, LookAlike{PID: p.PID, Reason: why})
		}
	}
	for i := range procs {
		p := &procs[i]
		if p.Comm != "proftpd" || p.Role == RoleProftpdMaster {
			continue
		}
		parent, ok := byPID[p.PPID]
		if !ok || parent.Role != RoleProftpdMaster {
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
	return look
}

// exiting is what masterCheck says of a process that is exiting: neither a
// master nor a look-alike worth a note.
const exiting = "\x00exiting"

// masterCheck says why a process named proftpd is not a credible proftpd
// master, or "" when it is: its real uid must be root (only root's
// proftpd can switch to the login user, and another user's process is
// exactly what must not steer captune), and its executable must be a
// regular file named proftpd owned by root. The executable is looked at
// with readlink and stat on /proc/PID/exe (which reaches the running
// binary even once its path is replaced); nothing is opened.
func (s *Scanner) masterCheck(p Process) string {
	if p.UID != 0 {
		return fmt.Sprintf("real uid %d, not root", p.UID)
	}
	exe := s.root + "/" + strconv.Itoa(p.PID) + "/exe"
	link, err := os.Readlink(exe)
	if errors.Is(err, fs.ErrNotExist) || errors.Is(err, syscall.ESRCH) {
		// The process exited (or is exiting) since it was read.
		return exiting
	}
	if err != nil {
		return "its executable cannot be read"
	}
	link = strings.TrimSuffix(link, " (deleted)")
	if filepath.Base(link) != "proftpd" {
		return "its executable is " + link + ", not proftpd"
	}
	st, err := os.Stat(exe)
	if err != nil {
		return "its executable " + link + " cannot be read"
	}
	if !st.Mode().IsRegular() {
		return "its executable " + link + " is " + safefile.Kind(st.Mode())
	}
	if uid, ok := safefile.Owner(st); !ok || uid != s.exeOwner {
		return fmt.Sprintf("its executable %s is owned by uid %d, not root", link, uid)
	}
	return ""
}
