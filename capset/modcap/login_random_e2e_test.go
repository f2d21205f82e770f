package modcap

import (
	"fmt"
	"math/rand/v2"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"
)

// TestE2ELoginRandom is the differential test: configurations built at
// random from the families' building blocks (<Global>s, <IfUser>,
// <IfGroup>, <IfClass>, <IfAuthenticated>, <Directory> with UserOwner, a
// <VirtualHost>, HOST, the client's address), each logged in against the
// real proftpd and compared with Predict. CAPTUNE_E2E_SEED repeats a run
// (the seed is logged); CAPTUNE_E2E_RANDOM sets how many (default 16).
func TestE2ELoginRandom(t *testing.T) {
	seed := uint64(time.Now().UnixNano())
	if v := os.Getenv("CAPTUNE_E2E_SEED"); v != "" {
		n, err := strconv.ParseUint(v, 10, 64)
		if err != nil {
			t.Fatalf("CAPTUNE_E2E_SEED=%q: %v", v, err)
		}
		seed = n
	}
	count := 16
	if v := os.Getenv("CAPTUNE_E2E_RANDOM"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 0 || n > 1000 {
			t.Fatalf("CAPTUNE_E2E_RANDOM=%q: want 0 to 1000", v)
		}
		count = n
	}
	t.Logf("seed %d (CAPTUNE_E2E_SEED=%d repeats this run)", seed, seed)
	r := rand.New(rand.NewPCG(seed, seed^0x5eed))
	var cases []loginCase
	for i := 0; i < count; i++ {
		c := randomLogin(r)
		c.name = fmt.Sprintf("random-%d", i)
		cases = append(cases, c)
	}
	checkLogins(t, cases)
}

var randomLines = []string{
	"CapabilitiesSet +CAP_FOWNER", "CapabilitiesSet +CAP_DAC_OVERRIDE", "CapabilitiesSet -CAP_CHOWN",
	"CapabilitiesSet +CAP_FSETID +CAP_DAC_READ_SEARCH", "CapabilitiesSet -CAP_SETUID",
	"CapabilitiesEngine on", "CapabilitiesEngine off", "RootRevoke on", "RootRevoke off",
	"CapabilitiesRootRevoke on", "CapabilitiesRootRevoke off",
}

var randomConds = []string{"IfUser carol", "IfUser alice", "IfUser !dave", "IfGroup staff", "IfGroup web", "IfGroup nosuch",
	"IfClass lo2", "IfClass loopnet", "IfAuthenticated"}

// randomBlock is a list of lines and sections, depth levels deep at most.
func randomBlock(r *rand.Rand, depth int, inGlobal bool, indent string) string {
	var b strings.Builder
	n := 1 + r.IntN(3)
	for i := 0; i < n; i++ {
		switch k := r.IntN(10); {
		case k < 5 || depth == 0:
			b.WriteString(indent + randomLines[r.IntN(len(randomLines))] + "\n")
		case k < 8:
			cond := randomConds[r.IntN(len(randomConds))]
			name, _, _ := strings.Cut(cond, " ")
			fmt.Fprintf(&b, "%s<%s>\n%s%s</%s>\n", indent, cond, randomBlock(r, 0, inGlobal, indent+"  "), randomDir(r, indent+"  "), name)
		case k == 8 && !inGlobal:
			fmt.Fprintf(&b, "%s<Global>\n%s</Global>\n", indent, randomBlock(r, depth-1, true, indent+"  "))
		default:
			b.WriteString(randomDir(r, indent))
		}
	}
	return b.String()
}

// randomDir is, now and then, a <Directory> with a UserOwner or another
// line (to replace one of the same path).
func randomDir(r *rand.Rand, indent string) string {
	if r.IntN(3) != 0 {
		return ""
	}
	line := "UserOwner carol"
	if r.IntN(2) == 0 {
		line = "AllowOverwrite on"
	}
	return fmt.Sprintf("%s<Directory @DIR@/pub>\n%s  %s\n%s</Directory>\n", indent, indent, line, indent)
}

func randomLogin(r *rand.Rand) loginCase {
	var b strings.Builder
	b.WriteString("Port @PORT0@\n@AUTH@<Class lo2>\n  From 127.0.0.2\n</Class>\n<Class loopnet>\n  From 127.0.0.0/8\n</Class>\n")
	if r.IntN(3) == 0 {
		b.WriteString("DefaultServer on\n")
	}
	b.WriteString(randomBlock(r, 2, false, ""))
	c := loginCase{users: []loginUser{alice, carol}, login: []string{"alice", "carol"}[r.IntN(2)], mkdir: []string{"pub"}}
	if r.IntN(2) == 0 {
		fmt.Fprintf(&b, "<VirtualHost 127.0.0.3>\n  Port @PORT0@\n  ServerAlias ftp.rand.test\n  @VBASE@\n  @AUTH@%s</VirtualHost>\n", randomBlock(r, 2, false, "  "))
		switch r.IntN(3) {
		case 0:
			c.connect = "127.0.0.3:@PORT0@"
		case 1:
			c.hosts = []string{"ftp.rand.test"}
		}
	}
	if r.IntN(2) == 0 {
		c.client = "127.0.0.2"
	}
	c.conf = b.String()
	return c
}
