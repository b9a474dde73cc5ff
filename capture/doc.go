// Package capture turns packets into evidence: it reads pcap and pcapng files
// (plain or gzip) and live AF_PACKET sockets, decodes link layers and tunnels
// (VXLAN, Geneve), tracks TCP connections in Zeek's vocabulary, reassembles
// the TLS ClientHello to recover the SNI, and collects the DNS transactions
// seen on the wire.
//
// capture knows nothing about AWS: it reports what the packets say, and the
// report package judges it.
package capture
