package launch

import (
	"strconv"

	"golang.org/x/sys/unix"
)

// execBarrier returns once the exec of process pid has committed its new
// credentials, so that a read of /proc/PID/status after it shows the
// sets the exec gave, never those from before.
//
// syscall.ForkExec (and libcap's launcher on top of it) returns when the
// child's close-on-exec descriptors are closed, inside the kernel's
// begin_new_exec; commit_creds comes a little later in the same call.
// exec holds the process's exec_update_lock from exec_mmap (before the
// descriptors close) until setup_new_exec (after commit_creds). Opening
// /proc/PID/maps takes that lock for reading (proc_maps_open ->
// proc_mem_open -> mm_access) before it checks whether the opener may
// look at the process, so the open waits for the exec to finish even
// when it then fails with EACCES. maps is readable by every uid (0444),
// so the barrier works for a supervisor of any uid; only a proc mounted
// with hidepid, which hides the process itself, defeats it (then the
// read-back cannot see the process either).
func execBarrier(pid int) {
	fd, err := unix.Open("/proc/"+strconv.Itoa(pid)+"/maps", unix.O_RDONLY|unix.O_CLOEXEC, 0)
	if err == nil {
		unix.Close(fd)
	}
}
