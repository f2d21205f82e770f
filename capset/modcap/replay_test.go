package modcap

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"testing"

	"captune/capset"
)

// The recorded vectors: real logins on Debian's proftpd 1.3.8 (this
// machine, master bounding set 000001fffeffffff), one per case file in
// testdata/fidelity/cases, recorded by the fidelity research's driver.
// Each holds the configuration as it ran (the run's folder as {TMP}, its
// ports as {PORTn}), the login, proftpd -t's verdict and what the session
// process showed (or how the login was refused).

type vector struct {
	Case     string   `json:"case"`
	Family   string   `json:"family"`
	Note     string   `json:"note"`
	Config   string   `json:"config"`
	Users    string   `json:"users"`
	Login    string   `json:"login"`
	Client   string   `json:"client"`
	Connect  string   `json:"connect"`
	Hosts    []string `json:"hosts"`
	Mkdir    []string `json:"mkdir"`
	Touch    []string `json:"touch"`
	ProftpdT struct {
		Exit  int      `json:"exit"`
		Fatal []string `json:"fatal"`
	} `json:"proftpd_t"`
	Observed struct {
		Refused   bool     `json:"refused"`
		RefusedAt string   `json:"refused_at"`
		Class     string   `json:"class"`
		Banner    string   `json:"banner"`
		Pass      string   `json:"pass"`
		UIDs      []uint32 `json:"uids"`
		CapPrm    string   `json:"CapPrm"`
		CapEff    string   `json:"CapEff"`
		CapInh    string   `json:"CapInh"`
		CapAmb    string   `json:"CapAmb"`
		CapBnd    string   `json:"CapBnd"`
	} `json:"observed"`
	OldWrong bool `json:"old_captune_wrong"`
}

// recordedMaster is the master's permitted and bounding set where the
// vectors were recorded (CAP_SYS_RESOURCE missing).
const recordedMaster = capset.Set(0x000001fffeffffff)

// replayTmp stands for the run's private folder.
const replayTmp = "/tmp/fidres-run"

// The recording machine's own users, groups, /etc/ftpusers and
// /etc/shells (Debian bookworm with proftpd-core installed).
const (
	recordedPasswd = "root:x:0:0:root:/root:/bin/bash\n" +
		"daemon:x:1:1:daemon:/usr/sbin:/usr/sbin/nologin\n" +
		"games:x:5:60:games:/usr/games:/usr/sbin/nologin\n" +
		"nobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin\n" +
		"proftpd:x:102:65534::/run/proftpd:/usr/sbin/nologin\n" +
		"ftp:x:103:65534::/srv/ftp:/usr/sbin/nologin\n"
	recordedGroup   = "root:x:0:\ndaemon:x:1:\ngames:x:60:\nnogroup:x:65534:\n"
	recordedFTPUser = "root\ndaemon\nbin\nsys\nsync\ngames\nman\nlp\nmail\nnews\nuucp\nnobody\n"
	recordedShells  = "# /etc/shells: valid login shells\n/bin/sh\n/usr/bin/sh\n/bin/bash\n/usr/bin/bash\n/bin/rbash\n/usr/bin/rbash\n/bin/dash\n/usr/bin/dash\n/usr/bin/tmux\n"
)

func loadVectors(t *testing.T) []vector {
	t.Helper()
	paths, err := filepath.Glob("testdata/fidelity/vectors/*.json")
	if err != nil || len(paths) == 0 {
		t.Fatalf("no vectors: %v", err)
	}
	var out []vector
	for _, p := range paths {
		b, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		var v vector
		if err := json.Unmarshal(b, &v); err != nil {
			t.Fatalf("%s: %v", p, err)
		}
		out = append(out, v)
	}
	return out
}

// expandPorts replaces {PORTn} with 40000+n.
func expandPorts(s string) string {
	return regexp.MustCompile(`\{PORT(\d)\}`).ReplaceAllStringFunc(s, func(m string) string {
		n, _ := strconv.Atoi(m[5:6])
		return strconv.Itoa(40000 + n)
	})
}

// replayUsers builds the AuthUserFile and AuthGroupFile the driver
// wrote for "name:uid:gid:group[,group...]" users: secondary groups
// without a user of their own get gids from 5000 on.
func replayUsers(spec string) (passwd, group string, homes []string) {
	type g struct {
		gid     int
		known   bool
		members []string
	}
	groups := map[string]*g{}
	var order []string
	for _, item := range strings.Fields(spec) {
		f := strings.Split(item, ":")
		uid, _ := strconv.Atoi(f[1])
		gid, _ := strconv.Atoi(f[2])
		home := replayTmp + "/home/" + f[0]
		homes = append(homes, home)
		passwd += fmt.Sprintf("%s:$6$x$y:%d:%d::%s:/bin/sh\n", f[0], uid, gid, home)
		for i, name := range strings.Split(f[3], ",") {
			e, ok := groups[name]
			if !ok {
				e = &g{}
				groups[name] = e
				order = append(order, name)
			}
			if i == 0 {
				e.gid, e.known = gid, true
			}
			e.members = append(e.members, f[0])
		}
	}
	next := 5000
	for _, name := range order {
		e := groups[name]
		if !e.known {
			e.gid = next
			next++
		}
		group += fmt.Sprintf("%s:x:%d:%s\n", name, e.gid, strings.Join(e.members, ","))
	}
	return passwd, group, homes
}

// replayInput is the prediction's input for a vector: the same file,
// login and machine.
func replayInput(t *testing.T, v vector) (*Config, Input, error) {
	t.Helper()
	text := expandPorts(strings.ReplaceAll(v.Config, "{TMP}", replayTmp))
	cfg, err := ReadString(replayTmp+"/proftpd.conf", text, Options{})
	if err != nil {
		return nil, Input{}, err
	}
	passwd, group, homes := replayUsers(v.Users)
	files := map[string]AuthFile{replayTmp + "/passwd": {Text: passwd}, replayTmp + "/group": {Text: group}}
	for _, f := range v.Touch {
		files[strings.ReplaceAll(f, "{TMP}", replayTmp)] = AuthFile{}
	}
	dirs := map[string]bool{replayTmp: true}
	for _, d := range append(homes, v.Mkdir...) {
		dirs[strings.TrimSuffix(strings.ReplaceAll(d, "{TMP}", replayTmp), "/")] = true
	}
	sys := &Table{Accounts: ParsePasswd(recordedPasswd), Groups: ParseGroup(recordedGroup)}
	users := &Users{Files: files, System: sys, FTPUsers: ParseFTPUsers(recordedFTPUser), Shells: ParseFTPUsers(recordedShells),
		DirExists: func(p string) (bool, bool) { return dirs[strings.TrimSuffix(p, "/")], true }}
	addr, port := "", 0
	if c := expandPorts(v.Connect); c != "" {
		i := strings.LastIndexByte(c, ':')
		addr = c[:i]
		port, _ = strconv.Atoi(c[i+1:])
	}
	in := Input{Config: cfg, Users: users, MasterPermitted: recordedMaster, MasterBounding: recordedMaster,
		Resolver: Hosts{"localhost": {"127.0.0.1"}, "vm": {"127.0.0.1"}}, HostAddrs: []string{"127.0.0.1"},
		Login: Login{User: v.Login, Client: v.Client, Addr: addr, Port: port, Hosts: v.Hosts}}
	return cfg, in, nil
}

// replay compares a prediction with a vector; it returns the
// differences.
func replay(t *testing.T, v vector) []string {
	t.Helper()
	_, in, err := replayInput(t, v)
	if v.ProftpdT.Exit != 0 {
		if err == nil {
			return []string{fmt.Sprintf("proftpd -t refuses the file (%s), captune's reader accepts it", strings.Join(v.ProftpdT.Fatal, "; "))}
		}
		var e *Error
		if !errors.As(err, &e) {
			return []string{fmt.Sprintf("reader: %v", err)}
		}
		got := strings.ReplaceAll(e.Proftpd(), replayTmp, "{RUN}")
		for _, f := range v.ProftpdT.Fatal {
			want := regexp.MustCompile(`/tmp/fidres-run-[^/']*`).ReplaceAllString(f, "{RUN}")
			if got == want {
				return nil
			}
		}
		return []string{fmt.Sprintf("proftpd -t: %s; captune: %s", strings.Join(v.ProftpdT.Fatal, "; "), got)}
	}
	if err != nil {
		return []string{fmt.Sprintf("proftpd -t accepts the file, captune's reader refuses it: %v", err)}
	}
	p := Predict(in)
	o := v.Observed
	switch {
	case o.Refused && p.Refused:
		var diffs []string
		if want := refusedStage(o.RefusedAt, o.Pass); p.RefusedAt != want {
			diffs = append(diffs, fmt.Sprintf("refused at %s, predicted refused at %s (%s)", want, p.RefusedAt, p.Why))
		}
		return diffs
	case o.Refused:
		return []string{fmt.Sprintf("observed refused (%s; banner %q, PASS %q), predicted a session %s/%s uids %v", o.RefusedAt, o.Banner, o.Pass, p.Permitted.Hex(), p.Effective.Hex(), p.UIDs)}
	case p.Refused:
		return []string{fmt.Sprintf("observed a session, predicted refused at %s: %s", p.RefusedAt, p.Why)}
	}
	var diffs []string
	for _, c := range []struct {
		name string
		obs  string
		pred capset.Set
	}{{"CapPrm", o.CapPrm, p.Permitted}, {"CapEff", o.CapEff, p.Effective}, {"CapInh", o.CapInh, p.Inheritable}, {"CapAmb", o.CapAmb, p.Ambient}, {"CapBnd", o.CapBnd, p.Bounding}} {
		want, err := capset.ParseHex(c.obs)
		if err != nil {
			t.Fatalf("%s: %s %q: %v", v.Case, c.name, c.obs, err)
		}
		if want != c.pred {
			diffs = append(diffs, fmt.Sprintf("%s observed %s predicted %s", c.name, want.Hex(), c.pred.Hex()))
		}
	}
	if len(o.UIDs) != 3 || [3]uint32{o.UIDs[0], o.UIDs[1], o.UIDs[2]} != p.UIDs {
		diffs = append(diffs, fmt.Sprintf("uids observed %v predicted %v", o.UIDs, p.UIDs))
	}
	if o.Class != p.Class {
		diffs = append(diffs, fmt.Sprintf("class observed %q predicted %q", o.Class, p.Class))
	}
	return diffs
}

// refusedStage maps the driver's refusal points to Prediction.RefusedAt:
// a PASS that got no reply at all is mod_ifsession's disconnect after
// the merges.
func refusedStage(at, pass string) string {
	switch {
	case strings.HasPrefix(at, "connect"):
		return "connect"
	case strings.HasPrefix(at, "PASS") && pass == "(connection closed)":
		return "after PASS"
	case strings.HasPrefix(at, "PASS"):
		return "PASS"
	}
	return at
}

// TestReplayRecordedVectors predicts every recorded login and compares
// the outcome with what the real proftpd did: refused (and at which
// stage) or the session's five sets, uids and class.
func TestReplayRecordedVectors(t *testing.T) {
	vs := loadVectors(t)
	var wrong []string
	oldWrong := 0
	for _, v := range vs {
		if v.OldWrong {
			oldWrong++
		}
		t.Run(v.Case, func(t *testing.T) {
			if d := replay(t, v); len(d) > 0 {
				wrong = append(wrong, v.Case)
				t.Errorf("%s (family %s): %s\n%s", v.Case, v.Family, strings.Join(d, "; "), v.Note)
			}
		})
	}
	sort.Strings(wrong)
	t.Logf("%d recorded vectors: the prediction differs on %d (the predict of main at 17f770e differed on %d)", len(vs), len(wrong), oldWrong)
}
