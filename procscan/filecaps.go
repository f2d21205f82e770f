package procscan

import (
	"encoding/binary"

	"golang.org/x/sys/unix"

	"captune/capset"
)

// fileCaps returns the file capabilities of the file at path (for
// /proc/PID/exe, the process's executable) in libcap text, or "" when it
// has none. unknown is set when they could not be read: the link is
// another user's to follow (EACCES, EPERM without root) or the read
// failed otherwise, or holds a value captune cannot decode; a file
// without the attribute, on a filesystem without
// attributes, or a process that has no executable any more has none.
func fileCaps(path string) (text string, unknown bool) {
	var buf [24]byte
	n, err := unix.Getxattr(path, "security.capability", buf[:])
	switch {
	case err == unix.ENODATA, err == unix.ENOTSUP, err == unix.ENOENT, err == unix.ESRCH:
		return "", false
	case err != nil:
		return "", true
	}
	text, ok := decodeFileCaps(buf[:n])
	if !ok {
		// A value of a revision captune cannot read.
		return "", true
	}
	return text, false
}

// decodeFileCaps reads a security.capability value (struct vfs_cap_data,
// revisions 1 to 3) into libcap text, as getcap prints it: "" for a value
// that grants nothing; ok is false for one that cannot be read.
func decodeFileCaps(b []byte) (string, bool) {
	if len(b) < 4 {
		return "", false
	}
	magic := binary.LittleEndian.Uint32(b)
	effective := magic&1 != 0
	var prm, inh uint64
	switch magic &^ 1 {
	case 0x01000000:
		if len(b) < 12 {
			return "", false
		}
		prm = uint64(binary.LittleEndian.Uint32(b[4:]))
		inh = uint64(binary.LittleEndian.Uint32(b[8:]))
	case 0x02000000, 0x03000000:
		if len(b) < 20 {
			return "", false
		}
		prm = uint64(binary.LittleEndian.Uint32(b[4:])) | uint64(binary.LittleEndian.Uint32(b[12:]))<<32
		inh = uint64(binary.LittleEndian.Uint32(b[8:])) | uint64(binary.LittleEndian.Uint32(b[16:]))<<32
	default:
		return "", false
	}
	t := capset.Triple{Permitted: capset.Set(prm), Inheritable: capset.Set(inh)}
	if effective {
		t.Effective = t.Permitted | t.Inheritable
	}
	if t.Permitted|t.Inheritable == 0 {
		return "", true
	}
	return t.String(), true
}
