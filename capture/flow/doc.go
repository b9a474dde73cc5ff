// Package flow turns frames into what the verdict is judged on. It owns the
// decoding (every supported link type, VLAN tags, VXLAN and Geneve
// decapsulation), IP defragmentation (IPv4 and IPv6, copying what it keeps,
// where gopacket's ip4defrag and ip6defrag keep layers that point into the
// read buffer the sources reuse, and expiring by packet time, where
// ip6defrag uses the wall clock), TCP connections with their state and
// history in Zeek's vocabulary
// (ConnState's S0, SF, REJ, ...; History's letters), the first bytes of
// each connection in order (TLS ClientHello, HTTP request, read by
// capture/hello), DNS as seen on the wire over UDP and TCP (parsed with
// miekg/dns), and the join of DNS answers to the connections whose server
// address they gave.
//
// Its state is bounded for captures of any length. Connections and DNS
// transactions are finished as the capture's clock passes their timeouts
// (Options: Zeek's inactivity and close delays, caps on how many are open)
// and streamed to Options.OnFlow and OnDNS; the reassembly buffers of all
// connections share one budget; the IP fragment table and the index of DNS
// names forget their oldest entries to take new ones. Whatever is lost or
// cut on the way is counted by name (Analyzer.Anomalies, after Zeek's
// weird.log), never dropped in silence.
//
// Decoding uses gopacket's DecodingLayerParser over layers allocated once,
// not gopacket.NewPacket, which builds a new Packet and its layers for
// every frame: on the same 1254-byte TCP frames the decoder took 270 ns and
// no allocation per frame, NewPacket 7.1 µs and 7 allocations (2.6 KiB),
// and NewPacket with Lazy and NoCopy 2.6 µs and 5 allocations (1.3 KiB)
// (medians of 8 runs on 2 shared vCPUs under load). Once a connection is
// known, the per-packet path (decode, flow lookup, state) allocates
// nothing: BenchmarkAnalyzer reports 0 B/op and 0 allocs/op, and
// BenchmarkReadFiles, reader included, 0 allocs/op.
//
//	go test ./capture/flow -run XXX -bench 'DecodeLibrary|Analyzer|ReadFiles' -benchmem
package flow
