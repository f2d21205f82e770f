package modcap

import (
	"net/netip"
	"strings"
)

// Resolver answers the name lookups a proftpd master and session make:
// the addresses of a <VirtualHost>, DefaultAddress or --connect name, and
// the DNS name of the client (UseReverseDNS). The prediction never
// resolves a name itself; the caller decides where the answers come
// from.
type Resolver interface {
	// LookupHost returns the addresses of name, first the one proftpd
	// takes; found is false when the name does not resolve.
	LookupHost(name string) (addrs []netip.Addr, found bool)
	// LookupAddr returns the DNS name of addr (reverse lookup, confirmed
	// by a forward one, as pr_netaddr_get_dnsstr does); found is false
	// when it has none.
	LookupAddr(addr netip.Addr) (name string, found bool)
}

// Hosts is a Resolver with fixed answers, like an /etc/hosts file: each
// name maps to its addresses, and an address's name is the first name
// listing it. IP literals resolve to themselves.
type Hosts map[string][]string

// LookupHost resolves IP literals and the names of the table.
func (h Hosts) LookupHost(name string) ([]netip.Addr, bool) {
	if a, ok := parseNumericAddr(name); ok {
		return []netip.Addr{a}, true
	}
	var out []netip.Addr
	for k, v := range h {
		if !strings.EqualFold(k, name) {
			continue
		}
		for _, s := range v {
			if a, err := netip.ParseAddr(s); err == nil {
				out = append(out, a.Unmap())
			}
		}
	}
	return out, len(out) > 0
}

// LookupAddr returns the first name (in sorted order) that lists addr.
func (h Hosts) LookupAddr(addr netip.Addr) (string, bool) {
	best := ""
	for k, v := range h {
		for _, s := range v {
			if a, err := netip.ParseAddr(s); err == nil && a.Unmap() == addr.Unmap() && (best == "" || k < best) {
				best = k
			}
		}
	}
	return best, best != ""
}

// literalOnly is the resolver used when the caller gives none: it knows
// IP literals and nothing else.
type literalOnly struct{}

func (literalOnly) LookupHost(name string) ([]netip.Addr, bool) {
	if a, ok := parseNumericAddr(name); ok {
		return []netip.Addr{a}, true
	}
	return nil, false
}

func (literalOnly) LookupAddr(netip.Addr) (string, bool) { return "", false }

// isIPText is pr_netaddr_is_v4 or pr_netaddr_is_v6: an address literal,
// not a name.
func isIPText(s string) bool {
	_, err := netip.ParseAddr(s)
	return err == nil
}
