// Package launch is the only part of captune that changes the system: it
// starts a test daemon with a chosen capability state through libcap's
// launcher, reads the daemon's /proc back, and runs probes that show what
// the daemon can and cannot do. Everything it does is first described by
// a Plan, which renders as a preview before anything happens.
//
// Two hidden modes of the captune binary live here: the probe daemon
// (TestdMain) and the raw-mode supervisor (SuperviseMain). Both exit when
// captune's end of a pipe closes, so neither outlives captune, even when
// captune is killed with SIGKILL; only a daemon started with Keep detaches
// and stops itself at its deadline.
package launch
