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
// (the seed is logged); CAPTUNE_E2E_RANDOM sets how many (default 24).
func TestE2ELoginRandom(t *testing.T) {
	seed := uint64(time.Now().UnixNano())
	if v := os.Getenv("CAPTUNE_E2E_SEED"); v != "" {
		n, err := strconv.ParseUint(v, 10, 64)
		if err != nil {
			t.Fatalf("CAPTUNE_E2E_SEED=%q: %v", v, err)
		}
		seed = n
	}
	count := 24
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
		// Every other one also has the server-choice, <Anonymous>,
		// <Limit LOGIN> and root-login blocks.
		c := randomLogin(r)
		if i%2 == 1 {
			c = randomWider(r)
		}
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

var randomLimits = []string{"DenyUser bob", "DenyUser carol", "DenyGroup web", "AllowUser alice\n  DenyAll",
	"Order allow,deny\n  Allow from 127.0.0.1\n  Deny from all", "DenyClass lo2", "AllowClass loopnet\n  DenyAll"}

var randomWiderConds = []string{"IfUser carol", "IfUser alice,bob", "IfUser !carol", "IfGroup OR nosuch,web", "IfGroup !web",
	"IfClass !lo2", "IfClass lo2", "IfAuthenticated", "IfUser ftpguest", "IfUser admin"}

// randomWider adds the server choice (Port 0, DefaultServer,
// SocketBindTight, a <VirtualHost> on another address or port), an
// <Anonymous> login, <Limit LOGIN> rules and root logins.
func randomWider(r *rand.Rand) loginCase {
	var b strings.Builder
	c := loginCase{users: []loginUser{alice, bob, carol, {"ftpguest", 2001, 2001, []string{"ftpguest"}}, {"admin", 0, 0, []string{"admin"}}},
		mkdir: []string{"pub", "anon"}}
	c.login = []string{"alice", "bob", "carol", "anonymous", "admin"}[r.IntN(5)]
	if c.login == "anonymous" {
		c.password = "guest@example.test"
	}
	mainPort := "@PORT0@"
	if r.IntN(4) == 0 {
		mainPort = "0"
	}
	fmt.Fprintf(&b, "Port %s\n@AUTH@<Class lo2>\n  From 127.0.0.2\n</Class>\n<Class loopnet>\n  From 127.0.0.0/8\n</Class>\n", mainPort)
	if r.IntN(3) == 0 {
		b.WriteString("SocketBindTight on\nDefaultAddress 127.0.0.1\n")
	}
	if r.IntN(3) == 0 {
		b.WriteString("DefaultServer on\n")
	}
	if r.IntN(2) == 0 {
		b.WriteString([]string{"RootLogin on\n", "RootLogin off\n", "UseFtpUsers off\n"}[r.IntN(3)])
	}
	block := func(indent string) string {
		var out strings.Builder
		for i := 0; i < 1+r.IntN(3); i++ {
			switch k := r.IntN(8); {
			case k < 4:
				out.WriteString(indent + randomLines[r.IntN(len(randomLines))] + "\n")
			case k < 6:
				cond := randomWiderConds[r.IntN(len(randomWiderConds))]
				name, _, _ := strings.Cut(cond, " ")
				inner := indent + "  " + randomLines[r.IntN(len(randomLines))] + "\n"
				switch r.IntN(4) {
				case 0:
					inner += fmt.Sprintf("%s  <Limit LOGIN>\n%s    %s\n%s  </Limit>\n", indent, indent, strings.ReplaceAll(randomLimits[r.IntN(len(randomLimits))], "\n  ", "\n    "+indent), indent)
				case 1:
					inner += indent + "  RootLogin on\n"
				}
				fmt.Fprintf(&out, "%s<%s>\n%s%s</%s>\n", indent, cond, inner, randomDir(r, indent+"  "), name)
			case k == 6:
				fmt.Fprintf(&out, "%s<Limit LOGIN>\n%s  %s\n%s</Limit>\n", indent, indent, strings.ReplaceAll(randomLimits[r.IntN(len(randomLimits))], "\n  ", "\n  "+indent), indent)
			default:
				out.WriteString(randomDir(r, indent))
			}
		}
		return out.String()
	}
	b.WriteString(block(""))
	if r.IntN(2) == 0 {
		fmt.Fprintf(&b, "<Anonymous @DIR@/anon>\n  User ftpguest\n  Group ftpguest\n  UserAlias anonymous ftpguest\n%s</Anonymous>\n",
			[]string{"", "  RootRevoke off\n", "  UserOwner ftpguest\n", "  <Limit LOGIN>\n    DenyAll\n  </Limit>\n"}[r.IntN(4)])
	}
	c.connect = "127.0.0.1:@PORT0@"
	if r.IntN(2) == 0 {
		addr := []string{"127.0.0.1", "127.0.0.3"}[r.IntN(2)]
		port := []string{"@PORT0@", "@PORT1@"}[r.IntN(2)]
		fmt.Fprintf(&b, "<VirtualHost %s>\n  Port %s\n  ServerAlias ftp.rand.test\n  @VBASE@\n  @AUTH@%s</VirtualHost>\n", addr, port, block("  "))
		switch r.IntN(3) {
		case 0:
			c.connect = addr + ":" + port
		case 1:
			c.hosts = []string{"ftp.rand.test"}
		}
	}
	if mainPort == "0" && c.connect == "127.0.0.1:@PORT0@" {
		c.connect = "127.0.0.1:@PORT1@"
	}
	if r.IntN(2) == 0 {
		c.client = "127.0.0.2"
	}
	c.conf = b.String()
	return c
}
