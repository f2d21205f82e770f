package capset

// Risk classes how much power a capability hands to the process holding it.
type Risk uint8

// The risk classes, from least to most dangerous.
const (
	RiskLow Risk = iota + 1
	RiskModerate
	RiskHigh
	RiskRootEquivalent
)

// String names the risk class as it is shown to users.
func (r Risk) String() string {
	switch r {
	case RiskLow:
		return "low"
	case RiskModerate:
		return "moderate"
	case RiskHigh:
		return "high"
	case RiskRootEquivalent:
		return "root-equivalent"
	}
	return "unknown"
}

// Info is one capability's catalogue entry.
type Info struct {
	// Cap is the capability's number (its bit in a mask).
	Cap Cap
	// Name is the lower-case kernel name, e.g. "cap_chown".
	Name string
	// Short is a one-line summary of what the capability lets a process do.
	Short string
	// Long explains the capability in a paragraph: what it allows, the
	// system calls or interfaces it governs, and why holding it is risky.
	Long string
	// Syscalls lists the main system calls or interfaces the capability governs.
	Syscalls []string
	// Risk classes the capability.
	Risk Risk
	// RiskWhy says in one sentence why the capability has its risk class.
	RiskWhy string
}

// Lookup returns the catalogue entry of a named capability (0..40).
// The second result is false for numbers the catalogue does not name.
func Lookup(c Cap) (Info, bool) {
	if int(c) >= len(catalog) {
		return Info{}, false
	}
	return catalog[c], true
}

// Catalogue returns every named capability's entry in number order.
func Catalogue() []Info {
	out := make([]Info, len(catalog))
	copy(out, catalog[:])
	return out
}
