package ui

import (
	"image/color"

	"charm.land/lipgloss/v2"
)

// Styles holds every style the UI draws with, built for a light or dark
// background. Meaning never rests on colour alone: every state also has a
// symbol.
type Styles struct {
	Title, TitleDim     lipgloss.Style
	Header              lipgloss.Style
	Row, RowSelected    lipgloss.Style
	RowGone             lipgloss.Style
	Dim, Bold, Accent   lipgloss.Style
	Separator           lipgloss.Style
	Help, HelpKey       lipgloss.Style
	Status, StatusError lipgloss.Style
	Panel, PanelTitle   lipgloss.Style
	Cap                 CapStyles
	Risk                map[string]lipgloss.Style
}

// CapStyles colour the capability grid's cells.
type CapStyles struct {
	Held, NotHeld, Kept, Dropped, Locked, More, Less lipgloss.Style
}

// NewStyles builds the styles for a dark or light terminal background.
func NewStyles(isDark bool) Styles {
	ld := lipgloss.LightDark(isDark)
	c := func(light, dark string) color.Color { return ld(lipgloss.Color(light), lipgloss.Color(dark)) }
	fg := c("#1f2328", "#e6edf3")
	dim := c("#6e7781", "#8b949e")
	accent := c("#0550ae", "#79c0ff")
	selBg := c("#dbe9ff", "#1f3a5f")
	barBg := c("#eaeef2", "#21262d")
	green := c("#116329", "#56d364")
	red := c("#a40e26", "#ff7b72")
	yellow := c("#7d4e00", "#e3b341")
	s := Styles{
		Title:       lipgloss.NewStyle().Bold(true).Foreground(accent).Background(barBg),
		TitleDim:    lipgloss.NewStyle().Foreground(dim).Background(barBg),
		Header:      lipgloss.NewStyle().Bold(true).Foreground(fg).Background(barBg),
		Row:         lipgloss.NewStyle().Foreground(fg),
		RowSelected: lipgloss.NewStyle().Foreground(fg).Background(selBg).Bold(true),
		RowGone:     lipgloss.NewStyle().Foreground(dim).Strikethrough(true),
		Dim:         lipgloss.NewStyle().Foreground(dim),
		Bold:        lipgloss.NewStyle().Bold(true).Foreground(fg),
		Accent:      lipgloss.NewStyle().Foreground(accent),
		Separator:   lipgloss.NewStyle().Foreground(dim),
		Help:        lipgloss.NewStyle().Foreground(dim),
		HelpKey:     lipgloss.NewStyle().Foreground(accent).Bold(true),
		Status:      lipgloss.NewStyle().Foreground(green),
		StatusError: lipgloss.NewStyle().Foreground(red).Bold(true),
		Panel:       lipgloss.NewStyle().Foreground(fg),
		PanelTitle:  lipgloss.NewStyle().Bold(true).Foreground(accent),
		Cap: CapStyles{
			Held:    lipgloss.NewStyle().Foreground(green),
			NotHeld: lipgloss.NewStyle().Foreground(dim),
			Kept:    lipgloss.NewStyle().Foreground(green).Bold(true),
			Dropped: lipgloss.NewStyle().Foreground(dim),
			Locked:  lipgloss.NewStyle().Foreground(dim),
			More:    lipgloss.NewStyle().Foreground(red).Bold(true),
			Less:    lipgloss.NewStyle().Foreground(yellow).Bold(true),
		},
		Risk: map[string]lipgloss.Style{
			"root-equivalent": lipgloss.NewStyle().Foreground(red).Bold(true),
			"high":            lipgloss.NewStyle().Foreground(red),
			"moderate":        lipgloss.NewStyle().Foreground(yellow),
			"low":             lipgloss.NewStyle().Foreground(green),
		},
	}
	return s
}
