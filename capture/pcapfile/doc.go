// Package pcapfile reads capture files. Reader reads one pcap or
// pcapng file, plain or gzip-compressed (told by its first bytes, never by
// its name), into capture.Frames without allocating per packet; Merge and
// ReadFiles merge many files (rotated, overlapping, standard input) into
// one capture in time order, holding few descriptors open. Writing is
// capture/savefile's.
//
// Reader is written here although gopacket's pcapgo reads both formats.
// Both read every capture of the shared corpus and of testdata/ to the same
// packets (TestLibraryReadsTheSame in library_test.go); they differ where a
// user notices (TestLibraryDamage, TestLibraryFeatures):
//
//   - Damage is located: "x: record 3 at byte 176: the record holds a
//     100-byte packet but the file ends after 30 of its bytes", where pcapgo
//     says "unexpected EOF" (and then io.EOF, a clean end to a loop that
//     stops there). A pcapng block whose length fields disagree stops the
//     read at that block; pcapgo, which never reads the trailing length,
//     loses its place and the packets after it, hands out a byte past the
//     packet, or, when only the trailing length is wrong, reads on (where
//     Reader gives up on packets that were whole).
//   - Drops: Drops counts isb_osdrop as well as isb_ifdrop. pcapgo reads
//     only isb_ifdrop: of the 53 drops the shared corpus's three-section
//     captures record it sees 11. A capture that lost packets is one whose
//     verdict cannot be pass.
//   - Interfaces keep one index across the sections of a pcapng file;
//     pcapgo's start again in each, and with its default options it drops,
//     without a word, packets whose link type is not the first interface's.
//   - Speed: per packet, medians of 12 interleaved runs on a 6 000-frame
//     file, 2 shared vCPUs (load average 10 to 12, which inflates both):
//     pcap 234 ns against pcapgo's 416, pcapng 280 against 487, pcap.gz
//     1.08 µs against 1.69, pcapng.gz 1.21 µs against 1.74. Neither
//     allocates per packet; per file Reader allocates about 1 KiB (its read
//     buffers are pooled), pcapgo 320 KiB for a pcap (a buffer sized by the
//     262144-byte snap length) and 70 KiB for a pcapng. Reading is a small
//     share of analyze's whole path (BenchmarkReadFiles in capture/flow:
//     about 1.45 µs a packet, reading included), so speed alone would not
//     decide.
//
// The figures come from
//
//	go test ./capture/pcapfile -run XXX -bench Library -benchmem
package pcapfile
