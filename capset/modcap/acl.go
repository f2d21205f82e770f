package modcap

import (
	"fmt"
	"net/netip"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
)

// This file holds proftpd's address rules and name expressions: the
// network ACLs of <Class> From and <Limit> Allow/Deny (src/netacl.c
// pr_netacl_create, pr_netacl_match), the classes (src/class.c
// pr_class_match_addr, pr_class_satisfied) and the user, group and class
// expressions of mod_ifsession and <Limit> (src/expr.c).

// aclKind is a netacl's type.
type aclKind int

const (
	aclAll aclKind = iota
	aclNone
	aclMask    // a.b.c.d/n
	aclIP      // an address
	aclDNS     // a name, compared with the client's DNS name
	aclIPGlob  // a pattern on the address text
	aclDNSGlob // a pattern on the DNS name (only with UseReverseDNS on)
)

// netACL is one rule of a From, Allow or Deny list.
type netACL struct {
	kind    aclKind
	negated bool
	addr    netip.Addr
	bits    int
	pattern string
	text    string
}

// aclError is pr_netacl_create's failure: the rule and the errno text
// proftpd prints after "bad ACL definition".
type aclError struct {
	rule  string
	errno syscall.Errno
}

func (e *aclError) Error() string {
	return fmt.Sprintf("bad ACL definition '%s': %s", e.rule, strerror(e.errno))
}

// parseACL is pr_netacl_create for one rule; ipv6 is UseIPv6 at that
// line of the configuration.
func parseACL(s string, ipv6 bool) (netACL, error) {
	a := netACL{text: s}
	if s == "" {
		return a, &aclError{s, syscall.EINVAL}
	}
	switch {
	case strings.EqualFold(s, "all"):
		a.kind = aclAll
		return a, nil
	case strings.EqualFold(s, "none"):
		a.kind = aclNone
		return a, nil
	}
	if i := strings.IndexByte(s, '/'); i >= 0 {
		a.kind = aclMask
		ip, mask := s[:i], s[i+1:]
		if strings.HasPrefix(ip, "!") {
			a.negated, ip = true, ip[1:]
		}
		if !allIn(ip, "0123456789ABCDEFabcdef.:") {
			return a, &aclError{s, syscall.EINVAL}
		}
		addr, ok := parseNumericAddr(ip)
		if !ok {
			return a, &aclError{s, syscall.ENOENT}
		}
		n, err := strconv.Atoi(mask)
		if err != nil || strings.HasPrefix(mask, "+") || mask == "" && false {
			return a, &aclError{s, syscall.EINVAL}
		}
		if addr.Is4() && n > 32 || n > 128 || n < 0 {
			return a, &aclError{s, syscall.EINVAL}
		}
		a.addr, a.bits = addr, n
		return a, nil
	}
	neg := func() {
		if strings.HasPrefix(s, "!") {
			a.negated, s = true, s[1:]
		}
	}
	switch {
	case ipv6 && !allIn(s, "0123456789ABCDEFabcdef.:!"):
		neg()
		switch {
		case strings.ContainsAny(s, "{[*?"):
			a.kind, a.pattern = aclIPGlob, s
			if hasNonHexAlpha(s) {
				a.kind = aclDNSGlob
			}
		case strings.HasPrefix(s, "."):
			a.kind, a.pattern = aclDNSGlob, "*"+s
		default:
			a.kind, a.pattern = aclDNS, s
		}
	case !strings.Contains(s, "."):
		neg()
		glob := strings.ContainsAny(s, "{[*?")
		if !strings.Contains(s, ":") {
			a.kind, a.pattern = aclDNS, s
			if glob {
				a.kind = aclDNSGlob
			}
			break
		}
		addr, ok := parseNumericAddr(s)
		if !ok {
			return a, &aclError{s, syscall.ENOENT}
		}
		a.addr, a.pattern = addr, s
		a.kind = aclIP
		if glob {
			a.kind = aclIPGlob
		}
	default:
		neg()
		if strings.HasSuffix(s, ".") {
			a.kind, a.pattern = aclIPGlob, s+"*"
			break
		}
		glob := strings.ContainsAny(s, "{[*?")
		dns := false
		for i := 0; i < len(s); i++ {
			if isAlpha(s[i]) && (!ipv6 || !isHexLetter(s[i])) {
				dns = true
				break
			}
		}
		switch {
		case !dns:
			// The IPv4 branch resolves the text, globs included: an IP
			// glob with UseIPv6 off cannot be resolved.
			addr, ok := parseNumericAddr(s)
			if !ok || glob {
				return a, &aclError{s, syscall.ENOENT}
			}
			a.kind, a.addr = aclIP, addr
		case glob:
			a.kind, a.pattern = aclDNSGlob, s
		case strings.HasPrefix(s, "."):
			a.kind, a.pattern = aclDNSGlob, "*"+s
		default:
			a.kind, a.pattern = aclDNS, s
		}
	}
	return a, nil
}

// allIn is strspn(s, set) == strlen(s).
func allIn(s, set string) bool {
	for i := 0; i < len(s); i++ {
		if strings.IndexByte(set, s[i]) < 0 {
			return false
		}
	}
	return true
}

func isAlpha(c byte) bool     { return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' }
func isHexLetter(c byte) bool { return c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F' }

func hasNonHexAlpha(s string) bool {
	for i := 0; i < len(s); i++ {
		if isAlpha(s[i]) && !isHexLetter(s[i]) {
			return true
		}
	}
	return false
}

// parseNumericAddr reads an address the way getaddrinfo reads a numeric
// host: dotted quads, the shorter inet_aton forms ("127.1") and IPv6.
func parseNumericAddr(s string) (netip.Addr, bool) {
	if a, err := netip.ParseAddr(s); err == nil {
		return a.Unmap(), true
	}
	parts := strings.Split(s, ".")
	if len(parts) > 4 {
		return netip.Addr{}, false
	}
	var vals []uint64
	for _, p := range parts {
		v, err := strconv.ParseUint(p, 0, 32)
		if err != nil {
			return netip.Addr{}, false
		}
		vals = append(vals, v)
	}
	var n uint64
	switch len(vals) {
	case 1:
		n = vals[0]
	case 2:
		if vals[0] > 255 || vals[1] > 0xffffff {
			return netip.Addr{}, false
		}
		n = vals[0]<<24 | vals[1]
	case 3:
		if vals[0] > 255 || vals[1] > 255 || vals[2] > 0xffff {
			return netip.Addr{}, false
		}
		n = vals[0]<<24 | vals[1]<<16 | vals[2]
	case 4:
		for _, v := range vals {
			if v > 255 {
				return netip.Addr{}, false
			}
		}
		n = vals[0]<<24 | vals[1]<<16 | vals[2]<<8 | vals[3]
	}
	if n > 0xffffffff {
		return netip.Addr{}, false
	}
	return netip.AddrFrom4([4]byte{byte(n >> 24), byte(n >> 16), byte(n >> 8), byte(n)}), true
}

// peer is the client as proftpd's ACLs see it.
type peer struct {
	addr netip.Addr
	// ipText is pr_netaddr_get_ipstr: an IPv4 client reaching an IPv6
	// wildcard socket is "::ffff:a.b.c.d" (mapped is then set).
	ipText string
	mapped bool
	// dns is pr_netaddr_get_dnsstr: the reverse DNS name with
	// UseReverseDNS on (when known), else the address text.
	dns string
	// reverseDNS is UseReverseDNS.
	reverseDNS bool
}

// match is pr_netacl_match: 1 matched, 0 not, -1 matched a negated rule
// (or none).
func (a netACL) match(p peer) int {
	hit := false
	switch a.kind {
	case aclAll:
		return 1
	case aclNone:
		return -1
	case aclMask:
		pfx, err := a.addr.Prefix(a.bits)
		hit = err == nil && a.addr.Is4() == p.addr.Unmap().Is4() && pfx.Contains(p.addr.Unmap())
	case aclIP:
		hit = a.addr == p.addr.Unmap()
	case aclDNS:
		hit = p.dns == a.pattern
	case aclIPGlob:
		hit = foldMatch(a.pattern, p.ipText) || (p.mapped && foldMatch(a.pattern, p.addr.String()))
	case aclDNSGlob:
		if !p.reverseDNS {
			return 0
		}
		hit = foldMatch(a.pattern, p.dns)
	}
	switch {
	case hit && a.negated:
		return -1
	case hit:
		return 1
	case a.negated:
		return 1
	}
	return 0
}

// foldMatch is pr_fnmatch with PR_FNM_NOESCAPE|PR_FNM_CASEFOLD.
func foldMatch(pattern, s string) bool {
	p := strings.ReplaceAll(strings.ToLower(pattern), "\\", "\\\\")
	p = strings.ReplaceAll(p, "[!", "[^")
	ok, err := filepath.Match(p, strings.ToLower(s))
	return err == nil && ok
}

// class is one <Class> definition.
type class struct {
	name     string
	node     *Node
	acls     []netACL
	all      bool // Satisfy all
	fromNode *Node
}

// satisfied is pr_class_satisfied.
func (c *class) satisfied(p peer) bool {
	for _, a := range c.acls {
		res := a.match(p)
		if !c.all && res == 1 {
			return true
		}
		if c.all && res <= 0 {
			return false
		}
	}
	return c.all
}

// matchClass is pr_class_match_addr: the first class in file order the
// client satisfies.
func matchClass(classes []*class, p peer) *class {
	for _, c := range classes {
		if c.satisfied(p) {
			return c
		}
	}
	return nil
}

// parseFrom is mod_core's add_from for one From line: "all" or "none" as
// the first word is the one rule; later in a list they end the list.
func parseFrom(args []string, ipv6 bool) ([]netACL, error) {
	if len(args) > 0 && (strings.EqualFold(args[0], "all") || strings.EqualFold(args[0], "none")) {
		a, err := parseACL(args[0], ipv6)
		return []netACL{a}, err
	}
	var out []netACL
	for _, w := range args {
		for _, e := range strings.Split(w, ",") {
			if e == "" {
				continue
			}
			if strings.EqualFold(e, "all") || strings.EqualFold(e, "none") {
				return out, nil
			}
			a, err := parseACL(e, ipv6)
			if err != nil {
				return out, err
			}
			out = append(out, a)
		}
	}
	return out, nil
}

// allowDenyError is set_allowdeny's refusal of a rule list.
type allowDenyError struct{ text string }

func (e *allowDenyError) Error() string { return e.text }

// parseAllowDeny is mod_core's set_allowdeny for an Allow or Deny line in
// a <Limit>: an optional "from", then "all"/"none" alone, or rules; a
// later "all"/"none" empties the list, which is a syntax error.
func parseAllowDeny(name string, args []string, ipv6 bool) ([]netACL, error) {
	for len(args) > 0 && strings.EqualFold(args[0], "from") {
		args = args[1:]
	}
	if len(args) > 0 {
		if strings.EqualFold(args[0], "!all") || strings.EqualFold(args[0], "!none") {
			return nil, &allowDenyError{"the ! negation operator cannot be used with ALL/NONE"}
		}
		if strings.EqualFold(args[0], "all") || strings.EqualFold(args[0], "none") {
			a, _ := parseACL(args[0], ipv6)
			return []netACL{a}, nil
		}
	}
	var out []netACL
rules:
	for _, w := range args {
		for _, e := range strings.Split(w, ",") {
			if e == "" {
				continue
			}
			if strings.EqualFold(e, "all") || strings.EqualFold(e, "none") {
				out = nil
				break rules
			}
			a, err := parseACL(e, ipv6)
			if err != nil {
				return nil, err
			}
			out = append(out, a)
		}
	}
	if len(out) == 0 {
		return nil, &allowDenyError{fmt.Sprintf("syntax: %s [from] [all|none]|host|network[,...]", name)}
	}
	return out, nil
}

// evalKind is a expression's PR_EXPR_EVAL_* type.
type evalKind int

const (
	evalOr evalKind = iota
	evalAnd
	evalRegex
)

// ifCond is a parsed name expression: mod_ifsession's section condition
// (start_ifctxt) or a <Limit>'s AllowUser/DenyGroup/... list
// (set_allowdenyusergroupclass).
type ifCond struct {
	eval  evalKind
	names []string
	re    *regexp.Regexp
	text  string
}

// splitNames is pr_expr_create: the words, split at commas, empty
// entries dropped.
func splitNames(words []string) []string {
	var out []string
	for _, w := range words {
		for _, e := range strings.Split(w, ",") {
			if e != "" {
				out = append(out, e)
			}
		}
	}
	return out
}

// parseIfCond reads a mod_ifsession section's arguments: OR by default
// (AND for <IfGroup>); with more than one word an exact "AND", "OR" or
// "regex" first word changes that.
func parseIfCond(kind string, args []string) *ifCond {
	c := &ifCond{eval: evalOr, text: strings.Join(args, " ")}
	if kind == "<IfGroup>" {
		c.eval = evalAnd
	}
	words := args
	if len(args) > 1 {
		switch args[0] {
		case "AND":
			c.eval, words = evalAnd, args[1:]
		case "OR":
			c.eval, words = evalOr, args[1:]
		case "regex":
			c.eval = evalRegex
			if len(args) == 2 {
				c.re, _ = regexp.CompilePOSIX(args[1])
			}
			return c
		}
	}
	c.names = splitNames(words)
	return c
}

// parseLimitCond is set_allowdenyusergroupclass: OR for users and
// classes, AND for groups; "AND", "OR" and "regex" first words in any
// case. Its AND branch keeps the word "AND" as the first name and drops
// the last one (proftpd 1.3.8 passes the wrong argument list).
func parseLimitCond(name string, args []string) *ifCond {
	c := &ifCond{eval: evalOr, text: strings.Join(args, " ")}
	if name == "AllowGroup" || name == "DenyGroup" {
		c.eval = evalAnd
	}
	words := args
	if len(args) > 1 {
		switch {
		case strings.EqualFold(args[0], "AND"):
			c.eval, words = evalAnd, args[:len(args)-1]
		case strings.EqualFold(args[0], "OR"):
			c.eval, words = evalOr, args[1:]
		case strings.EqualFold(args[0], "regex"):
			c.eval = evalRegex
			if len(args) == 2 {
				c.re, _ = regexp.CompilePOSIX(args[1])
			}
			return c
		}
	}
	c.names = splitNames(words)
	return c
}

// who is what the expressions compare: session.user, session.group,
// session.groups and the session's class.
type who struct {
	user      string
	userKnown bool
	group     string
	groups    []string
	// groupsKnown is false before authentication (session.groups NULL).
	groupsKnown bool
	class       string
	hasClass    bool
}

// evalUser is pr_expr_eval_user_or/and (or the regex on session.user).
func (c *ifCond) evalUser(w who) bool {
	if c.eval == evalRegex {
		return c.re != nil && w.userKnown && c.re.MatchString(w.user)
	}
	return c.eval1(func(n string) bool { return w.userKnown && w.user == n })
}

// evalGroup is pr_expr_eval_group_or/and: each name is compared with the
// primary group, else the supplementary ones; a regex tries the primary
// group, then the supplementary ones from the last.
func (c *ifCond) evalGroup(w who) bool {
	if c.eval == evalRegex {
		if c.re == nil {
			return false
		}
		if w.group != "" && c.re.MatchString(w.group) {
			return true
		}
		for i := len(w.groups) - 1; i >= 0; i-- {
			if c.re.MatchString(w.groups[i]) {
				return true
			}
		}
		return false
	}
	return c.eval1(func(n string) bool {
		if w.group != "" && w.group == n {
			return true
		}
		for _, g := range w.groups {
			if g == n {
				return true
			}
		}
		return false
	})
}

func (c *ifCond) eval1(is func(string) bool) bool {
	if len(c.names) == 0 {
		return false
	}
	for _, n := range c.names {
		found := strings.HasPrefix(n, "!")
		if is(strings.TrimPrefix(n, "!")) {
			found = !found
		}
		if c.eval == evalAnd && !found {
			return false
		}
		if c.eval == evalOr && found {
			return true
		}
	}
	return c.eval == evalAnd
}

// evalClass is pr_expr_eval_class_or/and. Without a class the OR form
// answers from the first name alone (true when it is negated), and the
// AND form fails at the first name that is not negated.
func (c *ifCond) evalClass(w who) bool {
	if c.eval == evalRegex {
		return c.re != nil && w.hasClass && c.re.MatchString(w.class)
	}
	if len(c.names) == 0 {
		return false
	}
	for _, n := range c.names {
		found := strings.HasPrefix(n, "!")
		name := strings.TrimPrefix(n, "!")
		if c.eval == evalOr {
			if !w.hasClass {
				return found
			}
			if w.class == name {
				found = !found
			}
			if found {
				return true
			}
			continue
		}
		if !w.hasClass && !found {
			return false
		}
		if w.hasClass && w.class == name {
			found = !found
		}
		if !found {
			return false
		}
	}
	return c.eval == evalAnd
}
