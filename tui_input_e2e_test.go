package main

import (
	"strings"
	"testing"
	"time"
)

// TestTUIHostileInput types and pastes, in a real terminal (tmux), the
// input sequences that panic the terminal library's decoder on Bubble
// Tea's input goroutine (a CSI with 41 parameters, a DCS with 33, an 8-bit
// CSI M): captune keeps running and answering keys, and after q the
// terminal is as it was (stty settings, alternate screen off, cursor on,
// mouse off) and the exit status is 0.
func TestTUIHostileInput(t *testing.T) {
	need(t, "tmux")
	bin := buildCaptune(t)
	r := startTUI(t, bin, "")
	csi := "\x1b[" + strings.Repeat("1;", 40) + "1_"
	dcs := "\x1bP" + strings.Repeat("0;", 33) + "q\x1b\\"
	alive := func(step string) {
		t.Helper()
		r.x.keys("?")
		deadline := time.Now().Add(10 * time.Second)
		for !strings.Contains(r.x.screen(), "focused pane:") {
			if time.Now().After(deadline) {
				t.Fatalf("after %s captune no longer answers keys:\n%s", step, r.x.screen())
			}
			time.Sleep(50 * time.Millisecond)
		}
		r.x.keys("Escape")
		for strings.Contains(r.x.screen(), "focused pane:") {
			if time.Now().After(deadline) {
				t.Fatalf("after %s esc does not close the help:\n%s", step, r.x.screen())
			}
			time.Sleep(50 * time.Millisecond)
		}
	}
	// Typed: tmux sends the characters as keys, one after the other.
	r.x.run("send-keys", "-t", r.x.session, "-l", csi)
	alive("typing a CSI with 41 parameters")
	r.x.run("send-keys", "-t", r.x.session, "-l", dcs)
	alive("typing a DCS with 33 parameters")
	// An 8-bit CSI (byte 0x9b) then M and three bytes: not UTF-8, so only
	// hex keys can send it.
	r.x.run("send-keys", "-t", r.x.session, "-H", "9b", "4d", "58", "24", "20")
	alive("typing an 8-bit CSI M")
	// Pasted: one write, with bracketed paste as captune asked for it.
	r.x.run("set-buffer", "-b", "captune-e2e", "text"+csi+"more"+csi)
	r.x.run("paste-buffer", "-p", "-b", "captune-e2e", "-t", r.x.session)
	alive("pasting it")
	// Into the filter's text input too.
	r.x.keys("/")
	r.x.run("send-keys", "-t", r.x.session, "-l", "init"+csi)
	r.x.keys("Enter")
	r.x.waitFor("filter: init")
	alive("typing it into the filter")
	r.x.keys("q")
	if code, s := r.restored(t); code != 0 {
		t.Errorf("exit %d, want 0:\n%s", code, s)
	}
}
