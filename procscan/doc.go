// Package procscan will read every live process's capability sets through
// procfs (the /proc root is a value, for fixtures). It is empty until the
// procscan issue lands; nothing uses it yet.
package procscan
