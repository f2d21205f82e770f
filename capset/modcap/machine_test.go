package modcap

import (
	"io/fs"
	"testing"
	"testing/fstest"
)

// TestReadUsers: the files a login reads come through the reader; a
// missing /etc/ftpusers lists nobody, a missing /etc/shells is unknown,
// an unreadable AuthUserFile keeps its error.
func TestReadUsers(t *testing.T) {
	fsys := fstest.MapFS{
		"etc/passwd":      {Data: []byte("root:x:0:0::/root:/bin/sh\nalice:x:1000:1000::/home/alice:/bin/sh\n")},
		"etc/group":       {Data: []byte("alice:x:1000:\nstaff:x:50:alice\n")},
		"srv/ftp.passwd":  {Data: []byte("bob:x:2000:2000::/srv:/bin/false\n")},
		"etc/ftpusers":    {Data: []byte("root\n")},
		"srv/not-regular": {Mode: fs.ModeNamedPipe | 0o644},
	}
	cfg, err := ReadString("/c.conf", "AuthUserFile /srv/ftp.passwd\nAuthGroupFile /srv/not-regular\n", Options{FS: fsys})
	if err != nil {
		t.Fatal(err)
	}
	u := ReadUsers(cfg, Options{FS: fsys})
	if a, ok := u.System.User("alice"); !ok || a.UID != 1000 || len(u.System.GroupNames(a)) != 2 {
		t.Errorf("system alice: %+v %v %v", a, ok, u.System.GroupNames(a))
	}
	if f := u.Files["/srv/ftp.passwd"]; f.Err != nil || f.Text == "" {
		t.Errorf("AuthUserFile: %+v", f)
	}
	if f := u.Files["/srv/not-regular"]; f.Err == nil {
		t.Errorf("a named pipe was read: %+v", f)
	}
	if len(u.FTPUsers) != 1 || u.FTPUsers[0] != "root" || u.Shells != nil {
		t.Errorf("ftpusers %q shells %q", u.FTPUsers, u.Shells)
	}
	delete(fsys, "etc/ftpusers")
	delete(fsys, "etc/passwd")
	u = ReadUsers(cfg, Options{FS: fsys})
	if u.FTPUsers == nil || len(u.FTPUsers) != 0 || u.System != nil {
		t.Errorf("missing files: ftpusers %q system %v", u.FTPUsers, u.System)
	}
}
