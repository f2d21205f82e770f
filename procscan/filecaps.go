package procscan

import (
	"encoding/binary"

	"golang.org/x/sys/unix"

	"captune/capset"
)

// fileCaps returns the file capabilities of the file at path (for
// /proc/PID/exe, the process's executable) in libcap text, or "".
func fileCaps(path string) string {
	var buf [24]byte
	n, err := unix.Getxattr(path, "security.capability", buf[:])
	if err != nil || n < 4 {
		return ""
	}
	text, ok := decodeFileCaps(buf[:n])
	if !ok {
		return ""
	}
	return text
}

// decodeFileCaps reads a security.capability value (struct vfs_cap_data,
// revisions 1 to 3) into libcap text, as getcap prints it.
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
		return "", false
	}
	return t.String(), true
}
