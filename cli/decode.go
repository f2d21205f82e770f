package cli

import (
	"encoding/json"
	"fmt"
	"strings"

	"captune/capset"
)

var decodeFlags = []flagSpec{
	{name: "json", help: "print a JSON array of {\"mask\", \"names\"}"},
	{name: "help", help: "show this help"},
}

func runDecode(env Env, args []string) error {
	p, err := parseArgs("decode", args, decodeFlags)
	if err != nil {
		return err
	}
	if p.has("help") {
		fmt.Fprint(env.Stdout, helpText("decode", "[--json] HEX...",
			"Prints each 64-bit mask as 0x<16 hex digits>=<names>, the same names in the same\norder as capsh --decode. A leading 0x is optional; bits without a name print as numbers.\nEvery argument is a mask, so 10 here is 0x10 (where captune reads a set, a lone\nnumber is refused as ambiguous instead).",
			decodeFlags, "  captune decode 00000000200004c1\n  captune decode --json 0x3000 1ffffffffff\n"))
		return nil
	}
	if len(p.pos) == 0 {
		return usagef("decode: give at least one hex mask (e.g. captune decode 00000000200004c1)")
	}
	sets := make([]capset.Set, len(p.pos))
	for i, a := range p.pos {
		s, err := capset.ParseHex(a)
		if err != nil {
			return usagef("decode: argument %d: %v", i+1, quoteErr(err, a))
		}
		sets[i] = s
	}
	if p.has("json") {
		type row struct {
			Mask  string   `json:"mask"`
			Names []string `json:"names"`
		}
		rows := make([]row, len(sets))
		for i, s := range sets {
			rows[i] = row{Mask: s.Hex(), Names: s.Names()}
		}
		return writeJSON(env, rows)
	}
	var b strings.Builder
	for _, s := range sets {
		b.WriteString(s.Decode() + "\n")
	}
	_, err = fmt.Fprint(env.Stdout, b.String())
	return err
}

// quoteErr keeps a message about a huge argument short.
func quoteErr(err error, arg string) error {
	if len(arg) > 80 {
		return fmt.Errorf("bad capability mask (%d bytes): not 1 to 16 hex digits", len(arg))
	}
	return err
}

func writeJSON(env Env, v any) error {
	enc := json.NewEncoder(env.Stdout)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false)
	return enc.Encode(v)
}
