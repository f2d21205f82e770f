package modcap

import (
	"errors"
	"io/fs"
)

// System files a session's login reads besides the configuration:
// mod_auth_unix's user database, /etc/ftpusers (UseFtpUsers) and
// /etc/shells (RequireValidShell).
const (
	PasswdFile   = "/etc/passwd"
	GroupFile    = "/etc/group"
	FTPUsersFile = "/etc/ftpusers"
	ShellsFile   = "/etc/shells"
)

// ReadUsers reads the user data a prediction of a login on cfg needs,
// the way configuration files are read (regular files only, opened
// without blocking, bounded, each checked by opt.Trust): every
// AuthUserFile and AuthGroupFile the file names, this machine's
// /etc/passwd and /etc/group, /etc/ftpusers and /etc/shells. A system
// file that cannot be read is left unknown (nil), except a missing
// /etc/ftpusers, which lists nobody, as proftpd reads it. DirExists is
// left for the caller to fill in.
func ReadUsers(cfg *Config, opt Options) *Users {
	r := newReader(opt)
	u := &Users{Files: ReadAuthFiles(cfg, opt)}
	if pw, err := r.openFile(PasswdFile); err == nil {
		t := &Table{Accounts: ParsePasswd(string(pw))}
		if gr, err := r.openFile(GroupFile); err == nil {
			t.Groups = ParseGroup(string(gr))
		}
		u.System = t
	}
	switch b, err := r.openFile(FTPUsersFile); {
	case err == nil:
		u.FTPUsers = ParseFTPUsers(string(b))
	case errors.Is(err, fs.ErrNotExist):
		u.FTPUsers = []string{}
	}
	if b, err := r.openFile(ShellsFile); err == nil {
		u.Shells = ParseFTPUsers(string(b))
	}
	return u
}
