//go:build linux

package sockowner

import (
	"bytes"
	"errors"
	"os"
	"slices"
	"strconv"
	"strings"
	"time"

	"golang.org/x/sys/unix"
)

// Bounds of the /proc scans.
const (
	maxInodes    = 1 << 18 // sockets remembered from a full scan
	maxRecent    = 16      // processes that owned sockets lately, tried first
	rescanPeriod = 250 * time.Millisecond
)

// procScanner finds the process holding a socket inode in /proc/PID/fd.
type procScanner struct {
	root string // /proc
	// inodes maps socket inodes to PIDs as the last full scan found them;
	// scanned is when that scan began.
	inodes  map[uint32]int
	scanned time.Time
	recent  []int
	// pids are the processes /proc listed last: a process not among them
	// is new, and its descriptors are read before any full scan.
	pids map[int]bool
	// denied counts the processes whose descriptors could not be read
	// (EACCES, EPERM) in the last full scan.
	denied int
	link   [64]byte
	names  []string
	sleep  func(time.Duration)
}

func newProcScanner(root string) *procScanner {
	return &procScanner{root: root, inodes: map[uint32]int{}, pids: map[int]bool{}, sleep: time.Sleep}
}

// find returns the PID holding the socket inode, looking first at what is
// known, then at the recent owners, then at the processes started since
// /proc was last listed, then in a new full scan if the last one began
// before since (the connection's first packet): a scan that began after
// it would have seen the descriptor.
func (p *procScanner) find(inode uint32, since time.Time) (int, bool) {
	if pid, ok := p.inodes[inode]; ok && p.holds(pid, inode) {
		p.remember(pid)
		return pid, true
	}
	for _, pid := range p.recent {
		if p.holds(pid, inode) {
			p.remember(pid)
			return pid, true
		}
	}
	if pid, ok := p.scanNew(inode); ok {
		p.remember(pid)
		return pid, true
	}
	if !p.scanned.Before(since) {
		return 0, false
	}
	if wait := rescanPeriod - time.Since(p.scanned); wait > 0 {
		p.sleep(wait)
	}
	p.scan()
	if pid, ok := p.inodes[inode]; ok {
		p.remember(pid)
		return pid, true
	}
	return 0, false
}

func (p *procScanner) remember(pid int) {
	if i := slices.Index(p.recent, pid); i >= 0 {
		p.recent = slices.Delete(p.recent, i, i+1)
	}
	if len(p.recent) == maxRecent {
		p.recent = p.recent[:maxRecent-1]
	}
	p.recent = slices.Insert(p.recent, 0, pid)
}

// holds reports whether process pid has a descriptor for the socket.
func (p *procScanner) holds(pid int, inode uint32) bool {
	found := false
	p.fds(pid, func(ino uint32) bool {
		found = ino == inode
		return !found
	})
	return found
}

// scan maps every socket of every process, up to maxInodes of them.
func (p *procScanner) scan() {
	p.scanned = time.Now()
	clear(p.inodes)
	p.denied = 0
	p.list(func(pid int, _ bool) { p.add(pid) })
}

// scanNew maps the sockets of the processes /proc did not list last time,
// and says whether one holds inode.
func (p *procScanner) scanNew(inode uint32) (int, bool) {
	if len(p.pids) == 0 {
		p.scan() // the first: every process is new
	}
	var fresh []int
	p.list(func(pid int, known bool) {
		if !known {
			fresh = append(fresh, pid)
		}
	})
	// Newest first: the likeliest owner of a new connection, and the
	// likeliest to be gone soon.
	slices.Sort(fresh)
	for _, pid := range slices.Backward(fresh) {
		p.add(pid)
		if owner, ok := p.inodes[inode]; ok {
			return owner, true
		}
	}
	pid, ok := p.inodes[inode]
	return pid, ok
}

// add maps the sockets of pid.
func (p *procScanner) add(pid int) {
	p.fds(pid, func(ino uint32) bool {
		if len(p.inodes) >= maxInodes {
			return false
		}
		if _, dup := p.inodes[ino]; !dup {
			p.inodes[ino] = pid
		}
		return true
	})
}

// list calls each with every process of /proc and whether the last
// listing had it, and keeps this listing for the next.
func (p *procScanner) list(each func(pid int, known bool)) {
	d, err := os.Open(p.root)
	if err != nil {
		return
	}
	defer d.Close()
	now := make(map[int]bool, len(p.pids))
	for {
		names, err := d.Readdirnames(512)
		for _, name := range names {
			pid, err := strconv.Atoi(name)
			if err != nil || pid <= 0 {
				continue
			}
			now[pid] = true
			each(pid, p.pids[pid])
		}
		if err != nil {
			break
		}
	}
	p.pids = now
}

// fds calls each with the inode of every socket process pid holds, until
// each returns false. A process whose descriptors cannot be read for
// want of rights is counted in denied.
func (p *procScanner) fds(pid int, each func(inode uint32) bool) {
	dir := p.root + "/" + strconv.Itoa(pid) + "/fd"
	d, err := os.Open(dir)
	if err != nil {
		if errors.Is(err, os.ErrPermission) {
			p.denied++
		}
		return
	}
	defer d.Close()
	for {
		names, err := d.Readdirnames(256)
		for _, name := range names {
			n, lerr := unix.Readlink(dir+"/"+name, p.link[:])
			if lerr != nil {
				continue
			}
			if ino, ok := socketInode(p.link[:n]); ok && !each(ino) {
				return
			}
		}
		if err != nil {
			return
		}
	}
}

// socketInode reads "socket:[12345]", the link of a socket's descriptor.
func socketInode(link []byte) (uint32, bool) {
	rest, ok := bytes.CutPrefix(link, []byte("socket:["))
	if !ok || len(rest) < 2 || rest[len(rest)-1] != ']' {
		return 0, false
	}
	n, err := strconv.ParseUint(string(rest[:len(rest)-1]), 10, 32)
	if err != nil {
		return 0, false
	}
	return uint32(n), true
}

// process fills in o what /proc says of pid: command, executable, cgroup.
func (p *procScanner) process(pid int, o *Owner) {
	base := p.root + "/" + strconv.Itoa(pid)
	if b, err := os.ReadFile(base + "/comm"); err == nil {
		o.Comm = strings.TrimSuffix(string(b), "\n")
	}
	if exe, err := os.Readlink(base + "/exe"); err == nil {
		o.Exe = exe
	}
	if b, err := os.ReadFile(base + "/cgroup"); err == nil {
		o.Cgroup = cgroupPath(string(b))
		o.Unit, o.Container = cgroupNames(o.Cgroup)
	}
}

// cgroupPath picks the cgroup v2 path ("0::/system.slice/app.service") of
// /proc/PID/cgroup, else cgroup v1's systemd hierarchy, else its first.
func cgroupPath(s string) string {
	var systemd, first string
	for line := range strings.Lines(s) {
		line = strings.TrimSuffix(line, "\n")
		_, rest, ok := strings.Cut(line, ":")
		if !ok {
			continue
		}
		ctrl, path, ok := strings.Cut(rest, ":")
		if !ok {
			continue
		}
		switch {
		case ctrl == "" && strings.HasPrefix(line, "0:"):
			return path
		case ctrl == "name=systemd":
			systemd = path
		case first == "":
			first = path
		}
	}
	if systemd != "" {
		return systemd
	}
	return first
}

// cgroupNames reads a cgroup path for the systemd unit (the last
// component that is a .service or .scope) and a container ID: a
// docker-ID.scope, cri-containerd-ID.scope, crio-ID.scope or
// libpod-ID.scope, or a component that is an ID (cgroup v1's /docker/ID).
func cgroupNames(path string) (unit, container string) {
	for _, c := range strings.Split(path, "/") {
		id := c
		for _, prefix := range []string{"docker-", "cri-containerd-", "crio-", "libpod-"} {
			if s, ok := strings.CutPrefix(c, prefix); ok {
				id = strings.TrimSuffix(s, ".scope")
			}
		}
		if isContainerID(id) {
			container = id
			continue
		}
		if strings.HasSuffix(c, ".service") || strings.HasSuffix(c, ".scope") {
			unit = c
		}
	}
	return unit, container
}

func isContainerID(s string) bool {
	if len(s) != 64 {
		return false
	}
	for i := 0; i < len(s); i++ {
		if !('0' <= s[i] && s[i] <= '9' || 'a' <= s[i] && s[i] <= 'f') {
			return false
		}
	}
	return true
}
