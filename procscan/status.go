package procscan

import (
	"bytes"
	"errors"
	"strconv"

	"captune/capset"
)

// ErrMalformed reports a status file that lacks what every kernel prints.
var ErrMalformed = errors.New("malformed status file")

// status is what captune reads from /proc/PID/status.
//
// It is parsed here rather than with procfs's NewStatus: that parser lacks
// NoNewPrivs, Seccomp, PPid, Threads and Kthread, allocates a map entry
// for every line, costs about 1.2x a raw read on its own, and panics on a
// malformed Uid: line. This one reads only the lines it needs, never
// panics, and rejects files cut short (a process exiting mid-read).
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
	cut := len(b) == 0 || b[len(b)-1] != '\n'
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
		switch string(key) {
		case "Name":
			// Only the tab after the colon is the kernel's: a name may
			// begin or end with spaces.
			st.name = unescapeName(bytes.TrimPrefix(line[colon+1:], []byte{'\t'}))
		case "State":
			if len(val) > 0 {
				st.state = val[0]
			}
		case "Tgid":
			st.tgid = atoi(val)
		case "PPid":
			st.ppid = atoi(val)
		case "Uid":
			ids, ok := fourIDs(val)
			if ok {
				st.uid, st.euid, st.suid = ids[0], ids[1], ids[2]
				st.haveUID = true
			}
		case "Gid":
			if ids, ok := fourIDs(val); ok {
				st.gid, st.egid = ids[0], ids[1]
			}
		case "Kthread":
			st.kthread = atoi(val)
		case "Threads":
			st.threads = atoi(val)
		case "CapInh":
			st.inh, _ = hexSet(val)
		case "CapPrm":
			st.prm, _ = hexSet(val)
		case "CapEff":
			var ok bool
			st.eff, ok = hexSet(val)
			st.haveCaps = ok
		case "CapBnd":
			st.bnd, st.haveBnd = hexSet(val)
		case "CapAmb":
			st.amb, st.hasAmb = hexSet(val)
		case "NoNewPrivs":
			st.noNewPrivs = atoi(val) == 1
		case "Seccomp":
			st.seccomp = atoi(val)
		}
	}
	// CapBnd has been printed since Linux 2.6.25: a file without it was
	// cut short after CapEff.
	if cut || !st.haveCaps || !st.haveUID || !st.haveBnd {
		return st, ErrMalformed
	}
	return st, nil
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

func atoi(b []byte) int {
	n := 0
	if len(b) == 0 {
		return -1
	}
	for _, c := range b {
		if c < '0' || c > '9' {
			break
		}
		n = n*10 + int(c-'0')
		if n > 1<<40 {
			return -1
		}
	}
	return n
}

func fourIDs(b []byte) ([4]uint32, bool) {
	var ids [4]uint32
	n := 0
	for len(b) > 0 && n < 4 {
		for len(b) > 0 && (b[0] == ' ' || b[0] == '\t') {
			b = b[1:]
		}
		j := 0
		for j < len(b) && b[j] >= '0' && b[j] <= '9' {
			j++
		}
		if j == 0 {
			break
		}
		v, err := strconv.ParseUint(string(b[:j]), 10, 32)
		if err != nil {
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
