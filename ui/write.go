package ui

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/user"
	"path/filepath"
	"strings"

	tea "charm.land/bubbletea/v2"
	"golang.org/x/sys/unix"

	"captune/model"
)

// writeMsg is the outcome of a write (w in the emit view). exists is set
// when the target is there and overwrite was not asked for; what then
// describes it.
type writeMsg struct {
	typed, path string
	exists      bool
	what        string
	err         error
}

// expandPath makes a typed file name absolute: "~" and "~/..." are in
// home, "~name/..." in that user's home folder.
func expandPath(typed, home string, lookup func(string) (string, error)) (string, error) {
	p := typed
	if rest, ok := strings.CutPrefix(p, "~"); ok {
		name, tail, _ := strings.Cut(rest, "/")
		dir := home
		if name != "" {
			d, err := lookup(name)
			if err != nil {
				return "", fmt.Errorf("~%s: no such user", name)
			}
			dir = d
		} else if dir == "" {
			return "", errors.New("~: HOME is not set")
		}
		p = filepath.Join(dir, tail)
	}
	return filepath.Abs(p)
}

func homeOf(name string) (string, error) {
	u, err := user.Lookup(name)
	if err != nil {
		return "", err
	}
	return u.HomeDir, nil
}

// reason is an error without the path it names (the caller names the
// target instead).
func reason(err error) error {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	var le *os.LinkError
	if errors.As(err, &le) {
		return le.Err
	}
	return err
}

// writeCmd writes content to the typed path: a new temporary file in the
// target's folder, made without following links and chmod-ed through its
// descriptor, then renamed over the target. Without overwrite the
// rename refuses to replace anything (RENAME_NOREPLACE) and the message
// says what is there. A failure never leaves half a file, and errors
// name the target, not the temporary file.
func writeCmd(typed, content string, overwrite bool) tea.Cmd {
	return func() tea.Msg {
		msg := writeMsg{typed: typed}
		path, err := expandPath(typed, os.Getenv("HOME"), homeOf)
		if err != nil {
			msg.err = err
			return msg
		}
		msg.path = path
		if fi, err := os.Lstat(path); err == nil {
			switch {
			case fi.IsDir():
				msg.err = errors.New("is a folder")
				return msg
			case !overwrite:
				msg.exists, msg.what = true, describe(path, fi)
				return msg
			}
		}
		dir, base := filepath.Split(path)
		d, err := os.Open(dir)
		if err != nil {
			msg.err = fmt.Errorf("its folder %s: %v", dir, reason(err))
			return msg
		}
		defer d.Close()
		dfd := int(d.Fd())
		var tmp string
		var fd int
		for i := 0; ; i++ {
			tmp = fmt.Sprintf(".%s.captune-%d-%d", base, os.Getpid(), i)
			fd, err = unix.Openat(dfd, tmp, unix.O_WRONLY|unix.O_CREAT|unix.O_EXCL|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0o600)
			if !errors.Is(err, unix.EEXIST) || i > 100 {
				break
			}
		}
		if err != nil {
			msg.err = fmt.Errorf("cannot create a file in %s: %v", dir, err)
			return msg
		}
		f := os.NewFile(uintptr(fd), tmp)
		_, werr := f.WriteString(content)
		if werr == nil {
			werr = f.Chmod(0o644)
		}
		if werr == nil {
			werr = f.Sync()
		}
		if cerr := f.Close(); werr == nil {
			werr = cerr
		}
		if werr == nil {
			flags := uint(unix.RENAME_NOREPLACE)
			if overwrite {
				flags = 0
			}
			werr = unix.Renameat2(dfd, tmp, dfd, base, flags)
			if errors.Is(werr, unix.EEXIST) {
				_ = unix.Unlinkat(dfd, tmp, 0)
				if fi, err := os.Lstat(path); err == nil {
					msg.exists, msg.what = true, describe(path, fi)
					return msg
				}
			}
		}
		if werr != nil {
			_ = unix.Unlinkat(dfd, tmp, 0)
			msg.err = reason(werr)
		}
		return msg
	}
}

// describe says what is at path for the overwrite question.
func describe(path string, fi fs.FileInfo) string {
	switch {
	case fi.Mode()&fs.ModeSymlink != 0:
		to, _ := os.Readlink(path)
		return "a symbolic link to " + to + " (the link is replaced, its target is not written)"
	case fi.Mode().IsRegular():
		return fmt.Sprintf("a file of %d bytes", fi.Size())
	}
	return "a " + fi.Mode().Type().String() + " file"
}

// target names a write's target for people: the typed name and, when it
// differs, where it leads.
func (w writeMsg) target() string {
	if w.path == "" || w.path == w.typed {
		return model.Printable(w.typed)
	}
	return model.Printable(w.typed + " (" + w.path + ")")
}

func (m Model) onPathKey(msg tea.KeyPressMsg) (tea.Model, tea.Cmd) {
	switch msg.String() {
	case "esc":
		m.overlay = overlayEmit
		m.path.Blur()
		return m, nil
	case "ctrl+c":
		return m, tea.Quit
	case "enter":
		p := strings.TrimSpace(m.path.Value())
		if p == "" {
			m.setError("no file name given")
			return m, nil
		}
		m.path.Blur()
		m.status, m.statusErr = "", false
		return m, writeCmd(p, m.tuner.Output(m.user()), false)
	}
	var cmd tea.Cmd
	m.path, cmd = m.path.Update(msg)
	return m, cmd
}

func (m Model) onOverwriteKey(msg tea.KeyPressMsg) (tea.Model, tea.Cmd) {
	switch msg.String() {
	case "y", "Y":
		m.open(overlayEmit)
		m.status, m.statusErr = "", false
		return m, writeCmd(strings.TrimSpace(m.path.Value()), m.tuner.Output(m.user()), true)
	case "ctrl+c":
		return m, tea.Quit
	default:
		m.open(overlayEmit)
		m.setStatus("not written: %s is there", m.pending.target())
	}
	return m, nil
}

func (m Model) onWriteMsg(msg writeMsg) (tea.Model, tea.Cmd) {
	switch {
	case msg.exists:
		m.pending = msg
		m.open(overlayOverwrite)
		m.status, m.statusErr = "", false
		return m, nil
	case msg.err != nil:
		m.setError("not written: %s: %v", msg.target(), msg.err)
	default:
		m.setStatus("wrote %s", msg.target())
	}
	m.open(overlayEmit)
	return m, nil
}
