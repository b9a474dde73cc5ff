// Package sockowner finds, during a live capture, which process owns each
// connection whose local end is on this host: its PID, command name,
// executable, user and cgroup (systemd unit or container).
//
// The capture's analysis tells a Tracker of each new connection as its
// first packet (the SYN) is seen (Observe). Observe never waits: it puts
// the 4-tuple in a bounded queue, or counts it as not looked up when the
// queue is full. One goroutine asks the kernel's socket diagnostics
// (netlink NETLINK_SOCK_DIAG, an exact inet_diag_req_v2 lookup by 4-tuple)
// for the socket's inode and UID, then finds the process holding that
// inode among the descriptors of /proc/PID/fd: first in the processes that
// owned sockets lately, then, when the last scan of every process began
// before the connection did, in a new scan (at most one each 250 ms, its
// map of inodes capped). The result is kept, capped, until the report
// joins it to the finished connection by 4-tuple and first-packet time
// (Owner).
//
// What a lookup can find:
//
//   - the owner (StatusFound);
//   - a socket no process holds any more (TIME_WAIT, or closed with data
//     unsent), or no socket while the connection had already ended:
//     StatusClosed, "closed before lookup";
//   - no socket while the connection went on: StatusNoSocket, traffic this
//     host forwards (NAT for containers or VMs) or a socket of another
//     network namespace;
//   - a socket whose process could not be seen: StatusHidden, when
//     /proc/PID/fd of other users cannot be read (after capture --user
//     dropped root), with the socket's user still known.
//
// The kernel answers socket diagnostics to any user, but reading another
// user's /proc/PID/fd needs root (or CAP_DAC_READ_SEARCH and
// CAP_SYS_PTRACE): after --user only the processes of that user are found;
// the others are named by their user. The Tracker reports that once
// (Warnings), not per connection.
//
// The netlink messages are encoded here with golang.org/x/sys/unix rather
// than with github.com/vishvananda/netlink: its SocketGet opens a netlink
// socket per call and allocates for each, and handles IPv4 only, where one
// socket kept open and a reused buffer do the job in two fixed-size
// structures.
package sockowner
