package procscan_test

import (
	"math/rand"
	"testing"

	"captune/model"
	"captune/procscan"
)

// TestPrintableIsModels: the notes procscan writes escape exactly as
// model.Printable does, so every string from a process, a file or a path
// reaches the terminal through the same escaping.
func TestPrintableIsModels(t *testing.T) {
	inputs := []string{"", "plain", "\x1b]0;title\a\x1b[2J", "tab\there", "caf\u00e9", "\xff\xfe", "\u0085\u009b", "\x7f", "a\nb", "\u202e"}
	rng := rand.New(rand.NewSource(1))
	for n := 0; n < 5000; n++ {
		b := make([]byte, rng.Intn(24))
		for i := range b {
			b[i] = byte(rng.Intn(256))
		}
		inputs = append(inputs, string(b))
	}
	for _, in := range inputs {
		if got, want := procscan.Printable(in), model.Printable(in); got != want {
			t.Fatalf("%q: procscan %q, model %q", in, got, want)
		}
	}
}
