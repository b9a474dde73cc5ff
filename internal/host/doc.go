// Package host asks the operating system the two things capture and verify
// need from it: which interface the kernel would route a destination
// through (RouteInterface, by connecting a UDP socket, which sends
// nothing), and how to give up root once the sockets and files are open
// (DropPrivileges, to a named user and that user's groups, as tcpdump -Z
// does; on Linux for every thread of the process).
package host
