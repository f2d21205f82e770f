package capset

// catalog holds the entries of the 41 named Linux capabilities, in number order.
var catalog = [NamedCount]Info{
	{
		Cap:   0,
		Name:  "cap_chown",
		Short: "Change the owner and group of any file",
		Long: "Lets a process give any file a new owner or group, even files it does not own " +
			"and groups it is not a member of. It is checked by the chown family of calls. " +
			"Because ownership decides who may rewrite a file, a holder can simply take over " +
			"system files such as /etc/shadow or /etc/sudoers.",
		Syscalls: []string{"chown(2)", "fchown(2)", "lchown(2)", "fchownat(2)"},
		Risk:     RiskRootEquivalent,
		RiskWhy:  "A holder can make itself owner of /etc/shadow or /etc/passwd, rewrite root's entry and log in as root.",
	},
	{
		Cap:   1,
		Name:  "cap_dac_override",
		Short: "Ignore file read, write and execute permissions",
		Long: "Lets a process skip the ordinary owner/group/other permission checks (and ACLs) " +
			"when it opens, writes or runs files and when it searches directories. " +
			"Only a few checks survive, such as executing a file with no execute bit at all. " +
			"In practice the holder can read and change almost every file on the system.",
		Syscalls: []string{"open(2)", "openat(2)", "execve(2)", "access(2)"},
		Risk:     RiskRootEquivalent,
		RiskWhy:  "A holder can write /etc/passwd, /etc/shadow or /etc/sudoers directly and so grant itself root.",
	},
	{
		Cap:   2,
		Name:  "cap_dac_read_search",
		Short: "Read any file and list any directory",
		Long: "Lets a process skip the permission checks for reading files and for listing and " +
			"searching directories, and it also guards open_by_handle_at(2), which opens a file " +
			"from a raw file handle. That call was the basis of the 2014 \"shocker\" escape, " +
			"where a Docker container guessed handles to read files on the host. " +
			"Anything secret on disk, from password hashes to private keys, is exposed.",
		Syscalls: []string{"open(2)", "getdents64(2)", "open_by_handle_at(2)", "linkat(2) AT_EMPTY_PATH"},
		Risk:     RiskRootEquivalent,
		RiskWhy:  "A holder can read /etc/shadow or root's SSH keys, and from a container can reach host files through open_by_handle_at(2).",
	},
	{
		Cap:   3,
		Name:  "cap_fowner",
		Short: "Act as the owner of any file",
		Long: "Lets a process do things normally reserved for a file's owner on files it does " +
			"not own: change the mode bits, set timestamps, change extended attributes and " +
			"inode flags, and delete other users' files in sticky directories such as /tmp. " +
			"Being able to chmod anything means being able to make anything writable.",
		Syscalls: []string{"chmod(2)", "utimensat(2)", "setxattr(2)", "open(2) O_NOATIME"},
		Risk:     RiskRootEquivalent,
		RiskWhy:  "A holder can chmod /etc/shadow or /etc/sudoers to be world-writable and then edit it to get root.",
	},
	{
		Cap:   4,
		Name:  "cap_fsetid",
		Short: "Keep set-user-ID and set-group-ID bits when editing files",
		Long: "Normally the kernel clears the set-user-ID and set-group-ID bits when a file is " +
			"written or its owner changes, and refuses to set the set-group-ID bit for a group " +
			"the caller is not in. This capability switches both protections off. " +
			"It is a quiet helper for planting or preserving privileged programs.",
		Syscalls: []string{"chmod(2)", "write(2)", "truncate(2)", "chown(2)"},
		Risk:     RiskHigh,
		RiskWhy:  "Combined with write access to a setuid program or a chosen group, it lets a holder create or keep privilege-granting executables.",
	},
	{
		Cap:   5,
		Name:  "cap_kill",
		Short: "Send signals to any process",
		Long: "Lets a process send any signal to processes owned by other users, including root, " +
			"which normally requires matching user IDs. It also covers a few console ioctls. " +
			"A holder can stop or kill daemons, security agents and logging, or send signals " +
			"that a program handles in unsafe ways.",
		Syscalls: []string{"kill(2)", "tgkill(2)", "rt_sigqueueinfo(2)", "pidfd_send_signal(2)"},
		Risk:     RiskHigh,
		RiskWhy:  "It allows killing or pausing any process on the system, including audit and security daemons, though not running code as root.",
	},
	{
		Cap:   6,
		Name:  "cap_setgid",
		Short: "Switch to any group ID and supplementary groups",
		Long: "Lets a process set its real, effective and saved group IDs and its supplementary " +
			"group list to any values, including group 0, and forge group IDs in credentials " +
			"passed over UNIX sockets. It is used by login programs when they start a session. " +
			"Groups such as shadow, disk or docker quietly carry root-level power.",
		Syscalls: []string{"setgid(2)", "setresgid(2)", "setgroups(2)", "SCM_CREDENTIALS"},
		Risk:     RiskRootEquivalent,
		RiskWhy:  "A holder can join the disk or docker group and use raw disk access or the Docker socket to become root.",
	},
	{
		Cap:   7,
		Name:  "cap_setuid",
		Short: "Switch to any user ID, including root",
		Long: "Lets a process set its real, effective, saved and filesystem user IDs to anything, " +
			"including 0, and forge user IDs in credentials passed over UNIX sockets. " +
			"Login programs, su-like tools and daemons that drop privileges rely on it. " +
			"A process that holds it is only one setuid(0) call away from being root.",
		Syscalls: []string{"setuid(2)", "setresuid(2)", "setfsuid(2)", "SCM_CREDENTIALS"},
		Risk:     RiskRootEquivalent,
		RiskWhy:  "A holder can call setuid(0) and then execute a shell as uid 0.",
	},
	{
		Cap:   8,
		Name:  "cap_setpcap",
		Short: "Change capability sets, bounding set and securebits",
		Long: "Lets a process copy any capability from its bounding set into its inheritable set, " +
			"drop capabilities from the bounding set, and change or lock the securebits flags " +
			"that control how root and capabilities behave. On very old kernels without file " +
			"capabilities it could even hand capabilities to other processes. " +
			"It is mostly used by tools that build restricted environments.",
		Syscalls: []string{"capset(2)", "prctl(2) PR_CAPBSET_DROP", "prctl(2) PR_SET_SECUREBITS"},
		Risk:     RiskRootEquivalent,
		RiskWhy:  "A holder can raise any bounding-set capability into its inheritable set and gain it by running a program whose file-inheritable bits include it (and on pre-file-capability kernels could grant itself everything).",
	},
	{
		Cap:   9,
		Name:  "cap_linux_immutable",
		Short: "Set or clear the immutable and append-only flags",
		Long: "Lets a process set and remove the immutable and append-only inode flags, the ones " +
			"shown by lsattr and changed with chattr +i or +a. These flags block even root from " +
			"changing a file, and append-only logs rely on them. " +
			"A holder can unlock protected files or hide tampering with logs.",
		Syscalls: []string{"ioctl(2) FS_IOC_SETFLAGS", "ioctl(2) FS_IOC_FSSETXATTR"},
		Risk:     RiskHigh,
		RiskWhy:  "It removes a safety net that keeps protected files and append-only logs from being altered.",
	},
	{
		Cap:   10,
		Name:  "cap_net_bind_service",
		Short: "Bind to privileged network ports",
		Long: "Lets a process bind sockets to port numbers below " +
			"net.ipv4.ip_unprivileged_port_start, which is 1024 unless changed. " +
			"It is the usual way to let a web or mail server listen on its standard port " +
			"without running as root. The main risk is impersonating a trusted service on a free port.",
		Syscalls: []string{"bind(2)"},
		Risk:     RiskLow,
		RiskWhy:  "It only lets a holder listen on low ports, which matters only if it could take a port a real service should own.",
	},
	{
		Cap:   11,
		Name:  "cap_net_broadcast",
		Short: "Send broadcasts and listen to multicast (largely unused)",
		Long: "Documented as allowing socket broadcasts and multicast listening, but current " +
			"kernels almost never check it, so granting or dropping it changes very little. " +
			"It exists mainly for historical completeness. " +
			"There is no known way to use it for privilege escalation.",
		Syscalls: []string{"socket broadcast and multicast (rarely checked)"},
		Risk:     RiskLow,
		RiskWhy:  "The kernel barely enforces it, so holding it grants almost nothing.",
	},
	{
		Cap:   12,
		Name:  "cap_net_admin",
		Short: "Configure network interfaces, routes and firewall",
		Long: "Lets a process administer networking: bring interfaces up and down, change " +
			"addresses and routes, edit firewall (netfilter/nftables) rules, set traffic " +
			"control, enable promiscuous mode and set socket marks and priorities. " +
			"A holder can redirect or intercept traffic, disable the firewall and reach a " +
			"large kernel attack surface that has produced many exploits.",
		Syscalls: []string{"ioctl(2) SIOCSIF*", "rtnetlink(7)", "nftables netlink", "setsockopt(2) SO_MARK"},
		Risk:     RiskHigh,
		RiskWhy:  "It allows hijacking or sniffing traffic and turning off firewalling, and exposes netfilter code with a history of kernel exploits.",
	},
	{
		Cap:   13,
		Name:  "cap_net_raw",
		Short: "Use raw and packet sockets",
		Long: "Lets a process open raw IP sockets and AF_PACKET sockets and bind to any address " +
			"for transparent proxying. This is what ping and packet capture tools such as " +
			"tcpdump need. A holder can sniff traffic on shared networks and forge packets, " +
			"for example to spoof ARP or DNS replies.",
		Syscalls: []string{"socket(2) SOCK_RAW", "socket(2) AF_PACKET", "setsockopt(2) IP_TRANSPARENT"},
		Risk:     RiskHigh,
		RiskWhy:  "It allows sniffing and spoofing network traffic, which can expose credentials or hijack connections.",
	},
	{
		Cap:   14,
		Name:  "cap_ipc_lock",
		Short: "Lock memory into RAM without limits",
		Long: "Lets a process pin memory so it is never swapped out, ignoring the RLIMIT_MEMLOCK " +
			"limit, and lock shared memory segments. Databases and programs that hold secrets " +
			"use it to keep data out of swap. A holder can starve the rest of the system of memory.",
		Syscalls: []string{"mlock(2)", "mlockall(2)", "mmap(2) MAP_LOCKED", "shmctl(2) SHM_LOCK"},
		Risk:     RiskModerate,
		RiskWhy:  "Unlimited locked memory can exhaust RAM and cause a denial of service, but gives no extra access.",
	},
	{
		Cap:   15,
		Name:  "cap_ipc_owner",
		Short: "Bypass permission checks on System V IPC objects",
		Long: "Lets a process ignore the permission checks on System V shared memory, message " +
			"queues and semaphores that belong to other users. " +
			"A holder can attach to other programs' shared memory, read or inject queue " +
			"messages, and change or remove these objects.",
		Syscalls: []string{"shmat(2)", "shmctl(2)", "msgrcv(2)", "msgsnd(2)", "semop(2)"},
		Risk:     RiskHigh,
		RiskWhy:  "It exposes and lets a holder tamper with data that privileged programs share through System V IPC.",
	},
	{
		Cap:   16,
		Name:  "cap_sys_module",
		Short: "Load and unload kernel modules",
		Long: "Lets a process insert modules into the running kernel and remove them, and " +
			"also lets it drop capabilities from the system-wide bounding set. " +
			"Module code runs with full kernel privileges, so nothing on the machine is out of " +
			"its reach, including every security mechanism.",
		Syscalls: []string{"init_module(2)", "finit_module(2)", "delete_module(2)"},
		Risk:     RiskRootEquivalent,
		RiskWhy:  "A holder can load its own module and run arbitrary code inside the kernel, which is more than root.",
	},
	{
		Cap:   17,
		Name:  "cap_sys_rawio",
		Short: "Access hardware, I/O ports and raw memory",
		Long: "Lets a process do raw hardware I/O: change I/O port permissions, read and write " +
			"/dev/mem and /dev/port, access CPU model-specific registers and use some low-level " +
			"disk and filesystem ioctls. " +
			"Direct access to physical memory or hardware sidesteps every kernel protection.",
		Syscalls: []string{"iopl(2)", "ioperm(2)", "/dev/mem", "/dev/cpu/*/msr", "ioctl(2) FIBMAP"},
		Risk:     RiskRootEquivalent,
		RiskWhy:  "A holder can patch kernel memory or credentials through /dev/mem or model-specific registers and so take over the system.",
	},
	{
		Cap:   18,
		Name:  "cap_sys_chroot",
		Short: "Change the root directory and enter mount namespaces",
		Long: "Lets a process call chroot(2) to make another directory its root, and is one of the " +
			"checks for joining another mount namespace with setns(2). " +
			"A chroot containing a hard link to a setuid-root program plus a fake /etc or " +
			"library directory can trick that program into running attacker code as root.",
		Syscalls: []string{"chroot(2)", "setns(2) (mount namespace)"},
		Risk:     RiskHigh,
		RiskWhy:  "With a hard-linked setuid program inside a crafted root directory it is a known route to root, though it needs extra conditions.",
	},
	{
		Cap:   19,
		Name:  "cap_sys_ptrace",
		Short: "Trace and inspect any process",
		Long: "Lets a process attach to and debug processes it does not own, read and write " +
			"their memory, and compare or duplicate their file descriptors. Debuggers, strace " +
			"and some monitoring tools need it. A holder can inject code into a process running " +
			"as root and make it do anything.",
		Syscalls: []string{"ptrace(2)", "process_vm_readv(2)", "process_vm_writev(2)", "pidfd_getfd(2)", "kcmp(2)"},
		Risk:     RiskRootEquivalent,
		RiskWhy:  "A holder can attach to a root process and inject shellcode into it.",
	},
	{
		Cap:   20,
		Name:  "cap_sys_pacct",
		Short: "Turn process accounting on or off",
		Long: "Lets a process switch BSD process accounting on or off and choose the file that " +
			"records every process that exits. " +
			"A holder can disable this accounting trail, or point it at a file and fill the disk.",
		Syscalls: []string{"acct(2)"},
		Risk:     RiskModerate,
		RiskWhy:  "It can blind an accounting trail or waste disk space, but gives no direct access to other data.",
	},
	{
		Cap:   21,
		Name:  "cap_sys_admin",
		Short: "Perform a wide range of system administration tasks",
		Long: "An overloaded catch-all that guards hundreds of kernel checks: mounting and " +
			"unmounting filesystems, pivot_root, swap, setting the hostname, namespaces, " +
			"quotas, keyrings, many device ioctls and trusted extended attributes. " +
			"Because it covers so much, it is often called \"the new root\" and almost any use of " +
			"it can be turned into full control.",
		Syscalls: []string{"mount(2)", "umount2(2)", "pivot_root(2)", "swapon(2)", "sethostname(2)", "setns(2)", "quotactl(2)", "keyctl(2)"},
		Risk:     RiskRootEquivalent,
		RiskWhy:  "A holder can mount filesystems over system paths or use tricks like the cgroup release_agent to run code as root.",
	},
	{
		Cap:   22,
		Name:  "cap_sys_boot",
		Short: "Reboot the system and load a new kernel",
		Long: "Lets a process reboot, halt or power off the machine and load a new kernel for " +
			"kexec. A holder can cause an outage at will, and loading a different kernel with " +
			"kexec replaces the whole running system.",
		Syscalls: []string{"reboot(2)", "kexec_load(2)", "kexec_file_load(2)"},
		Risk:     RiskHigh,
		RiskWhy:  "It allows instant denial of service and, through kexec, booting a kernel of the holder's choosing.",
	},
	{
		Cap:   23,
		Name:  "cap_sys_nice",
		Short: "Raise priorities and set real-time scheduling",
		Long: "Lets a process raise its own and others' nice values, choose real-time scheduling " +
			"policies, set CPU affinity and I/O priority for any process, and move other " +
			"processes' memory between NUMA nodes. Audio and latency-sensitive programs use it. " +
			"A runaway real-time task can freeze the rest of the machine.",
		Syscalls: []string{"setpriority(2)", "sched_setscheduler(2)", "sched_setaffinity(2)", "ioprio_set(2)", "migrate_pages(2)"},
		Risk:     RiskModerate,
		RiskWhy:  "Abuse leads to denial of service by hogging CPU or I/O, not to more access.",
	},
	{
		Cap:   24,
		Name:  "cap_sys_resource",
		Short: "Override resource limits and quotas",
		Long: "Lets a process raise its hard resource limits, exceed disk quotas, use the blocks " +
			"a filesystem reserves for root, and go past limits on pipe sizes, message queues " +
			"and consoles. A holder can exhaust memory, disk or other shared resources that the " +
			"limits were meant to protect.",
		Syscalls: []string{"setrlimit(2)", "prlimit(2)", "quotactl(2)", "fcntl(2) F_SETPIPE_SZ"},
		Risk:     RiskModerate,
		RiskWhy:  "It removes protections against resource exhaustion, allowing denial of service but not data access.",
	},
	{
		Cap:   25,
		Name:  "cap_sys_time",
		Short: "Set the system clock and hardware clock",
		Long: "Lets a process set the system time, adjust the kernel clock and write the real-time " +
			"clock chip. Time servers such as chronyd and ntpd need it. " +
			"Moving the clock can break TLS certificate checks, Kerberos, one-time passwords, " +
			"scheduled jobs and the order of log entries.",
		Syscalls: []string{"settimeofday(2)", "clock_settime(2)", "adjtimex(2)", "ioctl(2) RTC_SET_TIME"},
		Risk:     RiskHigh,
		RiskWhy:  "A wrong clock undermines certificate expiry, authentication tickets and log forensics system-wide.",
	},
	{
		Cap:   26,
		Name:  "cap_sys_tty_config",
		Short: "Configure terminals and hang up consoles",
		Long: "Lets a process use vhangup(2) to hang up the controlling terminal and use " +
			"privileged ioctls on virtual consoles, such as changing keyboard and display modes. " +
			"A holder can disrupt other users' console sessions.",
		Syscalls: []string{"vhangup(2)", "ioctl(2) on virtual consoles"},
		Risk:     RiskModerate,
		RiskWhy:  "It can disrupt or interfere with console sessions but does not open files or processes to the holder.",
	},
	{
		Cap:   27,
		Name:  "cap_mknod",
		Short: "Create device special files",
		Long: "Lets a process create block and character device nodes with mknod(2). " +
			"Whether a node can then be opened still depends on device cgroup rules and " +
			"permissions, but a node for a raw disk or memory device can expose the whole " +
			"system if it can be used. Container runtimes often grant it by default.",
		Syscalls: []string{"mknod(2)", "mknodat(2)"},
		Risk:     RiskHigh,
		RiskWhy:  "Creating nodes for disks or memory is dangerous, but using them usually needs other rights, so alone it is not root.",
	},
	{
		Cap:   28,
		Name:  "cap_lease",
		Short: "Take file leases on any file",
		Long: "Lets a process take a lease on a file it does not own; a lease notifies the holder " +
			"when another process opens or truncates the file and briefly delays that access. " +
			"File servers like Samba use leases. Misuse can only slow other programs down.",
		Syscalls: []string{"fcntl(2) F_SETLEASE"},
		Risk:     RiskLow,
		RiskWhy:  "At worst it briefly delays other processes' access to files and reveals when they are opened.",
	},
	{
		Cap:   29,
		Name:  "cap_audit_write",
		Short: "Write records to the kernel audit log",
		Long: "Lets a process send user-space messages into the kernel audit log over the audit " +
			"netlink socket. Login programs such as login and sshd, and PAM's own audit support, " +
			"use it to record logins and authentication results. " +
			"A holder can add misleading entries to the log.",
		Syscalls: []string{"netlink audit AUDIT_USER_* messages", "audit_log_user_message(3)"},
		Risk:     RiskLow,
		RiskWhy:  "It can only add records to the audit log, which may mislead investigators but grants no access.",
	},
	{
		Cap:   30,
		Name:  "cap_audit_control",
		Short: "Configure kernel auditing and set login UIDs",
		Long: "Lets a process enable and disable kernel auditing, change audit rules and status, " +
			"and set a process's login UID through /proc/self/loginuid, which is what " +
			"pam_loginuid does at login. Tools like auditctl and auditd need it. " +
			"A holder can switch off auditing or hide its activity from it.",
		Syscalls: []string{"netlink audit AUDIT_SET/AUDIT_ADD_RULE", "/proc/self/loginuid"},
		Risk:     RiskHigh,
		RiskWhy:  "It lets a holder blind the audit subsystem, removing the record of what attackers do.",
	},
	{
		Cap:   31,
		Name:  "cap_setfcap",
		Short: "Set file capabilities on any file",
		Long: "Lets a process attach capabilities to executable files by writing the " +
			"security.capability extended attribute, which is what setcap does. Since Linux 5.12 " +
			"it is also needed to map user ID 0 when setting up a user namespace. " +
			"Whoever can set file capabilities can create a program that starts with any of them.",
		Syscalls: []string{"setxattr(2) security.capability", "/proc/PID/uid_map"},
		Risk:     RiskRootEquivalent,
		RiskWhy:  "A holder can put cap_setuid on a copy of a shell or interpreter and run it to become root.",
	},
	{
		Cap:   32,
		Name:  "cap_mac_override",
		Short: "Override Mandatory Access Control checks",
		Long: "Lets a process bypass the rules of a mandatory access control module, mainly Smack, " +
			"which honours it for access checks; SELinux ignores it and AppArmor barely uses it. " +
			"Where it is honoured, the policy meant to contain even root no longer applies.",
		Syscalls: []string{"Smack access checks", "setxattr(2) security.SMACK64"},
		Risk:     RiskHigh,
		RiskWhy:  "Where the MAC module honours it, the holder escapes the policy designed to confine privileged processes.",
	},
	{
		Cap:   33,
		Name:  "cap_mac_admin",
		Short: "Change Mandatory Access Control policy and labels",
		Long: "Lets a process change mandatory access control configuration, such as Smack rules " +
			"through smackfs, and lets it set SELinux labels the loaded policy does not know. " +
			"A holder can rewrite or weaken the policy that confines other programs.",
		Syscalls: []string{"smackfs writes", "setxattr(2) security.selinux (unknown labels)"},
		Risk:     RiskHigh,
		RiskWhy:  "Changing MAC policy or labels can remove the confinement that protects the system from compromised services.",
	},
	{
		Cap:   34,
		Name:  "cap_syslog",
		Short: "Read and control the kernel log",
		Long: "Lets a process read and clear the kernel message buffer and change console log " +
			"levels, even when kernel.dmesg_restrict is set, and see kernel addresses in /proc " +
			"when kernel.kptr_restrict is 1. It was split out of cap_sys_admin in Linux 2.6.37. " +
			"Kernel addresses defeat address randomisation and help kernel exploits.",
		Syscalls: []string{"syslog(2)", "/proc/kmsg", "/dev/kmsg", "/proc/kallsyms addresses"},
		Risk:     RiskHigh,
		RiskWhy:  "It leaks kernel pointers and log contents that make kernel exploits much easier, and lets a holder wipe the kernel log.",
	},
	{
		Cap:   35,
		Name:  "cap_wake_alarm",
		Short: "Set timers that wake the system from suspend",
		Long: "Lets a process create timers on the alarm clocks, which can wake a suspended " +
			"machine when they expire. It was added in Linux 3.0 for power management. " +
			"The worst misuse is waking a machine up and draining its battery.",
		Syscalls: []string{"timer_create(2) CLOCK_*_ALARM", "timerfd_create(2) CLOCK_*_ALARM"},
		Risk:     RiskLow,
		RiskWhy:  "Misuse can only wake the machine from sleep, wasting power.",
	},
	{
		Cap:   36,
		Name:  "cap_block_suspend",
		Short: "Prevent the system from suspending",
		Long: "Lets a process hold the system awake, either with the EPOLLWAKEUP flag on an epoll " +
			"watch or through the /sys/power/wake_lock interface. It was added in Linux 3.5 for " +
			"power management. A holder can stop a laptop or phone from sleeping.",
		Syscalls: []string{"epoll_ctl(2) EPOLLWAKEUP", "/sys/power/wake_lock"},
		Risk:     RiskLow,
		RiskWhy:  "Misuse only keeps the machine awake and wastes power.",
	},
	{
		Cap:   37,
		Name:  "cap_audit_read",
		Short: "Read the audit log through multicast netlink",
		Long: "Lets a process join the audit multicast netlink group and receive a copy of kernel " +
			"audit events as they happen. It was added in Linux 3.16 so that tools like " +
			"journald could read audit events without full audit control. Audit records can " +
			"include command lines and other sensitive details.",
		Syscalls: []string{"bind(2) NETLINK_AUDIT multicast"},
		Risk:     RiskModerate,
		RiskWhy:  "It exposes audit records that may contain sensitive activity of other users, but allows no changes.",
	},
	{
		Cap:   38,
		Name:  "cap_perfmon",
		Short: "Use performance monitoring and tracing",
		Long: "Lets a process open performance counters and tracing events system-wide without " +
			"cap_sys_admin, and together with cap_bpf attach BPF tracing programs. It was split " +
			"out of cap_sys_admin in Linux 5.8. Tracing other processes and the kernel can leak " +
			"secrets and kernel addresses.",
		Syscalls: []string{"perf_event_open(2)", "bpf(2) tracing programs"},
		Risk:     RiskHigh,
		RiskWhy:  "System-wide tracing can observe other processes' data and kernel memory layout, and widens the kernel attack surface.",
	},
	{
		Cap:   39,
		Name:  "cap_bpf",
		Short: "Load BPF programs and create BPF maps",
		Long: "Lets a process use privileged parts of the bpf(2) system call: loading most BPF " +
			"program types, creating maps, and relaxed verifier rules such as pointer handling. " +
			"It was split out of cap_sys_admin in Linux 5.8, and attaching tracing or networking " +
			"programs also needs cap_perfmon or cap_net_admin. " +
			"The BPF verifier is complex and has repeatedly been exploited for kernel control.",
		Syscalls: []string{"bpf(2) BPF_PROG_LOAD", "bpf(2) BPF_MAP_CREATE"},
		Risk:     RiskRootEquivalent,
		RiskWhy:  "A holder reaches the full BPF verifier, whose bugs have repeatedly given public exploits kernel read and write, and with cap_perfmon can tamper with other processes' memory.",
	},
	{
		Cap:   40,
		Name:  "cap_checkpoint_restore",
		Short: "Checkpoint and restore processes",
		Long: "Lets a process do what checkpoint/restore tools like CRIU need: choose the PID of " +
			"a new process through ns_last_pid or clone3(2), read /proc/PID/map_files, and " +
			"change a process's recorded executable. It was split out of cap_sys_admin in " +
			"Linux 5.9. A holder can recreate processes with chosen identities and inspect " +
			"other processes' memory mappings.",
		Syscalls: []string{"clone3(2) set_tid", "/proc/sys/kernel/ns_last_pid", "/proc/PID/map_files", "prctl(2) PR_SET_MM"},
		Risk:     RiskHigh,
		RiskWhy:  "Choosing PIDs and rewriting process metadata can fool tools that trust PIDs, and exposes other processes' mappings.",
	},
}
