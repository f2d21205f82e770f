package capset

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// Cap is one capability: its number, which is also its bit in a mask.
type Cap uint8

// NamedCount is how many capabilities have names (cap_chown = 0 through
// cap_checkpoint_restore = 40). Bits 41 to 63 are shown by number.
const NamedCount = 41

// MaxBits is the width of a capability mask as /proc prints it.
const MaxBits = 64

// The capabilities mod_cap and captune refer to by constant.
const (
	Chown             Cap = 0
	DacOverride       Cap = 1
	DacReadSearch     Cap = 2
	Fowner            Cap = 3
	Fsetid            Cap = 4
	Kill              Cap = 5
	Setgid            Cap = 6
	Setuid            Cap = 7
	Setpcap           Cap = 8
	NetBindService    Cap = 10
	NetRaw            Cap = 13
	SysChroot         Cap = 18
	SysAdmin          Cap = 21
	SysResource       Cap = 24
	AuditWrite        Cap = 29
	Setfcap           Cap = 31
	CheckpointRestore Cap = 40
)

// ErrUnknownCap reports a capability name or number that does not exist.
var ErrUnknownCap = errors.New("unknown capability")

var names = [NamedCount]string{
	"cap_chown", "cap_dac_override", "cap_dac_read_search", "cap_fowner",
	"cap_fsetid", "cap_kill", "cap_setgid", "cap_setuid", "cap_setpcap",
	"cap_linux_immutable", "cap_net_bind_service", "cap_net_broadcast",
	"cap_net_admin", "cap_net_raw", "cap_ipc_lock", "cap_ipc_owner",
	"cap_sys_module", "cap_sys_rawio", "cap_sys_chroot", "cap_sys_ptrace",
	"cap_sys_pacct", "cap_sys_admin", "cap_sys_boot", "cap_sys_nice",
	"cap_sys_resource", "cap_sys_time", "cap_sys_tty_config", "cap_mknod",
	"cap_lease", "cap_audit_write", "cap_audit_control", "cap_setfcap",
	"cap_mac_override", "cap_mac_admin", "cap_syslog", "cap_wake_alarm",
	"cap_block_suspend", "cap_audit_read", "cap_perfmon", "cap_bpf",
	"cap_checkpoint_restore",
}

// String returns the lower-case name ("cap_chown"), or the decimal number
// for a bit that has no name, as capsh does.
func (c Cap) String() string {
	if int(c) < NamedCount {
		return names[c]
	}
	return strconv.Itoa(int(c))
}

// Upper returns the name as ProFTPD writes it ("CAP_CHOWN"), or the number.
func (c Cap) Upper() string { return strings.ToUpper(c.String()) }

// Named reports whether the capability has a name.
func (c Cap) Named() bool { return int(c) < NamedCount }

// ParseCap reads one capability: a name in any case, with or without the
// "cap_" prefix, or a decimal bit number from 0 to 63.
func ParseCap(s string) (Cap, error) {
	t := strings.ToLower(strings.TrimSpace(s))
	if t == "" {
		return 0, fmt.Errorf("%w: empty name", ErrUnknownCap)
	}
	if n, err := strconv.Atoi(t); err == nil {
		if n < 0 || n >= MaxBits {
			return 0, fmt.Errorf("%w: %q (numbers go from 0 to 63)", ErrUnknownCap, s)
		}
		return Cap(n), nil
	}
	if !strings.HasPrefix(t, "cap_") {
		t = "cap_" + t
	}
	for i, n := range names {
		if n == t {
			return Cap(i), nil
		}
	}
	if sug := Suggest(s); sug != "" {
		return 0, fmt.Errorf("%w: %q (did you mean %s?)", ErrUnknownCap, strings.TrimSpace(s), sug)
	}
	return 0, fmt.Errorf("%w: %q", ErrUnknownCap, strings.TrimSpace(s))
}

// Suggest returns the capability name closest to s, or "" when none is
// close enough to be a likely typo.
func Suggest(s string) string {
	t := strings.ToLower(strings.TrimSpace(s))
	t = strings.TrimPrefix(t, "cap_")
	best, bestD := "", 1<<30
	for _, n := range names {
		short := strings.TrimPrefix(n, "cap_")
		d := editDistance(t, short)
		if strings.Contains(short, t) && len(t) >= 3 {
			d = min(d, 1)
		}
		if d < bestD {
			best, bestD = n, d
		}
	}
	if bestD <= max(2, len(t)/3) {
		return best
	}
	return ""
}

func editDistance(a, b string) int {
	if len(a) > 64 || len(b) > 64 {
		return 1 << 20
	}
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}
