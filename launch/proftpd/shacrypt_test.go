package proftpd

import (
	"os/exec"
	"strings"
	"testing"
)

// The test vectors of the SHA-crypt specification (default rounds).
func TestSHA512Crypt(t *testing.T) {
	for _, c := range []struct{ pw, salt, want string }{
		{"Hello world!", "saltstring", "$6$saltstring$svn8UoSVapNtMuq1ukKS4tPQd8iKwSMHWjl/O817G3uBnIFNjnQJuesI68u4OTLiBFdcbYEdFCoEOfaS35inz1"},
		{"", "x", ""},
	} {
		got, err := sha512Crypt(c.pw, c.salt)
		if err != nil {
			t.Fatal(err)
		}
		if c.want != "" && got != c.want {
			t.Errorf("sha512Crypt(%q, %q) = %s, want %s", c.pw, c.salt, got, c.want)
		}
		if !strings.HasPrefix(got, "$6$"+c.salt+"$") || len(got) != len("$6$"+c.salt+"$")+86 {
			t.Errorf("malformed hash %q", got)
		}
	}
	for _, bad := range []string{"", "12345678901234567", "a:b", "a$b"} {
		if _, err := sha512Crypt("pw", bad); err == nil {
			t.Errorf("salt %q accepted", bad)
		}
	}
}

// TestSHA512CryptOpenSSL compares with openssl passwd -6 when openssl is
// installed, for passwords of every length class the algorithm treats
// differently (short, 63 and 64 bytes, longer).
func TestSHA512CryptOpenSSL(t *testing.T) {
	bin, err := exec.LookPath("openssl")
	if err != nil {
		t.Skip("openssl is not installed")
	}
	// openssl prints <NULL> for an empty argument: the empty password is
	// covered by TestSHA512Crypt's format check only.
	for _, pw := range []string{"a", "secret", strings.Repeat("x", 63), strings.Repeat("yz", 32), strings.Repeat("0123456789", 20)} {
		for _, salt := range []string{"s", "abcdefgh", "0123456789abcdef"} {
			out, err := exec.Command(bin, "passwd", "-6", "-salt", salt, pw).Output()
			if err != nil {
				t.Fatalf("openssl: %v", err)
			}
			want := strings.TrimSpace(string(out))
			got, err := sha512Crypt(pw, salt)
			if err != nil {
				t.Fatal(err)
			}
			if got != want {
				t.Errorf("password of %d bytes, salt %q:\n got %s\nwant %s", len(pw), salt, got, want)
			}
		}
	}
}
