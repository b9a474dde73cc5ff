// Package bpf owns the kernel filter of a live capture: Spec says which
// packets to keep (TCP service ports, DNS, VXLAN, Geneve), and Program
// builds the classic BPF program for a link type (Ethernet with up to two
// VLAN tags, raw IP, LINUX_SLL, LINUX_SLL2) with golang.org/x/net/bpf's
// assembler. ParseTcpdumpDDD reads a program tcpdump compiled (tcpdump
// -ddd EXPR) and checks it as the kernel would, for filters a Spec cannot
// say.
//
// The programs are generated here because the library that compiles
// filter expressions, gopacket's pcap (libpcap), needs cgo, which this
// program is built without. TestFilterAgainstTcpdump takes tcpdump as the
// oracle: over crafted packets in every framing, the generated program
// keeps exactly what tcpdump's own expression keeps.
package bpf
