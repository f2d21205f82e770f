package capset

import (
	"fmt"
	"strings"
)

// Systemd prints unit-file lines that give a service running as a non-root
// User= exactly the set s, and nothing outside it.
func Systemd(s Set) string {
	names := upperNames(s)
	if len(names) == 0 {
		return "CapabilityBoundingSet=\nAmbientCapabilities=\n"
	}
	l := strings.Join(names, " ")
	return fmt.Sprintf("CapabilityBoundingSet=%s\nAmbientCapabilities=%s\n", l, l)
}

// Docker prints docker run flags that grant exactly s.
func Docker(s Set) string {
	parts := []string{"--cap-drop=ALL"}
	for _, c := range s.Caps() {
		parts = append(parts, "--cap-add="+strings.TrimPrefix(c.Upper(), "CAP_"))
	}
	return strings.Join(parts, " ") + "\n"
}

// Capsh prints a capsh line that runs a command as user with exactly s in
// its permitted, effective, inheritable and ambient sets. capsh needs
// CAP_SETUID and CAP_SETGID to switch user; they are dropped again after
// the switch unless s holds them.
func Capsh(s Set, user string) string {
	if user == "" {
		user = "nobody"
	}
	caps := strings.Join(s.Names(), ",")
	switcher := s.With(Setuid).With(Setgid).With(Setpcap)
	first := strings.Join(switcher.Names(), ",") + "=eip"
	if s.Empty() {
		return fmt.Sprintf("capsh --keep=1 --caps=%q --user=%s --caps= -- -c 'COMMAND'\n", first, user)
	}
	return fmt.Sprintf("capsh --keep=1 --caps=%q --user=%s --caps=%q --addamb=%s -- -c 'COMMAND'\n",
		first, user, caps+"=eip", caps)
}

func upperNames(s Set) []string {
	out := []string{}
	for _, c := range s.Caps() {
		out = append(out, c.Upper())
	}
	return out
}
