// Package model will hold the state of a tuning session (selection, tuned
// set, undo/redo) without any terminal code. It is empty until the
// explorer issue lands; nothing uses it yet.
package model
