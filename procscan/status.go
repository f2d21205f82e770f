package procscan

import (
	"bytes"
	"errors"
	"fmt"

	"captune/capset"
)

// ErrMalformed reports a status file that lacks what every kernel prints
// or holds a value no kernel prints.
var ErrMalformed = errors.New("malformed status file")

// malformedError says what is wrong with a status file: the line's key
// and the bad token. It unwraps to ErrMalformed.
type malformedError struct {
	key, token, why string
	hasToken        bool
}

func (e *malformedError) Error() string {
	switch {
	case e.key == "":
		return e.why
	case !e.hasToken:
		return e.key + ": " + e.why
	}
	return fmt.Sprintf("%s: %q %s", e.key, e.token, e.why)
}

func (e *malformedError) Unwrap() error { return ErrMalformed }

func malformed(key string, token []byte, why string) error {
	const maxToken = 40
	t := string(token)
	if len(t) > maxToken {
		t = t[:maxToken] + "..."
	}
	return &malformedError{key: key, token: t, why: why, hasToken: token != nil}
}

// maxName bounds the Name: value: the kernel prints at most 64 bytes
// (a kernel thread's full name, escaped); a longer one comes from a
// crafted tree and is cut there.
const maxName = 64

// status is what captune reads from /proc/PID/status.
//
// It is parsed here rather than with procfs's NewStatus: that parser lacks
// NoNewPrivs, Seccomp, PPid, Threads and Kthread, allocates a map entry
// for every line, costs about 1.2x a raw read on its own, and panics on a
// malformed Uid: line. This one reads only the lines it needs, never
// panics, and rejects files cut short (a process exiting mid-read) and
// values no kernel prints (a mask that is not 1 to 16 hex digits, an id
// that is not a number), naming the bad token.
type status struct {
	name               string
	state              byte
	tgid, ppid         int
	uid, euid, suid    uint32
	gid, egid          uint32
	threads            int
	kthread            int // -1 when the kernel has no Kthread: line
	inh, prm, eff, bnd capset.Set
	amb                capset.Set
	hasAmb             bool
	noNewPrivs         bool
	seccomp            int
	haveCaps, haveUID  bool
	haveBnd            bool
}

// parseStatus reads the fields captune needs from a status file.
func parseStatus(b []byte) (status, error) {
	st := status{kthread: -1, threads: 1}
	// The kernel ends every line with a newline: without one, the file
	// was cut in the middle of a line and its last value is partial.
	if len(b) == 0 {
		return st, malformed("", nil, "empty")
	}
	if b[len(b)-1] != '\n' {
		return st, malformed("", nil, "cut short: the last line has no newline")
	}
	for len(b) > 0 {
		var line []byte
		if i := bytes.IndexByte(b, '\n'); i >= 0 {
			line, b = b[:i], b[i+1:]
		} else {
			line, b = b, nil
		}
		colon := bytes.IndexByte(line, ':')
		if colon <= 0 {
			continue
		}
		key, val := line[:colon], trimSpace(line[colon+1:])
		var ok bool
		switch string(key) {
		case "Name":
			// Only the tab after the colon is the kernel's: a name may
			// begin or end with spaces.
			v := bytes.TrimPrefix(line[colon+1:], []byte{'\t'})
			if len(v) > maxName {
				v = v[:maxName]
			}
			st.name = unescapeName(v)
		case "State":
			if len(val) > 0 {
				st.state = val[0]
			}
		case "Tgid":
			if st.tgid, ok = number(val); !ok {
				return st, malformed("Tgid", val, "is not a number")
			}
		case "PPid":
			if st.ppid, ok = number(val); !ok {
				return st, malformed("PPid", val, "is not a number")
			}
		case "Uid":
			ids, ok := fourIDs(val)
			if !ok {
				return st, malformed("Uid", val, "is not three or four uids")
			}
			st.uid, st.euid, st.suid = ids[0], ids[1], ids[2]
			st.haveUID = true
		case "Gid":
			ids, ok := fourIDs(val)
			if !ok {
				return st, malformed("Gid", val, "is not three or four gids")
			}
			st.gid, st.egid = ids[0], ids[1]
		case "Kthread":
			if st.kthread, ok = number(val); !ok {
				return st, malformed("Kthread", val, "is not a number")
			}
		case "Threads":
			if st.threads, ok = number(val); !ok {
				return st, malformed("Threads", val, "is not a number")
			}
		case "CapInh":
			if st.inh, ok = hexSet(val); !ok {
				return st, badMask("CapInh", val)
			}
		case "CapPrm":
			if st.prm, ok = hexSet(val); !ok {
				return st, badMask("CapPrm", val)
			}
		case "CapEff":
			if st.eff, ok = hexSet(val); !ok {
				return st, badMask("CapEff", val)
			}
			st.haveCaps = true
		case "CapBnd":
			if st.bnd, ok = hexSet(val); !ok {
				return st, badMask("CapBnd", val)
			}
			st.haveBnd = true
		case "CapAmb":
			if st.amb, ok = hexSet(val); !ok {
				return st, badMask("CapAmb", val)
			}
			st.hasAmb = true
		case "NoNewPrivs":
			n, ok := number(val)
			if !ok {
				return st, malformed("NoNewPrivs", val, "is not a number")
			}
			st.noNewPrivs = n == 1
		case "Seccomp":
			if st.seccomp, ok = number(val); !ok {
				return st, malformed("Seccomp", val, "is not a number")
			}
		}
	}
	// CapBnd has been printed since Linux 2.6.25: a file without it was
	// cut short after CapEff.
	switch {
	case !st.haveUID:
		return st, malformed("", nil, "no Uid: line")
	case !st.haveCaps:
		return st, malformed("", nil, "no CapEff: line")
	case !st.haveBnd:
		return st, malformed("", nil, "no CapBnd: line")
	}
	return st, nil
}

// badMask explains a capability mask no kernel prints: the kernel writes
// exactly 16 hex digits; 1 to 16 are taken.
func badMask(key string, val []byte) error {
	if len(val) > 16 && isHex(val) {
		return malformed(key, val, fmt.Sprintf("has %d hex digits (a mask has at most 16)", len(val)))
	}
	return malformed(key, val, "is not a hex mask")
}

func isHex(b []byte) bool {
	for _, c := range b {
		if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F') {
			return false
		}
	}
	return true
}

// number reads a decimal number that fits an int32 (every number the
// status fields captune reads hold).
func number(b []byte) (int, bool) {
	if len(b) == 0 || len(b) > 10 {
		return 0, false
	}
	n := 0
	for _, c := range b {
		if c < '0' || c > '9' {
			return 0, false
		}
		n = n*10 + int(c-'0')
	}
	if n > 1<<31-1 {
		return 0, false
	}
	return n, true
}

func trimSpace(b []byte) []byte {
	for len(b) > 0 && (b[0] == ' ' || b[0] == '\t') {
		b = b[1:]
	}
	for len(b) > 0 && (b[len(b)-1] == ' ' || b[len(b)-1] == '\t' || b[len(b)-1] == '\r') {
		b = b[:len(b)-1]
	}
	return b
}

// fourIDs reads the real, effective, saved (and filesystem) ids of a
// Uid: or Gid: line; anything else on the line makes it malformed.
func fourIDs(b []byte) ([4]uint32, bool) {
	var ids [4]uint32
	n := 0
	for {
		for len(b) > 0 && (b[0] == ' ' || b[0] == '\t') {
			b = b[1:]
		}
		if len(b) == 0 {
			break
		}
		if n == 4 {
			return ids, false
		}
		var v uint64
		j := 0
		for j < len(b) && b[j] >= '0' && b[j] <= '9' {
			v = v*10 + uint64(b[j]-'0')
			if v > 1<<32-1 {
				return ids, false
			}
			j++
		}
		if j == 0 || (j < len(b) && b[j] != ' ' && b[j] != '\t') {
			return ids, false
		}
		ids[n] = uint32(v)
		n++
		b = b[j:]
	}
	return ids, n >= 3
}

func hexSet(b []byte) (capset.Set, bool) {
	if len(b) == 0 || len(b) > 16 {
		return 0, false
	}
	var v uint64
	for _, c := range b {
		var d byte
		switch {
		case c >= '0' && c <= '9':
			d = c - '0'
		case c >= 'a' && c <= 'f':
			d = c - 'a' + 10
		case c >= 'A' && c <= 'F':
			d = c - 'A' + 10
		default:
			return 0, false
		}
		v = v<<4 | uint64(d)
	}
	return capset.Set(v), true
}

// unescapeName undoes the kernel's escaping of the Name: line ("\n" for a
// newline, "\\" for a backslash); other bytes come through as they are.
func unescapeName(b []byte) string {
	if bytes.IndexByte(b, '\\') < 0 {
		return string(b)
	}
	var out []byte
	for i := 0; i < len(b); i++ {
		if b[i] == '\\' && i+1 < len(b) {
			switch b[i+1] {
			case 'n':
				out = append(out, '\n')
				i++
				continue
			case '\\':
				out = append(out, '\\')
				i++
				continue
			}
		}
		out = append(out, b[i])
	}
	return string(out)
}
