package cli

import (
	"fmt"
	"regexp"

	"captune/capset"
	"captune/capset/modcap"
)

var emitFlags = []flagSpec{
	{name: "format", value: true, arg: "FORMAT", help: "modcap (default), systemd, docker or capsh"},
	{name: "from-set", value: true, arg: "SET", help: "the exact kept set: names, hex or libcap text"},
	{name: "no-pam", help: "mod_auth_pam is not loaded (no CAP_AUDIT_WRITE by default)"},
	{name: "user", value: true, arg: "NAME", help: "user for the capsh line (default nobody)"},
	{name: "help", help: "show this help"},
}

func runEmit(env Env, args []string) error {
	p, err := parseArgs("emit", args, emitFlags)
	if err != nil {
		return err
	}
	if p.has("help") {
		fmt.Fprint(env.Stdout, helpText("emit", "[--format modcap|systemd|docker|capsh] [--no-pam] [--from-set SET] [+CAP_X|-CAP_X ...]",
			"Prints the minimal mod_cap block that keeps the set the tokens produce (tokens follow\nCapabilitiesSet's grammar; no tokens: the default set). With --from-set, the block\nfor exactly that kept set, or an error listing why mod_cap cannot keep it.\n\n"+capset.SetSyntax,
			emitFlags, "  captune emit -CAP_CHOWN +CAP_FOWNER\n  captune emit --from-set cap_net_bind_service,cap_chown\n  captune emit --format systemd +CAP_DAC_READ_SEARCH\n"))
		return nil
	}
	if err := checkUserName("emit: ", p.get("user")); err != nil {
		return err
	}
	pam := !p.has("no-pam")
	format := p.get("format")
	if format == "" {
		format = "modcap"
	}
	switch format {
	case "modcap", "systemd", "docker", "capsh":
	default:
		return usagef("emit: unknown --format %q (modcap, systemd, docker or capsh)", clip(format))
	}
	var kept capset.Set
	switch {
	case p.has("from-set"):
		if len(p.pos) > 0 {
			return usagef("emit: give either --from-set or tokens, not both")
		}
		kept, err = capset.Parse(p.get("from-set"))
		if err != nil {
			return usagef("emit: --from-set: %v", shortErr(err, p.get("from-set")))
		}
	case len(p.pos) > 0:
		toks, err := parseTokens("emit", p.pos)
		if err != nil {
			return err
		}
		kept = modcap.KeptByTokens(toks, pam)
	default:
		kept = modcap.DefaultKept(pam)
	}
	switch format {
	case "systemd":
		fmt.Fprint(env.Stdout, capset.Systemd(kept))
		return nil
	case "docker":
		fmt.Fprint(env.Stdout, capset.Docker(kept))
		return nil
	case "capsh":
		fmt.Fprint(env.Stdout, capset.Capsh(kept, p.get("user")))
		return nil
	}
	block, err := modcap.Emit(kept, pam)
	if err != nil {
		return usagef("emit: %v", err)
	}
	fmt.Fprint(env.Stdout, block.String())
	return nil
}

// userName is a login name as --user may give it for the capsh line: the
// line is meant to be pasted into a shell, so nothing a shell would read
// as syntax (and nothing that is not UTF-8) gets into it.
var userName = regexp.MustCompile(`^[A-Za-z0-9_][A-Za-z0-9_.-]{0,31}$`)

// checkUserName refuses a --user that is not a user name; prefix starts
// the message ("emit: ").
func checkUserName(prefix, name string) error {
	if name != "" && !userName.MatchString(name) {
		return usagef("%s--user %q is not a user name: use letters, digits, '_', '.' and '-' (up to 32)", prefix, clip(name))
	}
	return nil
}
