package ui

import (
	"fmt"

	"charm.land/bubbles/v2/key"
	tea "charm.land/bubbletea/v2"
)

// Minimum terminal size: below it the screen says so instead of drawing
// a layout that cannot fit (README, "The explorer and tuner").
const (
	minWidth  = 60
	minHeight = 16
)

func (m Model) tooSmall() bool { return m.width < minWidth || m.height < minHeight }

// tooSmallLines is the whole screen below the minimum size.
func (m Model) tooSmallLines() []string {
	msg := fmt.Sprintf("captune needs a terminal of at least %dx%d; this one is %dx%d. Enlarge it (or zoom out); q quits.",
		minWidth, minHeight, m.width, m.height)
	return wrapLines(msg, m.width)
}

// window shows at most h lines of body from offset off, with a marker
// line for what is hidden above ("↑ 3 more lines") and below ("↓ 12 more
// lines · hint"). It returns the lines and the offset it used: off is
// clamped so that the last page ends with the body's last line.
func (m Model) window(body []string, off, h int, hint string) ([]string, int) {
	n := len(body)
	if n <= h || h < 3 {
		return body[:min(n, max(0, h))], 0
	}
	off = max(0, min(off, maxOffset(n, h)))
	out := make([]string, 0, h)
	rows := h
	if off > 0 {
		out = append(out, m.styles.Dim.Render(fmt.Sprintf("↑ %d more %s", off, lines(off))))
		rows--
	}
	below := n - off - rows
	if below > 0 {
		rows--
		below++
	}
	out = append(out, body[off:off+rows]...)
	if below > 0 {
		marker := fmt.Sprintf("↓ %d more %s", below, lines(below))
		if hint != "" {
			marker += " · " + hint
		}
		out = append(out, m.styles.Dim.Render(marker))
	}
	return out, off
}

// maxOffset is the offset of the last page of n lines shown h at a time
// (the page starts with the "↑" marker).
func maxOffset(n, h int) int {
	if n <= h || h < 3 {
		return 0
	}
	return n - (h - 1)
}

func lines(n int) string {
	if n == 1 {
		return "line"
	}
	return "lines"
}

// scrollBy moves an offset by a scroll key; it reports false for other
// keys. page is the number of lines a page holds.
func scrollBy(k ScrollKeys, msg tea.KeyPressMsg, off, page, maxOff int) (int, bool) {
	switch {
	case key.Matches(msg, k.Up):
		off--
	case key.Matches(msg, k.Down):
		off++
	case key.Matches(msg, k.PageUp):
		off -= max(1, page-2)
	case key.Matches(msg, k.PageDown):
		off += max(1, page-2)
	case key.Matches(msg, k.Home):
		off = 0
	case key.Matches(msg, k.End):
		off = maxOff
	default:
		return off, false
	}
	return max(0, min(off, maxOff)), true
}

// overlayHeight is the number of body lines an overlay shows (below its
// title block).
func (m Model) overlayHeight() int { return max(0, m.height-3-overlayHead) }

// overlayMaxScroll is the largest useful scroll offset of the open
// overlay.
func (m Model) overlayMaxScroll() int {
	_, body := m.overlayContent(m.overlayWidth())
	return maxOffset(len(body), m.overlayHeight())
}

// scrollOverlay handles a scroll key in an overlay.
func (m Model) scrollOverlay(k ScrollKeys, msg tea.KeyPressMsg) (Model, bool) {
	off, ok := scrollBy(k, msg, m.scroll, m.overlayHeight(), m.overlayMaxScroll())
	if ok {
		m.scroll = off
	}
	return m, ok
}

// overlayScrolls reports whether the open overlay is longer than the
// screen (its help line then names the scroll keys).
func (m Model) overlayScrolls() bool { return m.overlayMaxScroll() > 0 }

// open shows an overlay from its top. The emit view and its file name
// and overwrite questions are one text: switching among them keeps the
// position.
func (m *Model) open(o overlay) {
	emit := func(o overlay) bool { return o == overlayEmit || o == overlayWrite || o == overlayOverwrite }
	if o != m.overlay && !(emit(o) && emit(m.overlay)) {
		m.scroll = 0
	}
	m.overlay = o
}
