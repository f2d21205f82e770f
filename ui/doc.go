// Package ui will be captune's Bubble Tea v2 program. It is empty until
// the explorer issue lands; nothing uses it yet.
package ui
