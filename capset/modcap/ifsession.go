package modcap

import "fmt"

// mod_ifsession's merges (contrib/mod_ifsession.c): <IfClass> at session
// init (ifsess_sess_merge_class), <IfAuthenticated>, <IfGroup> and
// <IfUser> after a successful PASS (ifsess_post_pass). A matching
// section's records are copied to the head of the server's list
// (ifsess_dup_set); before each plain directive that is neither CF_MULTI
// nor CF_MERGEDOWN_MULTI, every record of its name is removed from the
// server's whole tree, and before a <Directory P> every <Directory P>
// (R5). The sections of one kind are taken in the list's order (R6).

// merged is one section that mod_ifsession merged.
type merged struct {
	sec *rec
	// removed are the records the merge took out of the tree, each with
	// the record whose merge removed it.
	removed []removal
}

type removal struct {
	gone, by *rec
}

// dupSet is ifsess_dup_set: the records of src (a section's subset) go
// to the head of dst. The loop keeps the next record before it handles
// one, as proftpd's does, so a record that the handling removes from src
// (a second line of the same single-valued directive) ends the loop
// early when it was that next record: the records after it are never
// merged.
func dupSet(dst, src *list, via string) []removal {
	var out []removal
	for c := src.head; c != nil; {
		next := c.next
		if c.kind == recCond {
			c = next
			continue
		}
		parentIsLimit := c.parent != nil && c.parent.kind == recLimit
		if !parentIsLimit && c.kind == recParam && !c.multi && !c.mergeDownMulti {
			for _, g := range removeAll(dst, anyKind, c.name) {
				out = append(out, removal{g, c})
			}
		}
		if c.kind == recDir {
			for _, g := range removeAll(dst, recDir, c.name) {
				out = append(out, removal{g, c})
			}
		}
		dupParam(dst, c, nil, via)
		c = next
	}
	return out
}

// dupParam is ifsess_dup_param: a copy of c at the head of dst, its
// children copied the same way into the copy (so they end up reversed),
// each single-valued one first removing its name from the copy's subset.
func dupParam(dst *list, c *rec, parent *rec, via string) *rec {
	d := c.clone(parent, via)
	dst.insertHead(d)
	for s := c.sub.headOrNil(); s != nil; s = s.next {
		if s.parent != nil && s.parent.kind != recLimit && s.kind == recParam && !s.multi && !s.mergeDownMulti {
			removeAll(d.child(), s.kind, s.name)
		}
		dupParam(d.child(), s, d, via)
	}
	return d
}

// ifKind is one of mod_ifsession's section names.
type ifKind string

const (
	ifClass ifKind = "<IfClass>"
	ifAuthn ifKind = "<IfAuthenticated>"
	ifGroup ifKind = "<IfGroup>"
	ifUser  ifKind = "<IfUser>"
)

// condOf is the parsed condition of a section (its condition record).
func condOf(sec *rec) *ifCond {
	for c := sec.sub.headOrNil(); c != nil; c = c.next {
		if c.kind == recCond {
			return c.cond
		}
	}
	return nil
}

// mergeKind merges every section of one kind at the top of conf that
// matches, in list order, then removes the merged section records.
func mergeKind(conf *list, kind ifKind, w who) []merged {
	var done []merged
	for c := find(conf, anyKind, string(kind), false); c != nil; c = findNext(c, c.next, anyKind, string(kind), false) {
		cond := condOf(c)
		if cond == nil {
			continue
		}
		var ok bool
		switch kind {
		case ifClass:
			ok = cond.evalClass(w)
		case ifAuthn:
			ok = true
		case ifGroup:
			ok = cond.evalGroup(w)
		case ifUser:
			ok = cond.evalUser(w)
		}
		if !ok {
			continue
		}
		via := fmt.Sprintf("merged from %s", c.label())
		if c.via != "" {
			via += " (" + c.via + ")"
		}
		done = append(done, merged{sec: c, removed: dupSet(conf, c.sub, via)})
	}
	for _, m := range done {
		conf.remove(m.sec)
	}
	return done
}
