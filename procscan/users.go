package procscan

import (
	"bytes"
	"io"
	"os"
	"strconv"
	"strings"
	"sync"

	"captune/safefile"
)

// userCache maps uids to names from a passwd file, read once and again
// only when an unknown uid shows up and the file has changed.
type userCache struct {
	path  string
	mu    sync.Mutex
	names map[uint32]string
	mtime int64
}

func newUserCache(path string) *userCache { return &userCache{path: path} }

func (c *userCache) name(uid uint32) string {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.names == nil {
		c.load()
	}
	if n, ok := c.names[uid]; ok {
		return n
	}
	if st, err := os.Stat(c.path); err == nil && st.ModTime().UnixNano() != c.mtime {
		c.load()
		if n, ok := c.names[uid]; ok {
			return n
		}
	}
	return strconv.FormatUint(uint64(uid), 10)
}

// load reads the passwd file without blocking and within a bound (a FIFO
// or a device in its place gives no names, never a hang).
func (c *userCache) load() {
	c.names = map[uint32]string{}
	f, st, err := safefile.Open(c.path, safefile.Rules{})
	if err != nil {
		return
	}
	defer f.Close()
	c.mtime = st.ModTime().UnixNano()
	b, err := io.ReadAll(io.LimitReader(f, maxPasswd))
	if err != nil {
		return
	}
	for len(b) > 0 {
		var line []byte
		if i := bytes.IndexByte(b, '\n'); i >= 0 {
			line, b = b[:i], b[i+1:]
		} else {
			line, b = b, nil
		}
		fields := strings.SplitN(string(line), ":", 4)
		if len(fields) < 3 || strings.HasPrefix(fields[0], "#") {
			continue
		}
		uid, err := strconv.ParseUint(fields[2], 10, 32)
		if err != nil {
			continue
		}
		if _, dup := c.names[uint32(uid)]; !dup {
			c.names[uint32(uid)] = fields[0]
		}
	}
}

// maxPasswd bounds how much of the passwd file is read.
const maxPasswd = 64 << 20
