//go:build linux

package sockowner

import (
	"errors"
	"os"
	"os/user"
	"strconv"
	"sync"

	"golang.org/x/sys/unix"
)

// maxUsers bounds the user names remembered.
const maxUsers = 1024

// TCP states of a connection not yet accepted (include/net/tcp_states.h).
const (
	tcpEstablished = 1
	tcpSynRecv     = 3
	tcpNewSynRecv  = 12
)

// sysLookup asks the kernel's socket diagnostics for the socket, and
// /proc for its process.
type sysLookup struct {
	diag  *diagSocket
	proc  *procScanner
	users map[uint32]string
	// hidden, once known, says other users' descriptors cannot be read.
	hidden *bool

	mu       sync.Mutex
	denied   uint64 // owners not visible for want of rights
	failed   uint64
	firstErr error
}

func newLookuper() (lookuper, error) {
	d, err := openDiag()
	if err != nil {
		return nil, err
	}
	return &sysLookup{diag: d, proc: newProcScanner("/proc"), users: map[uint32]string{}}, nil
}

// prepare maps the sockets of every process once, before the first
// lookup: then a lookup reads only the processes started since.
func (s *sysLookup) prepare() { s.proc.scan() }

func (s *sysLookup) owner(r request, localClient, localServer bool) (Owner, bool) {
	o := Owner{UID: -1}
	var e diagEntry
	found := false
	var err error
	if localClient {
		e, found, err = s.diag.find(r.client, r.server)
		o.Side = SideClient
	}
	if !found && err == nil && localServer {
		e, found, err = s.diag.find(r.server, r.client)
		o.Side = SideServer
	}
	if err != nil {
		s.mu.Lock()
		s.failed++
		if s.firstErr == nil {
			s.firstErr = err
			if errors.Is(err, unix.EPERM) || errors.Is(err, unix.EACCES) {
				s.firstErr = errors.New("the kernel refused socket diagnostics to this user (EPERM)")
			}
		}
		s.mu.Unlock()
		return Owner{Status: StatusError, UID: -1, Err: err.Error()}, false
	}
	if !found {
		return Owner{UID: -1}, true
	}
	o.TCPState = tcpState(e.state)
	if e.inode == 0 && o.Side == SideServer && (e.state == tcpSynRecv || e.state == tcpNewSynRecv || e.state == tcpEstablished) {
		// A connection to a server here, not yet accepted (in the
		// handshake, or in the accept queue): the process is the
		// listener's.
		if l, ok, err := s.diag.listener(r.server); err == nil && ok {
			e.uid, e.inode = l.uid, l.inode
		}
	}
	if e.inode == 0 {
		// TIME-WAIT, or closed by its process with data still unsent:
		// the kernel keeps it, nobody owns it (and its UID reads 0).
		o.Status = StatusClosed
		return o, false
	}
	o.UID, o.User = int64(e.uid), s.user(e.uid)
	if int(e.uid) != os.Geteuid() && s.othersHidden() {
		// No scan would find it: say so at once, and keep the lookups
		// of the connections behind it in time.
		o.Status = StatusHidden
		s.mu.Lock()
		s.denied++
		s.mu.Unlock()
		return o, false
	}
	pid, ok := s.proc.find(e.inode, r.first)
	if !ok {
		o.Status = StatusHidden
		if s.proc.denied > 0 {
			s.mu.Lock()
			s.denied++
			s.mu.Unlock()
		}
		return o, false
	}
	o.Status, o.PID = StatusFound, pid
	s.proc.process(pid, &o)
	return o, false
}

// othersHidden says whether other users' /proc/PID/fd are closed to this
// process: not root, and init's (root's) cannot be opened. Once root is
// given up it is not had again, so the answer is kept.
func (s *sysLookup) othersHidden() bool {
	if os.Geteuid() == 0 {
		return false
	}
	if s.hidden == nil {
		d, err := os.Open("/proc/1/fd")
		hidden := errors.Is(err, os.ErrPermission)
		if err == nil {
			d.Close()
		}
		s.hidden = &hidden
	}
	return *s.hidden
}

func (s *sysLookup) user(uid uint32) string {
	if name, ok := s.users[uid]; ok {
		return name
	}
	name := ""
	if u, err := user.LookupId(strconv.FormatUint(uint64(uid), 10)); err == nil {
		name = u.Username
	}
	if len(s.users) < maxUsers {
		s.users[uid] = name
	}
	return name
}

func (s *sysLookup) problems() (denied, failed uint64, firstErr error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.denied, s.failed, s.firstErr
}

func (s *sysLookup) close() { s.diag.close() }
