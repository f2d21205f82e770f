package proftpd

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"

	"captune/capset"
	"captune/capset/modcap"
)

// recording is one real login recorded on Debian's proftpd 1.3.8 (the
// fidelity research's vectors, kept with the prediction's replay test):
// the configuration as it ran, with its folder as {TMP} and its ports as
// {PORTn}, the login and what the session process showed.
type recording struct {
	Case     string   `json:"case"`
	Config   string   `json:"config"`
	Users    string   `json:"users"`
	Login    string   `json:"login"`
	Client   string   `json:"client"`
	Connect  string   `json:"connect"`
	Hosts    []string `json:"hosts"`
	Mkdir    []string `json:"mkdir"`
	Touch    []string `json:"touch"`
	ProftpdT struct {
		Exit int `json:"exit"`
	} `json:"proftpd_t"`
	Observed struct {
		Refused   bool     `json:"refused"`
		RefusedAt string   `json:"refused_at"`
		UIDs      []uint32 `json:"uids"`
		CapPrm    string   `json:"CapPrm"`
		CapEff    string   `json:"CapEff"`
	} `json:"observed"`
}

const recordingsDir = "../../capset/modcap/testdata/fidelity/vectors"

// recordingFiles writes what the recording's driver wrote for
// "name:uid:gid:group[,group...]" users: an AuthUserFile, an
// AuthGroupFile (a group without a user of its own gets a gid from 5000
// on) and each user's home.
func recordingFiles(t *testing.T, dir, spec string) {
	t.Helper()
	type grp struct {
		gid     int
		known   bool
		members []string
	}
	groups := map[string]*grp{}
	var order []string
	var passwd strings.Builder
	for _, item := range strings.Fields(spec) {
		f := strings.Split(item, ":")
		if len(f) != 4 {
			t.Fatalf("users %q", spec)
		}
		uid, _ := strconv.Atoi(f[1])
		gid, _ := strconv.Atoi(f[2])
		home := filepath.Join(dir, "home", f[0])
		if err := os.MkdirAll(home, 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.Chown(home, uid, gid); err != nil {
			t.Fatal(err)
		}
		fmt.Fprintf(&passwd, "%s:*:%d:%d::%s:/bin/sh\n", f[0], uid, gid, home)
		for i, name := range strings.Split(f[3], ",") {
			g := groups[name]
			if g == nil {
				g = &grp{}
				groups[name] = g
				order = append(order, name)
			}
			if i == 0 {
				g.gid, g.known = gid, true
			}
			g.members = append(g.members, f[0])
		}
	}
	var group strings.Builder
	next := 5000
	for _, name := range order {
		g := groups[name]
		if !g.known {
			g.gid = next
			next++
		}
		fmt.Fprintf(&group, "%s:x:%d:%s\n", name, g.gid, strings.Join(g.members, ","))
	}
	for name, text := range map[string]string{"passwd": passwd.String(), "group": group.String()} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(text), 0o600); err != nil {
			t.Fatal(err)
		}
	}
}

var portRef = regexp.MustCompile(`\{PORT(\d)\}`)

// TestE2EVerifyReplaysRecordings runs verify --config on every recorded
// configuration, whole, with the recorded login (user, --connect,
// --client, --host): the session verify observes is the recorded one
// (the same sets and uids, or a refusal in the same phase), verify says
// match, and a configuration proftpd -t rejected is rejected (bad
// input) before anything runs. The runs go four at a time: each has its
// own folder and network.
func TestE2EVerifyReplaysRecordings(t *testing.T) {
	bin := needProftpd(t)
	paths, err := filepath.Glob(filepath.Join(recordingsDir, "*.json"))
	if err != nil || len(paths) < 100 {
		t.Fatalf("recordings in %s: %d (%v)", recordingsDir, len(paths), err)
	}
	mods, err := Modules(bin)
	if err != nil {
		t.Fatal(err)
	}
	runs := runDir(t)
	sem := make(chan struct{}, 4)
	var mu sync.Mutex
	matched, rejected := 0, 0
	t.Run("recordings", func(t *testing.T) {
		for _, p := range paths {
			b, err := os.ReadFile(p)
			if err != nil {
				t.Fatal(err)
			}
			var r recording
			if err := json.Unmarshal(b, &r); err != nil {
				t.Fatalf("%s: %v", p, err)
			}
			t.Run(r.Case, func(t *testing.T) {
				t.Parallel()
				sem <- struct{}{}
				defer func() { <-sem }()
				dir, err := os.MkdirTemp("", "captune-replay-")
				if err != nil {
					t.Fatal(err)
				}
				defer os.RemoveAll(dir)
				if err := os.Chmod(dir, 0o711); err != nil {
					t.Fatal(err)
				}
				expand := func(s string) string {
					s = strings.ReplaceAll(s, "{TMP}", dir)
					return portRef.ReplaceAllStringFunc(s, func(m string) string { return strconv.Itoa(2120 + int(m[5]-'0')) })
				}
				recordingFiles(t, dir, r.Users)
				for _, d := range r.Mkdir {
					if err := os.MkdirAll(expand(d), 0o755); err != nil {
						t.Fatal(err)
					}
				}
				for _, f := range r.Touch {
					if err := os.WriteFile(expand(f), nil, 0o600); err != nil {
						t.Fatal(err)
					}
				}
				conf := filepath.Join(dir, "proftpd.conf")
				if err := os.WriteFile(conf, []byte(expand(r.Config)), 0o600); err != nil {
					t.Fatal(err)
				}
				var rep Report
				cfg, err := modcap.ReadFile(conf, modcap.Options{Modules: mods})
				if err == nil {
					rep, err = Verify(context.Background(), Spec{Bin: bin, Config: cfg, User: r.Login, Connect: expand(r.Connect),
						Client: r.Client, Hosts: r.Hosts, TempDir: runs})
				}
				if r.ProftpdT.Exit != 0 {
					var me *modcap.Error
					var ce *ConfigError
					if !errors.As(err, &me) && !errors.As(err, &ce) {
						t.Fatalf("proftpd -t rejected this configuration; verify: %v (observed %+v)", err, rep.Observed)
					}
					mu.Lock()
					rejected++
					mu.Unlock()
					return
				}
				if err != nil {
					t.Fatal(err)
				}
				ob, want := rep.Observed, r.Observed
				if want.Refused {
					if !ob.Refused || refusalPhase(ob.At) != refusalPhase(want.RefusedAt) {
						t.Errorf("observed refused %v at %q (%s), recorded refused at %s", ob.Refused, ob.At, ob.Reply, want.RefusedAt)
					}
				} else {
					prm, _ := capset.Parse(want.CapPrm)
					eff, _ := capset.Parse(want.CapEff)
					if ob.Refused || ob.Permitted != prm || ob.Effective != eff || len(want.UIDs) != 3 || ob.UIDs != [3]uint32{want.UIDs[0], want.UIDs[1], want.UIDs[2]} {
						t.Errorf("observed refused %v (%s) CapPrm %s CapEff %s uids %v, recorded %s %s %v", ob.Refused, ob.Reply, ob.Permitted.Hex(), ob.Effective.Hex(), ob.UIDs, want.CapPrm, want.CapEff, want.UIDs)
					}
				}
				if !rep.Match {
					t.Errorf("verify says differs: %q (prediction: server %q, reasons %q)", rep.Differences, rep.Predicted.Server, rep.Predicted.Reasons)
					return
				}
				mu.Lock()
				matched++
				mu.Unlock()
			})
		}
	})
	t.Logf("%d recordings: %d observed as recorded and matched, %d rejected like proftpd -t", len(paths), matched, rejected)
}
