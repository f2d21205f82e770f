package launch

import (
	"encoding/json"
	"fmt"
	"os"
	"time"

	"golang.org/x/sys/unix"

	"captune/capset"
)

// The hidden modes of the captune binary.
const (
	TestdArg     = "__captune-testd"
	SuperviseArg = "__captune-supervise"
)

// The file descriptors the hidden modes find: captune's control pipe
// (its closing stops them) and the report pipe.
const (
	ctlFD    = 3
	reportFD = 4
)

// testdSpec tells the probe daemon what to do.
type testdSpec struct {
	Shape     bool          `json:"shape"`
	Permitted capset.Set    `json:"permitted"`
	Effective capset.Set    `json:"effective"`
	Dir       string        `json:"dir"`
	OtherUID  uint32        `json:"other_uid"`
	OtherGID  uint32        `json:"other_gid"`
	Keep      time.Duration `json:"keep"`
}

// superviseSpec tells the raw-mode supervisor what to launch.
type superviseSpec struct {
	Path   string        `json:"path"`
	Args   []string      `json:"args"`
	UID    uint32        `json:"uid"`
	GID    uint32        `json:"gid"`
	Groups []uint32      `json:"groups"`
	Inh    capset.Set    `json:"inh"`
	Amb    capset.Set    `json:"amb"`
	Bnd    capset.Set    `json:"bnd"`
	Keep   time.Duration `json:"keep"`
}

// report is what a hidden mode writes on its report pipe once.
type report struct {
	PID    int     `json:"pid"`
	Probes []Probe `json:"probes,omitempty"`
	Error  string  `json:"error,omitempty"`
}

// Probe is the verdict on one capability's test.
type Probe struct {
	// Name says what was tried.
	Name string `json:"name"`
	// Capability is the capability the probe exercises.
	Capability string `json:"capability"`
	// Result is allowed, denied, permitted-only or not-testable.
	Result string `json:"result"`
	// Errno names the error of a denied attempt ("EPERM"), or says why a
	// probe is not testable.
	Errno string `json:"errno"`
}

func encode(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}

// hiddenStart opens the control and report pipes a hidden mode finds on
// fds 3 and 4 and decodes its spec. Started by hand (no such pipes), it
// says so and fails with exit code 2.
func hiddenStart(what string, args []string, spec any) (ctl, rep *os.File, code int) {
	for _, fd := range []int{ctlFD, reportFD} {
		if _, err := unix.FcntlInt(uintptr(fd), unix.F_GETFD, 0); err != nil || len(args) < 1 {
			fmt.Fprintf(os.Stderr, "captune: the %s is started by captune apply, not by hand\n", what)
			return nil, nil, 2
		}
	}
	ctl, rep = os.NewFile(ctlFD, "control"), os.NewFile(reportFD, "report")
	if err := json.Unmarshal([]byte(args[0]), spec); err != nil {
		fmt.Fprintf(rep, "%s\n", encode(report{Error: "bad spec: " + err.Error()}))
		return nil, nil, 2
	}
	return ctl, rep, 0
}
