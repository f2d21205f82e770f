package procscan

import (
	"bufio"
	"os"
	"strconv"
	"strings"
	"sync"
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

func (c *userCache) load() {
	c.names = map[uint32]string{}
	f, err := os.Open(c.path)
	if err != nil {
		return
	}
	defer f.Close()
	if st, err := f.Stat(); err == nil {
		c.mtime = st.ModTime().UnixNano()
	}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		fields := strings.SplitN(sc.Text(), ":", 4)
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
