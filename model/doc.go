// Package model holds the state of a captune session without any terminal
// code: the process list (filter, sort, tree, selection that survives a
// process exiting), the capability grid's cursor, and the tuner (the tuned
// set for a target format, with undo and redo). The ui package draws it.
package model
