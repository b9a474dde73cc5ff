// Package savefile saves a live capture's packets as tcpdump users expect
// them saved: -w NAME writes pcapng when the name ends in .pcapng and pcap
// otherwise, gzip-compressed when it ends in .gz, and "-" writes pcap to
// standard output; -C starts a new file past a size, -G at each period
// (strftime conversions in the name), -W keeps a ring of files (with -C)
// or stops after that many (with -G); -U writes each packet as it comes.
// Each file is complete when closed (header, whole records, the end of the
// gzip stream), readable by tshark and by capture/pcapfile, and listed
// with its SHA-256 and packet count (Writer.Files). The records go through
// gopacket's pcapgo encoders.
//
// Names follow tcpdump's (tcpdump.c, MakeFilename): with -C, the first
// file is NAME and the next NAME1, NAME2 ...; with -W N the numbers are
// padded to the digits of N-1 and start at 0 (NAME0 ... NAME2 for -W 3),
// and the ring begins again at NAME0. With -G the name is expanded with
// the period's start in local time, and the number count starts again at
// each period. Unlike tcpdump, -G rotates on a timer, also when no packet
// comes, so that a quiet hour still leaves its (empty) file and -G -W ends
// on time; and the size -C compares is the uncompressed size, as tcpdump
// compares the size before its -z compression.
package savefile
