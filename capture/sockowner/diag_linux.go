//go:build linux

package sockowner

import (
	"encoding/binary"
	"errors"
	"fmt"
	"net/netip"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// The socket diagnostics messages (linux/sock_diag.h, linux/inet_diag.h).
const (
	sockDiagByFamily = 20 // SOCK_DIAG_BY_FAMILY
	nlHdrLen         = 16 // struct nlmsghdr
	diagReqLen       = 56 // struct inet_diag_req_v2
	diagMsgLen       = 72 // struct inet_diag_msg
	diagIDLen        = 48 // struct inet_diag_sockid
	noCookie         = ^uint32(0)
	diagRecvTimeout  = time.Second
)

// diagSocket is one netlink socket asking the kernel about TCP sockets by
// 4-tuple; its buffers are reused from one lookup to the next.
type diagSocket struct {
	fd  int
	seq uint32
	req [nlHdrLen + diagReqLen]byte
	buf []byte
}

// diagEntry is what the kernel said of one socket.
type diagEntry struct {
	family        uint8
	state         uint8
	local, remote netip.AddrPort
	uid, inode    uint32
}

func openDiag() (*diagSocket, error) {
	fd, err := unix.Socket(unix.AF_NETLINK, unix.SOCK_DGRAM|unix.SOCK_CLOEXEC, unix.NETLINK_SOCK_DIAG)
	if err != nil {
		return nil, fmt.Errorf("socket diagnostics: netlink socket: %w", err)
	}
	tv := unix.NsecToTimeval(diagRecvTimeout.Nanoseconds())
	if err := unix.SetsockoptTimeval(fd, unix.SOL_SOCKET, unix.SO_RCVTIMEO, &tv); err != nil {
		unix.Close(fd)
		return nil, fmt.Errorf("socket diagnostics: receive timeout: %w", err)
	}
	// Connected to the kernel, the socket refuses messages from any other
	// sender: a local process cannot forge answers.
	if err := unix.Connect(fd, &unix.SockaddrNetlink{Family: unix.AF_NETLINK}); err != nil {
		unix.Close(fd)
		return nil, fmt.Errorf("socket diagnostics: connect: %w", err)
	}
	return &diagSocket{fd: fd, buf: make([]byte, 8192)}, nil
}

func (d *diagSocket) close() error { return unix.Close(d.fd) }

// find asks the kernel for the TCP socket whose local and remote ends are
// these. found is false when there is none (ENOENT), or when the kernel
// answered with another socket (the listener an exact lookup falls back
// to).
func (d *diagSocket) find(local, remote netip.AddrPort) (e diagEntry, found bool, err error) {
	e, found, err = d.ask(local, remote)
	if found && (e.local != unmap(local) || e.remote != unmap(remote)) {
		return diagEntry{}, false, nil
	}
	return e, found, err
}

// listener asks for the socket listening on local's port that a
// connection to local would be handed to.
func (d *diagSocket) listener(local netip.AddrPort) (e diagEntry, found bool, err error) {
	peer := netip.AddrPortFrom(netip.IPv4Unspecified(), 0)
	if local.Addr().Unmap().Is6() {
		peer = netip.AddrPortFrom(netip.IPv6Unspecified(), 0)
	}
	e, found, err = d.ask(local, peer)
	if found && (e.state != tcpListen || e.local.Port() != local.Port()) {
		return diagEntry{}, false, nil
	}
	return e, found, err
}

const tcpListen = 10

// ask sends one exact lookup and reads its answer, whatever socket it is.
func (d *diagSocket) ask(local, remote netip.AddrPort) (e diagEntry, found bool, err error) {
	d.seq++
	req := encodeRequest(d.req[:], d.seq, local, remote)
	if _, err := unix.Write(d.fd, req); err != nil {
		return e, false, fmt.Errorf("socket diagnostics: send: %w", err)
	}
	for {
		n, err := unix.Read(d.fd, d.buf)
		if err == unix.EINTR {
			continue
		}
		if err != nil {
			if err == unix.EAGAIN {
				err = errors.New("no answer within a second")
			}
			return e, false, fmt.Errorf("socket diagnostics: receive: %w", err)
		}
		e, found, mine, err := decodeReply(d.buf[:n], d.seq)
		if !mine {
			continue // the late answer to a lookup that timed out
		}
		return e, found, err
	}
}

func unmap(a netip.AddrPort) netip.AddrPort { return netip.AddrPortFrom(a.Addr().Unmap(), a.Port()) }

// encodeRequest writes into b (72 bytes) the netlink message asking for
// the TCP socket local -> remote in any state.
func encodeRequest(b []byte, seq uint32, local, remote netip.AddrPort) []byte {
	b = b[:nlHdrLen+diagReqLen]
	clear(b)
	ne := binary.NativeEndian
	ne.PutUint32(b[0:], nlHdrLen+diagReqLen)
	ne.PutUint16(b[4:], sockDiagByFamily)
	ne.PutUint16(b[6:], unix.NLM_F_REQUEST)
	ne.PutUint32(b[8:], seq)
	r := b[nlHdrLen:]
	la, ra := local.Addr().Unmap(), remote.Addr().Unmap()
	r[0] = unix.AF_INET6
	if la.Is4() {
		r[0] = unix.AF_INET
	}
	r[1] = unix.IPPROTO_TCP
	ne.PutUint32(r[4:], ^uint32(0)) // every state
	id := r[8:]
	binary.BigEndian.PutUint16(id[0:], local.Port())
	binary.BigEndian.PutUint16(id[2:], remote.Port())
	putAddr(id[4:20], la)
	putAddr(id[20:36], ra)
	ne.PutUint32(id[40:], noCookie)
	ne.PutUint32(id[44:], noCookie)
	return b
}

func putAddr(b []byte, a netip.Addr) {
	if a.Is4() {
		v := a.As4()
		copy(b, v[:])
		return
	}
	v := a.As16()
	copy(b, v[:])
}

// decodeReply reads the kernel's answer to request seq. mine is false
// for messages answering another request; found is false for ENOENT. Any
// length that does not fit is an error, never a read past the datagram.
func decodeReply(b []byte, seq uint32) (e diagEntry, found, mine bool, err error) {
	ne := binary.NativeEndian
	for len(b) >= nlHdrLen {
		l := int(ne.Uint32(b[0:]))
		typ := ne.Uint16(b[4:])
		if l < nlHdrLen || l > len(b) {
			return e, false, true, fmt.Errorf("socket diagnostics: netlink message of %d bytes in a datagram of %d", l, len(b))
		}
		msg := b[nlHdrLen:l]
		s := ne.Uint32(b[8:])
		b = b[min((l+3)&^3, len(b)):]
		if s != seq {
			continue
		}
		switch typ {
		case unix.NLMSG_ERROR:
			if len(msg) < 4 {
				return e, false, true, errors.New("socket diagnostics: short error message")
			}
			errno := syscall.Errno(-int32(ne.Uint32(msg)))
			if errno == 0 || errno == unix.ENOENT {
				return e, false, true, nil
			}
			return e, false, true, fmt.Errorf("socket diagnostics: %w", errno)
		case unix.NLMSG_DONE:
			return e, false, true, nil
		case sockDiagByFamily:
			if len(msg) < diagMsgLen {
				return e, false, true, fmt.Errorf("socket diagnostics: answer of %d bytes, want %d", len(msg), diagMsgLen)
			}
			e, err = decodeMsg(msg)
			return e, err == nil, true, err
		}
	}
	return e, false, false, nil
}

// decodeMsg reads a struct inet_diag_msg.
func decodeMsg(m []byte) (diagEntry, error) {
	ne := binary.NativeEndian
	e := diagEntry{family: m[0], state: m[1]}
	id := m[4 : 4+diagIDLen]
	sport, dport := binary.BigEndian.Uint16(id[0:]), binary.BigEndian.Uint16(id[2:])
	var src, dst netip.Addr
	switch e.family {
	case unix.AF_INET:
		src, dst = netip.AddrFrom4([4]byte(id[4:8])), netip.AddrFrom4([4]byte(id[20:24]))
	case unix.AF_INET6:
		src, dst = netip.AddrFrom16([16]byte(id[4:20])).Unmap(), netip.AddrFrom16([16]byte(id[20:36])).Unmap()
	default:
		return e, fmt.Errorf("socket diagnostics: answer of address family %d", e.family)
	}
	e.local, e.remote = netip.AddrPortFrom(src, sport), netip.AddrPortFrom(dst, dport)
	rest := m[4+diagIDLen:]
	e.uid, e.inode = ne.Uint32(rest[12:]), ne.Uint32(rest[16:])
	return e, nil
}
