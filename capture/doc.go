// Package capture is where packets come in: a Frame is one link-layer frame
// from a Source (capture files, merged in time order, or a live capture), and
// Run is the one loop that drives any Source into a Sink (the analysis) and
// says what was read (Input), so that a file's evidence and a live
// capture's are described alike.
//
// Each concern has a package of its own below, and they do not know one
// another: pcapfile reads and writes pcap and pcapng files, afpacket
// captures from AF_PACKET rings, bpf builds kernel filters, flow decodes
// frames into TCP connections and DNS transactions, and hello reads the
// first bytes of a connection (a TLS ClientHello, an HTTP request). Nothing
// here knows about AWS: the packages report what the packets say, and the
// report package judges it.
package capture
