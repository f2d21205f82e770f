package modcap

import (
	"fmt"
	"strings"

	"captune/capset"
)

// The directives captune judges, by lower-case name, with their canonical
// spelling. Every other directive is left to proftpd -t.
var judged = map[string]string{
	"capabilitiesengine":     "CapabilitiesEngine",
	"capabilitiesset":        "CapabilitiesSet",
	"capabilitiesrootrevoke": "CapabilitiesRootRevoke",
	"rootrevoke":             "RootRevoke",
	"userowner":              "UserOwner",
	"rootlogin":              "RootLogin",
	"authorder":              "AuthOrder",
}

// ParseBool reads a proftpd boolean the way pr_str_is_boolean does: on,
// off, yes, no, true, false, 1 or 0 in any case. ok is false otherwise.
func ParseBool(s string) (value, ok bool) {
	switch strings.ToLower(s) {
	case "on", "yes", "true", "1":
		return true, true
	case "off", "no", "false", "0":
		return false, true
	}
	return false, false
}

// check validates a judged directive as its proftpd handler does, in the
// same order (argument count, context, values), with proftpd's texts.
func (r *reader) check(n *Node) error {
	eff := r.top().eff
	inServer := eff == ctxRoot || eff == ctxVirtual || eff == ctxGlobal
	missing := func() error { return &Error{Pos: n.Pos, Text: n.Name + ": missing parameters"} }
	switch n.Name {
	case "CapabilitiesSet":
		if len(n.Args) < 1 {
			return &Error{Pos: n.Pos, Text: "CapabilitiesSet: need at least one parameter"}
		}
		if !inServer {
			return r.notAllowed(n.Name, n.Pos)
		}
		if _, err := ParseTokens(n.Args); err != nil {
			e := err.(*TokenError)
			return &Error{Pos: n.Pos, Text: e.Error(), Hint: e.Hint}
		}
	case "CapabilitiesEngine", "CapabilitiesRootRevoke":
		if len(n.Args) < 1 {
			return missing()
		}
		if !inServer {
			return r.notAllowed(n.Name, n.Pos)
		}
		if _, ok := ParseBool(n.Args[0]); !ok {
			word := "expecting"
			if n.Name == "CapabilitiesRootRevoke" {
				word = "expected"
			}
			return &Error{Pos: n.Pos, Text: fmt.Sprintf("%s: %s Boolean parameter", n.Name, word)}
		}
	case "RootRevoke":
		if len(n.Args) < 1 {
			return missing()
		}
		if !inServer && eff != ctxAnon {
			return r.notAllowed(n.Name, n.Pos)
		}
		if _, ok := rootRevokeValue(n.Args[0]); !ok {
			return &Error{Pos: n.Pos, Text: "RootRevoke: expected Boolean parameter"}
		}
	case "RootLogin":
		if len(n.Args) < 1 {
			return missing()
		}
		if !inServer && eff != ctxAnon {
			return r.notAllowed(n.Name, n.Pos)
		}
		if _, ok := ParseBool(n.Args[0]); !ok {
			return &Error{Pos: n.Pos, Text: "RootLogin: expected Boolean parameter"}
		}
	case "UserOwner":
		if len(n.Args) < 1 {
			return missing()
		}
		if eff != ctxDir && eff != ctxAnon {
			return r.notAllowed(n.Name, n.Pos)
		}
	case "AuthOrder":
		if len(n.Args) < 1 {
			return missing()
		}
		if !inServer {
			return r.notAllowed(n.Name, n.Pos)
		}
		// set_authorder looks at the server's top level only, wherever
		// the line is.
		if srv := r.serverNode(); srv != nil {
			for _, c := range srv.Children {
				if !c.Section && c.Name == "AuthOrder" {
					return &Error{Pos: n.Pos, Text: "AuthOrder: AuthOrder has already been configured",
						Hint: fmt.Sprintf("the first AuthOrder is at %s; a server takes one", c.Pos)}
				}
			}
		}
	}
	return nil
}

// rootRevokeValue reads RootRevoke's argument: a boolean, or
// UseNonCompliantActiveTransfer(s), which proftpd stores as 2 and treats as on.
func rootRevokeValue(s string) (bool, bool) {
	if v, ok := ParseBool(s); ok {
		return v, true
	}
	if strings.EqualFold(s, "UseNonCompliantActiveTransfer") || strings.EqualFold(s, "UseNonCompliantActiveTransfers") {
		return true, true
	}
	return false, false
}

// Flags are mod_cap's session switches, the state one CapabilitiesSet
// line produces.
type Flags struct {
	Chown, DacOverride, DacReadSearch, Fowner, Fsetid, Setuid bool
}

// DefaultFlags is where every CapabilitiesSet line starts: CHOWN and SETUID.
var DefaultFlags = Flags{Chown: true, Setuid: true}

// Token is one CapabilitiesSet argument.
type Token struct {
	// Add is true for '+', false for '-'.
	Add bool
	Cap capset.Cap
}

// String prints the token as proftpd takes it ("+CAP_FOWNER").
func (t Token) String() string {
	sign := "-"
	if t.Add {
		sign = "+"
	}
	return sign + t.Cap.Upper()
}

// Effective reports whether the token changes anything: each capability
// has one sign that acts and one that proftpd accepts and ignores.
func (t Token) Effective() bool {
	switch t.Cap {
	case capset.Chown, capset.Setuid:
		return !t.Add
	}
	return t.Add
}

// Tokenable lists the six capabilities CapabilitiesSet accepts, in
// catalogue order.
var Tokenable = []capset.Cap{capset.Chown, capset.DacOverride, capset.DacReadSearch, capset.Fowner, capset.Fsetid, capset.Setuid}

// TokenError is a CapabilitiesSet argument proftpd rejects, with its text.
type TokenError struct {
	Token string
	Text  string
	Hint  string
}

// Error returns proftpd's message.
func (e *TokenError) Error() string { return e.Text }

// ParseTokens reads CapabilitiesSet arguments exactly as mod_cap does: the
// first bad argument aborts with proftpd's message.
func ParseTokens(args []string) ([]Token, error) {
	if len(args) == 0 {
		return nil, &TokenError{Text: "CapabilitiesSet: need at least one parameter"}
	}
	out := make([]Token, 0, len(args))
	for _, a := range args {
		if a == "" || (a[0] != '+' && a[0] != '-') {
			te := &TokenError{Token: a, Text: fmt.Sprintf("CapabilitiesSet: : bad option: '%s'", a), Hint: "each argument starts with + or -"}
			if c, err := capset.ParseCap(a); err == nil && containsCap(Tokenable, c) {
				te.Hint = fmt.Sprintf("write +%s or -%s", c.Upper(), c.Upper())
			}
			return nil, te
		}
		name := a[1:]
		var c capset.Cap
		found := false
		for _, t := range Tokenable {
			if strings.EqualFold(name, t.Upper()) {
				c, found = t, true
				break
			}
		}
		if !found {
			te := &TokenError{Token: a, Text: fmt.Sprintf("CapabilitiesSet: unknown capability: '%s'", name)}
			te.Hint = tokenHint(name)
			return nil, te
		}
		out = append(out, Token{Add: a[0] == '+', Cap: c})
	}
	return out, nil
}

func tokenHint(name string) string {
	c, err := capset.ParseCap(name)
	if err == nil && containsCap(Tokenable, c) && !strings.HasPrefix(strings.ToUpper(name), "CAP_") {
		return fmt.Sprintf("write %s: the CAP_ prefix is required", c.Upper())
	}
	if strings.Contains(name, ",") {
		return "separate tokens with spaces, not commas"
	}
	if err == nil {
		switch c {
		case capset.Setgid:
			return "CAP_SETGID follows CAP_SETUID: use -CAP_SETUID to drop both"
		case capset.NetBindService:
			return "CAP_NET_BIND_SERVICE is always kept and cannot be changed"
		case capset.AuditWrite:
			return "CAP_AUDIT_WRITE cannot be requested; it is kept only while no CapabilitiesSet line applies"
		}
		return fmt.Sprintf("mod_cap can only change CAP_CHOWN, CAP_DAC_OVERRIDE, CAP_DAC_READ_SEARCH, CAP_FOWNER, CAP_FSETID and CAP_SETUID; %s is always dropped", c.Upper())
	}
	return "mod_cap accepts CAP_CHOWN, CAP_DAC_OVERRIDE, CAP_DAC_READ_SEARCH, CAP_FOWNER, CAP_FSETID and CAP_SETUID"
}

func containsCap(list []capset.Cap, c capset.Cap) bool {
	for _, x := range list {
		if x == c {
			return true
		}
	}
	return false
}

// Apply returns the flags a CapabilitiesSet line with these tokens
// produces. Every line starts from DefaultFlags, so order never matters.
func Apply(tokens []Token) Flags {
	f := DefaultFlags
	for _, t := range tokens {
		switch t.Cap {
		case capset.Chown:
			if !t.Add {
				f.Chown = false
			}
		case capset.DacOverride:
			if t.Add {
				f.DacOverride = true
			}
		case capset.DacReadSearch:
			if t.Add {
				f.DacReadSearch = true
			}
		case capset.Fowner:
			if t.Add {
				f.Fowner = true
			}
		case capset.Fsetid:
			if t.Add {
				f.Fsetid = true
			}
		case capset.Setuid:
			if !t.Add {
				f.Setuid = false
			}
		}
	}
	return f
}

// Kept returns the set mod_cap keeps for these flags: NET_BIND_SERVICE
// always, SETGID with SETUID, and AUDIT_WRITE when audit is set (only the
// defaults with mod_auth_pam present, never after a CapabilitiesSet line).
func (f Flags) Kept(audit bool) capset.Set {
	s := capset.Of(capset.NetBindService)
	if f.Chown {
		s = s.With(capset.Chown)
	}
	if f.DacOverride {
		s = s.With(capset.DacOverride)
	}
	if f.DacReadSearch {
		s = s.With(capset.DacReadSearch)
	}
	if f.Fowner {
		s = s.With(capset.Fowner)
	}
	if f.Fsetid {
		s = s.With(capset.Fsetid)
	}
	if f.Setuid {
		s = s.With(capset.Setuid).With(capset.Setgid)
	}
	if audit {
		s = s.With(capset.AuditWrite)
	}
	return s
}

// DefaultKept is the set mod_cap keeps with no CapabilitiesSet line:
// 0x200004c1 with mod_auth_pam present (as on Debian), 0x4c1 without.
func DefaultKept(pam bool) capset.Set { return DefaultFlags.Kept(pam) }
