package modcap

import (
	"fmt"
	"strings"
)

// This file holds proftpd's in-memory configuration as the simulation
// sees it: config_recs in xaset lists (src/sets.c, src/configdb.c). Every
// list operation behaves like proftpd's, including the ones whose side
// effects decide outcomes: a section is inserted at the head of its
// parent's list (xaset_insert), a directive appended (xaset_insert_end),
// and a removed record loses its links (xaset_remove clears next and
// prev), which mod_ifsession's merge loop then follows.

// recKind is a config_rec's config_type, as far as the simulation needs it.
type recKind int

const (
	recParam  recKind = iota // a directive (CONF_PARAM)
	recDir                   // <Directory>
	recAnon                  // <Anonymous>
	recLimit                 // <Limit>
	recGlobal                // <Global>
	recIf                    // <IfUser>, <IfGroup>, <IfClass>, <IfAuthenticated>
	recCond                  // the condition record opening a mod_ifsession section
)

// anyKind matches every kind in find (proftpd's type -1).
const anyKind recKind = -1

// rec is one config_rec.
type rec struct {
	kind recKind
	// name is the record's name: a directive's canonical name, a
	// section's "<IfUser>" (mod_ifsession), "<Global>" or "Limit", a
	// <Directory>'s or <Anonymous>'s path.
	name string
	// args are the directive's or section's words after the name.
	args []string
	// node is the line it comes from; nil for records proftpd makes up
	// (the ServerAlias of a <VirtualHost name>).
	node *Node
	// multi is CF_MULTI: mod_ifsession adds the record without removing
	// others of its name.
	multi bool
	// mergeDown is CF_MERGEDOWN: fixup_dirs copies the record into every
	// <Directory> and <Anonymous> that has none of its name.
	mergeDown bool
	// mergeDownMulti is CF_MERGEDOWN_MULTI: copied into every
	// <Directory> and <Anonymous> that has no identical record; like
	// CF_MULTI, mod_ifsession does not remove others of its name.
	mergeDownMulti bool
	// cond is the parsed condition of a mod_ifsession section (on its
	// recCond record).
	cond *ifCond
	// ipv6 is UseIPv6 where the line was read (Allow/Deny rules parse
	// by it).
	ipv6 bool
	// via says how a copy got where it is ("in <Global> at f:3", "merged
	// from <IfUser alice> at f:9"); empty for a record in its own place.
	via string

	sub        *list
	parent     *rec
	in         *list
	next, prev *rec
}

// list is an xaset: a doubly linked list of records.
type list struct{ head *rec }

// pos is where the record comes from, for people.
func (r *rec) pos() string {
	if r.node == nil || r.node.Pos.Line == 0 {
		return ""
	}
	return r.node.Pos.String()
}

// where names a directive's place: "f:15", "f:15, in <Global> at f:12",
// "f:15, merged from <IfUser alice> at f:14"; a line without a place (a
// caller's own, such as the tuner's) is "server level".
func (r *rec) where() string {
	p := r.pos()
	switch {
	case p == "" && r.via == "":
		return "server level"
	case p == "":
		return r.via
	case r.via == "":
		return p
	}
	return p + ", " + r.via
}

// label names a section for people: "<IfUser alice> at f:9".
func (r *rec) label() string {
	name := r.name
	var args []string
	switch r.kind {
	case recDir:
		name, args = "<Directory>", []string{r.name}
	case recAnon:
		name, args = "<Anonymous>", []string{r.name}
	case recLimit:
		name, args = "<Limit>", r.args
	default:
		args = r.args
	}
	s := name
	if len(args) > 0 {
		s = strings.TrimSuffix(name, ">") + " " + strings.Join(args, " ") + ">"
	}
	if p := r.pos(); p != "" {
		s += " at " + p
	}
	return s
}

func (l *list) empty() bool { return l == nil || l.head == nil }

// insertHead is xaset_insert.
func (l *list) insertHead(r *rec) {
	r.in = l
	r.prev = nil
	r.next = l.head
	if l.head != nil {
		l.head.prev = r
	}
	l.head = r
}

// insertEnd is xaset_insert_end.
func (l *list) insertEnd(r *rec) {
	r.in = l
	r.next = nil
	if l.head == nil {
		r.prev = nil
		l.head = r
		return
	}
	last := l.head
	for last.next != nil {
		last = last.next
	}
	last.next = r
	r.prev = last
}

// remove is xaset_remove: the record leaves the list and loses its
// links. It reports false when the record is not in the list.
func (l *list) remove(r *rec) bool {
	if l == nil {
		return false
	}
	found := false
	for m := l.head; m != nil; m = m.next {
		if m == r {
			found = true
			break
		}
	}
	if !found {
		return false
	}
	if r.prev != nil {
		r.prev.next = r.next
	} else {
		l.head = r.next
	}
	if r.next != nil {
		r.next.prev = r.prev
	}
	r.next, r.prev = nil, nil
	return true
}

// records returns the list's records in order.
func (l *list) records() []*rec {
	if l == nil {
		return nil
	}
	var out []*rec
	for r := l.head; r != nil; r = r.next {
		out = append(out, r)
	}
	return out
}

// child makes r's subset if it has none.
func (r *rec) child() *list {
	if r.sub == nil {
		r.sub = &list{}
	}
	return r.sub
}

// matches is find_config's test of one record.
func (r *rec) matches(kind recKind, name string) bool {
	if kind != anyKind && kind != r.kind {
		return false
	}
	return name == "" || r.name == name
}

// skipKinds are find_config2's PR_CONFIG_FIND_FL_SKIP_* flags.
type skipKinds map[recKind]bool

// finder runs find_config_next2 with its find_config_top, the list whose
// parent a recursive search does not climb out of.
type finder struct {
	top  *list
	skip skipKinds
}

// find is find_config2: the first record of the kind and name in l, or
// with recurse anywhere in l's tree, deepest levels first.
func find(l *list, kind recKind, name string, recurse bool) *rec {
	return findSkip(l, kind, name, recurse, nil)
}

func findSkip(l *list, kind recKind, name string, recurse bool, skip skipKinds) *rec {
	if l.empty() {
		return nil
	}
	f := &finder{skip: skip}
	if p := l.head.parent; p != nil {
		f.top = p.in
	}
	return f.next2(nil, l.head, kind, name, depth(recurse))
}

func depth(recurse bool) int {
	if recurse {
		return 1
	}
	return 0
}

// findNext is find_config_next: the next match after prev, starting at c.
func findNext(prev, c *rec, kind recKind, name string, recurse bool) *rec {
	f := &finder{}
	return f.next2(prev, c, kind, name, depth(recurse))
}

// next2 follows find_config_next2: with recursion it searches the
// subsets of c and its siblings (each child's own subset before the
// child), then c and its siblings, then climbs to the parent's next
// sibling.
func (f *finder) next2(prev, c *rec, kind recKind, name string, recurse int) *rec {
	top := c
	if c == nil && prev == nil {
		return nil
	}
	if prev == nil {
		prev = top
	}
	for {
		if recurse > 0 {
			for c := top; c != nil; c = c.next {
				if !c.sub.empty() {
					for sc := c.sub.head; sc != nil; sc = sc.next {
						if f.skip[sc.kind] {
							continue
						}
						if r := f.next2(nil, sc, kind, name, recurse+1); r != nil {
							return r
						}
					}
				}
				if recurse > 1 {
					break
				}
			}
		}
		for c := top; c != nil; c = c.next {
			if c.matches(kind, name) {
				return c
			}
			if recurse > 1 {
				break
			}
		}
		if recurse == 1 && prev.parent != nil && prev.parent.next != nil && prev.parent.in != f.top {
			prev = prev.parent.next
			top = prev
			continue
		}
		return nil
	}
}

// findAll lists every match of a non-recursive search in list order
// (find_config then find_config_next).
func findAll(l *list, kind recKind, name string) []*rec {
	var out []*rec
	for c := find(l, kind, name, false); c != nil; c = findNext(c, c.next, kind, name, false) {
		out = append(out, c)
	}
	return out
}

// removeAll is ifsess_remove_param: every record of the kind and name
// anywhere in l's tree leaves its list. It returns what it removed.
func removeAll(l *list, kind recKind, name string) []*rec {
	var out []*rec
	for {
		c := find(l, kind, name, true)
		if c == nil {
			return out
		}
		if !c.in.remove(c) {
			return out
		}
		out = append(out, c)
	}
}

// copyRecur is dirtree.c's copy_recur: a deep copy of c appended to l,
// its subset copied in order.
func copyRecur(l *list, c *rec, parent *rec, via string) *rec {
	n := c.clone(parent, via)
	l.insertEnd(n)
	for s := c.sub.headOrNil(); s != nil; s = s.next {
		copyRecur(n.child(), s, n, via)
	}
	return n
}

// clone copies a record without its links and subset.
func (c *rec) clone(parent *rec, via string) *rec {
	return &rec{kind: c.kind, name: c.name, args: c.args, node: c.node, multi: c.multi, mergeDown: c.mergeDown,
		mergeDownMulti: c.mergeDownMulti, cond: c.cond, ipv6: c.ipv6, via: via, parent: parent}
}

func (l *list) headOrNil() *rec {
	if l == nil {
		return nil
	}
	return l.head
}

// dump prints a list the way proftpd's config dump shows it, one record a
// line, children indented; for tests and debugging.
func dump(l *list, indent string) string {
	var b strings.Builder
	for r := l.headOrNil(); r != nil; r = r.next {
		switch r.kind {
		case recParam, recCond:
			fmt.Fprintf(&b, "%s%s %s\n", indent, r.name, strings.Join(r.args, " "))
		default:
			fmt.Fprintf(&b, "%s%s\n", indent, r.label())
			b.WriteString(dump(r.sub, indent+"  "))
		}
	}
	return b.String()
}
