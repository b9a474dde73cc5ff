// Package afpacket captures live traffic on Linux from AF_PACKET sockets
// through their TPACKET_V3 ring: the kernel writes packets into memory
// shared with the process, in blocks handed over when full or after
// BlockTimeout, so that a busy capture costs one poll per block instead of
// one system call per packet. Source reads any number of interfaces through
// one poll, runs the filter of capture/bpf in the kernel, drops loopback's
// outgoing copy of each packet there too, and reports the kernel's drops;
// on other systems Open fails and says to capture with tcpdump.
//
// It does not use gopacket's afpacket package, although that measured as
// fast (bench/live/README.md: 200 000 packets/s on loopback with no drops,
// at 3.2 % of a core, against 2.2 to 3.4 % for Source), because of what its
// TPacket does (gopacket v1.7.7, the version go.mod requires):
//
//   - It cannot be closed while a read blocks. TPacket.Close unmaps the
//     ring and closes the socket without taking the lock a read holds, and
//     ZeroCopyReadPacketData waits in pollForFirstPacket, which reads the
//     block status from the ring around each poll of the socket. With the
//     default poll timeout, none, closing the socket does not wake the
//     poll: the read was still blocked 3 s after Close. With a timeout, the
//     next status check faults ("unexpected fault address", SIGSEGV, in
//     v3wrapper.getStatus). Both were reproduced on loopback. The CLI must
//     stop on Ctrl-C while Next blocks.
//   - A read polls its one socket, so several interfaces need a goroutine
//     each and a hand-off per packet; Source polls all its sockets and an
//     eventfd (for Close) in one call. Binding to every interface (an empty
//     OptInterface) gives one socket, but not for a chosen few, and with one
//     framing for all.
//   - NewTPacket creates its socket for ETH_P_ALL (its default
//     OptProtocol), binds it and maps the ring before it returns, and only
//     then can the caller attach a filter (SetBPF), so packets the filter
//     would reject reach the ring in between (TestLibraryFilterAfterBind).
//     Source creates its socket for protocol 0, which receives nothing,
//     attaches the filter and the ring, then binds.
//
// Its TPacket does not give the packet type either (gopacket.CaptureInfo
// has no field for it, and the sll_pkttype the kernel writes is never
// read), so loopback's two copies of each packet cannot be told apart after
// the read; but that is no reason to keep the ring, since the kernel guard
// Source uses for it works through TPacket.SetBPF as well
// (TestLibraryLoopbackCopies).
//
// The load figures come from `go run ./bench/live` (root), the tests from
//
//	go test ./capture/afpacket -run Library -v
package afpacket
