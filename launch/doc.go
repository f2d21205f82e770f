// Package launch is the only part of captune that changes the system: it
// starts a test daemon with a chosen capability state through libcap's
// launcher, reads the daemon's /proc back, and runs probes that show what
// the daemon can and cannot do. Everything it does is first described by
// a Plan, which renders as a preview before anything happens, and is
// checked (Plan.Check) against the state of the process that carries it
// out, counting what the exec will really grant.
//
// Three hidden modes of the captune binary live here, run from the
// package's init when the command line names one: the probe daemon, the
// raw-mode supervisor and the janitor. None takes anything from the
// command line: each reads its plan from a socket on fd 3 whose peer is
// its parent, and checks that the parent runs the same executable (see
// hiddenStart); the supervisor checks the plan again against its own
// state before it launches the command.
//
// Private folders (the probe daemon's, verify's) live in one place,
// $TMPDIR/captune-EUID (Place), each with an owner record. The janitor,
// started once per captune process, kills the process groups and removes
// the folders captune told it about when captune's end of its socket
// closes, even when captune is killed with SIGKILL; a --keep daemon's
// folder goes when the daemon ends. Every janitor sweeps the leftovers of
// dead runs.
package launch
