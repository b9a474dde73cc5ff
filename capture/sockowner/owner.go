package sockowner

import (
	"fmt"
	"strings"
)

// Status says what a lookup found.
type Status string

const (
	// StatusFound: the socket and the process holding it.
	StatusFound Status = "found"
	// StatusClosed: the connection was closed before the lookup: its
	// socket was gone, or left to the kernel (TIME_WAIT) with no owner.
	StatusClosed Status = "closed-before-lookup"
	// StatusNoSocket: no socket on this host for the 4-tuple while the
	// connection went on: forwarded (NAT) traffic, or another network
	// namespace's socket.
	StatusNoSocket Status = "no-socket"
	// StatusHidden: the socket was found, and its user, but no process
	// could be seen holding it (/proc/PID/fd of other users needs root).
	StatusHidden Status = "process-not-visible"
	// StatusNotLookedUp: the lookup queue was full, or the capture ended
	// before the lookup was made.
	StatusNotLookedUp Status = "not-looked-up"
	// StatusError: the kernel could not be asked.
	StatusError Status = "error"
)

// Side says which end of a connection is on this host.
type Side string

const (
	SideClient Side = "client"
	SideServer Side = "server"
)

// Owner is who had a connection's local socket. The zero Owner (Status
// "") means neither end is an address of this host: nothing to say.
type Owner struct {
	Status Status
	Side   Side
	// TCPState is the socket's state at the lookup (SYN-SENT,
	// ESTABLISHED, TIME-WAIT...), "" when no socket was found.
	TCPState string
	UID      int64 // -1 when unknown
	User     string
	PID      int
	Comm     string // /proc/PID/comm
	Exe      string // /proc/PID/exe; "" when it could not be read
	// Cgroup is the process's cgroup v2 path (or v1's systemd one); Unit
	// the systemd unit in it (app.service, session-2.scope) and Container
	// a container ID (docker, containerd, CRI-O, podman) when it names one.
	Cgroup    string
	Unit      string
	Container string
	Err       string // for StatusError
}

// Known reports whether there is something to say about the owner.
func (o Owner) Known() bool { return o.Status != "" }

// By says who owned the connection, to follow the connection in a
// sentence: "by pid 4242 (java, unit app.service)", "by a process that
// closed it before lookup", "with no socket on this host (...)".
func (o Owner) By() string {
	switch o.Status {
	case StatusFound:
		return "by " + o.Words()
	case StatusHidden:
		return "by a process of user " + o.userWords() + " (not visible)"
	case StatusClosed:
		return "by a process that closed it before lookup"
	case StatusNoSocket:
		return "with no socket on this host (forwarded, or another network namespace's)"
	case StatusNotLookedUp:
		return "(its process was not looked up)"
	case StatusError:
		return "(its process could not be looked up: " + o.Err + ")"
	}
	return ""
}

// Words says in a few words who owned the connection, for a table: "pid
// 4242 (java, unit app.service)", "user app (not visible)", "closed
// before lookup".
func (o Owner) Words() string {
	switch o.Status {
	case StatusFound:
		var in []string
		if o.Comm != "" {
			in = append(in, clean(o.Comm))
		}
		switch {
		case o.Container != "":
			in = append(in, "container "+short(o.Container))
		case o.Unit != "":
			in = append(in, "unit "+clean(o.Unit))
		case o.User != "":
			in = append(in, "user "+clean(o.User))
		}
		if len(in) == 0 {
			return fmt.Sprintf("pid %d", o.PID)
		}
		return fmt.Sprintf("pid %d (%s)", o.PID, strings.Join(in, ", "))
	case StatusHidden:
		return "user " + o.userWords() + " (not visible)"
	case StatusClosed:
		return "closed before lookup"
	case StatusNoSocket:
		return "no socket here"
	case StatusNotLookedUp:
		return "not looked up"
	case StatusError:
		return "lookup failed"
	}
	return ""
}

func (o Owner) userWords() string {
	switch {
	case o.User != "":
		return clean(o.User)
	case o.UID >= 0:
		return fmt.Sprint(o.UID)
	}
	return "unknown"
}

// short is a container ID as docker ps shows it.
func short(id string) string {
	if len(id) > 12 {
		return id[:12]
	}
	return id
}

// clean keeps printable ASCII: a command name is whatever the process
// set.
func clean(s string) string {
	for i := 0; i < len(s); i++ {
		if s[i] < 0x20 || s[i] > 0x7e {
			return fmt.Sprintf("%q", s)
		}
	}
	return s
}

// tcpStates names the kernel's TCP states (include/net/tcp_states.h).
var tcpStates = [...]string{1: "ESTABLISHED", 2: "SYN-SENT", 3: "SYN-RECV", 4: "FIN-WAIT-1", 5: "FIN-WAIT-2",
	6: "TIME-WAIT", 7: "CLOSE", 8: "CLOSE-WAIT", 9: "LAST-ACK", 10: "LISTEN", 11: "CLOSING", 12: "NEW-SYN-RECV"}

func tcpState(s uint8) string {
	if int(s) < len(tcpStates) && tcpStates[s] != "" {
		return tcpStates[s]
	}
	return fmt.Sprintf("state %d", s)
}
