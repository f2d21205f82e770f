package proftpd

import (
	"crypto/sha512"
	"errors"
	"strings"
)

// cryptAlphabet is crypt(3)'s base-64 alphabet, also the salt's.
const cryptAlphabet = "./0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"

// errSalt reports a salt crypt(3) would not take.
var errSalt = errors.New("salt must be 1 to 16 characters of [./0-9A-Za-z]")

// sha512Crypt hashes password as glibc's crypt(3) does for "$6$salt$"
// with the default 5000 rounds (Ulrich Drepper's "Unix crypt using
// SHA-256 and SHA-512" specification), the form AuthUserFile takes.
func sha512Crypt(password, salt string) (string, error) {
	if salt == "" || len(salt) > 16 {
		return "", errSalt
	}
	for i := 0; i < len(salt); i++ {
		if strings.IndexByte(cryptAlphabet, salt[i]) < 0 {
			return "", errSalt
		}
	}
	const rounds = 5000
	pw, s := []byte(password), []byte(salt)

	h := sha512.New()
	h.Write(pw)
	h.Write(s)
	h.Write(pw)
	b := h.Sum(nil)

	h.Reset()
	h.Write(pw)
	h.Write(s)
	h.Write(repeatTo(b, len(pw)))
	for n := len(pw); n > 0; n >>= 1 {
		if n&1 != 0 {
			h.Write(b)
		} else {
			h.Write(pw)
		}
	}
	a := h.Sum(nil)

	h.Reset()
	for range pw {
		h.Write(pw)
	}
	p := repeatTo(h.Sum(nil), len(pw))

	h.Reset()
	for i := 0; i < 16+int(a[0]); i++ {
		h.Write(s)
	}
	ss := repeatTo(h.Sum(nil), len(s))

	c := a
	for i := 0; i < rounds; i++ {
		h.Reset()
		if i&1 != 0 {
			h.Write(p)
		} else {
			h.Write(c)
		}
		if i%3 != 0 {
			h.Write(ss)
		}
		if i%7 != 0 {
			h.Write(p)
		}
		if i&1 != 0 {
			h.Write(c)
		} else {
			h.Write(p)
		}
		c = h.Sum(nil)
	}

	var out strings.Builder
	out.WriteString("$6$" + salt + "$")
	enc := func(b2, b1, b0 byte, n int) {
		w := uint(b2)<<16 | uint(b1)<<8 | uint(b0)
		for ; n > 0; n-- {
			out.WriteByte(cryptAlphabet[w&0x3f])
			w >>= 6
		}
	}
	for i := 0; i < 21; i++ {
		// The specification's byte order: (0,21,42), (22,43,1), (44,2,23), ...
		x, y, z := sha512Order(i)
		enc(c[x], c[y], c[z], 4)
	}
	enc(0, 0, c[63], 2)
	return out.String(), nil
}

// sha512Order is the i-th triple of digest bytes the encoding takes.
func sha512Order(i int) (int, int, int) {
	a := i
	b := (i + 21) % 63
	c := (i + 42) % 63
	switch i % 3 {
	case 0:
		return a, b, c
	case 1:
		return b, c, a
	}
	return c, a, b
}

// repeatTo returns digest repeated and cut to n bytes.
func repeatTo(digest []byte, n int) []byte {
	out := make([]byte, 0, n)
	for len(out) < n {
		out = append(out, digest[:min(len(digest), n-len(out))]...)
	}
	return out
}
