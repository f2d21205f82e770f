package capset_test

import (
	"fmt"

	"captune/capset"
)

func ExampleSet_Decode() {
	// ProFTPD's session process as /proc/PID/status shows it.
	fmt.Println(capset.Set(0x200004c1).Decode())
	// Bits past cap_checkpoint_restore (40) have no name and print as numbers.
	fmt.Println(capset.Of(capset.Chown, 41, 63).Decode())
	fmt.Println(capset.Set(0).Decode())
	// Output:
	// 0x00000000200004c1=cap_chown,cap_setgid,cap_setuid,cap_net_bind_service,cap_audit_write
	// 0x8000020000000001=cap_chown,41,63
	// 0x0000000000000000=
}

func ExampleParseHex() {
	s, err := capset.ParseHex("0x4c1")
	fmt.Println(s, err)
	s, err = capset.ParseHex("00000000200004c1")
	fmt.Println(s.Hex(), s.Len(), err)
	_, err = capset.ParseHex("0x4cg")
	fmt.Println(err)
	// Output:
	// cap_chown,cap_setgid,cap_setuid,cap_net_bind_service <nil>
	// 00000000200004c1 5 <nil>
	// bad capability mask "0x4cg": 'g' is not a hex digit
}

func ExampleParse() {
	for _, in := range []string{"0x4c1", "cap_chown,CAP_SETUID", "chown setuid", "cap_chown,cap_setuid+ep", "0,7"} {
		s, err := capset.Parse(in)
		fmt.Printf("%-24s %s %v\n", in, s.Hex(), err)
	}
	// Output:
	// 0x4c1                    00000000000004c1 <nil>
	// cap_chown,CAP_SETUID     0000000000000081 <nil>
	// chown setuid             0000000000000081 <nil>
	// cap_chown,cap_setuid+ep  0000000000000081 <nil>
	// 0,7                      0000000000000081 <nil>
}

func ExampleParseCap() {
	c, err := capset.ParseCap("CAP_NET_BIND_SERVICE")
	fmt.Println(int(c), c, err)
	_, err = capset.ParseCap("sys_admn")
	fmt.Println(err)
	// Output:
	// 10 cap_net_bind_service <nil>
	// unknown capability: "sys_admn" (did you mean cap_sys_admin?)
}

func ExampleTriple_String() {
	x := capset.Of(capset.Chown, capset.Setuid)
	fmt.Println(capset.Triple{Effective: x, Permitted: x})
	fmt.Println(capset.Triple{Permitted: x, Inheritable: capset.Of(capset.Chown)})
	fmt.Println(capset.Triple{})
	// Output:
	// cap_chown,cap_setuid=ep
	// cap_chown=ip cap_setuid+p
	// =
}

func ExampleParseText() {
	t, err := capset.ParseText("cap_chown,cap_setuid=ip cap_setuid+e")
	fmt.Println(err)
	fmt.Println("effective:  ", t.Effective)
	fmt.Println("permitted:  ", t.Permitted)
	fmt.Println("inheritable:", t.Inheritable)
	// Output:
	// <nil>
	// effective:   cap_setuid
	// permitted:   cap_chown,cap_setuid
	// inheritable: cap_chown,cap_setuid
}

func ExampleParseIAB() {
	iab, err := capset.ParseIAB("!cap_sys_admin,^cap_chown")
	fmt.Println(err)
	fmt.Println("inheritable: ", iab.Inheritable)
	fmt.Println("ambient:     ", iab.Ambient)
	fmt.Println("not bounding:", iab.NotBounding)
	fmt.Println(iab)
	// Output:
	// <nil>
	// inheritable:  cap_chown
	// ambient:      cap_chown
	// not bounding: cap_sys_admin
	// ^cap_chown,!cap_sys_admin
}

func ExampleIAB_String() {
	iab := capset.IAB{
		Inheritable: capset.Of(capset.Chown, capset.Kill, capset.NetRaw),
		Ambient:     capset.Of(capset.Chown),
		NotBounding: capset.Of(capset.Kill, capset.SysAdmin),
	}
	fmt.Println(iab.String())
	// Output:
	// ^cap_chown,!%cap_kill,cap_net_raw,!cap_sys_admin
}

func ExampleSystemd() {
	fmt.Print(capset.Systemd(capset.Of(capset.NetBindService, capset.Chown)))
	// Output:
	// CapabilityBoundingSet=CAP_CHOWN CAP_NET_BIND_SERVICE
	// AmbientCapabilities=CAP_CHOWN CAP_NET_BIND_SERVICE
}

func ExampleDocker() {
	fmt.Print(capset.Docker(capset.Of(capset.NetBindService, capset.Chown)))
	fmt.Print(capset.Docker(0))
	// Output:
	// --cap-drop=ALL --cap-add=CHOWN --cap-add=NET_BIND_SERVICE
	// --cap-drop=ALL
}

func ExampleCapsh() {
	fmt.Print(capset.Capsh(capset.Of(capset.NetBindService), "www-data"))
	// Output:
	// capsh --keep=1 --caps="cap_setgid,cap_setuid,cap_setpcap,cap_net_bind_service=eip" --user=www-data --caps="cap_net_bind_service=eip" --addamb=cap_net_bind_service -- -c 'COMMAND'
}
