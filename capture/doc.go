// Package capture turns packets into evidence: it reads pcap and pcapng files
// (plain or gzip) and live AF_PACKET sockets, decodes link layers and tunnels
// (VXLAN, Geneve), tracks TCP connections in Zeek's vocabulary, reassembles
// each client's first bytes and reads them with package hello (the TLS
// ClientHello's SNI, an HTTP request's Host or proxy target, the hello
// inside a CONNECT tunnel), and collects the DNS transactions seen on the
// wire, joining their answers to the connections they led to.
//
// capture knows nothing about AWS: it reports what the packets say, and the
// report package judges it.
package capture
