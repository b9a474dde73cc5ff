// Package host asks the operating system, and on EC2 the instance
// metadata service, what the commands need to know of the machine they
// run on: which interface the kernel would route a destination through
// (RouteInterface, by connecting a UDP socket, which sends nothing); how
// to give up root once the sockets and files are open (DropPrivileges, to
// a named user and that user's groups, as tcpdump -Z does; on Linux for
// every thread of the process); what the operating system is (OS, as
// uname -srm says); and which EC2 instance, account, region, zone, VPC and
// subnet the host is (EC2Identity, IMDSv2 with a short time limit), for
// the provenance of a report.
package host
