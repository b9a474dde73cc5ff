package report

import (
	"io"
	"time"
)

// Schema names the JSON contract a Report follows. Field names under it are
// stable: tools and auditors parse them.
const Schema = "vpce-verify/report/v1"

// Verdicts of a run.
const (
	Pass         = "pass"
	Fail         = "fail"
	Inconclusive = "inconclusive"
	Error        = "error"
)

// Report is the one result of an analysis: the text and the JSON renderings
// both come from it.
type Report struct {
	Schema  string `json:"schema"`
	Tool    Tool   `json:"tool"`
	Verdict string `json:"verdict"`
	// PartialVerdict is set when Verdict is "error" because an input could
	// not be read whole: it is what the packets that were read say.
	PartialVerdict string `json:"partial_verdict,omitempty"`
	Reason         string `json:"reason"`
	// Policy is what counted as a pass: "interface-endpoint" (default) or
	// "private" (a gateway endpoint proven by route tables passes too).
	Policy      string   `json:"policy"`
	GeneratedAt string   `json:"generated_at"`
	IPRanges    IPRanges `json:"ip_ranges"`
	Inputs      []Input  `json:"inputs"`
	Capture     *Capture `json:"capture,omitempty"`
	Probe       *Probe   `json:"probe,omitempty"`
	Summary     Summary  `json:"summary"`
	// Anomalies are what the analysis could not take in whole, counted,
	// as Zeek's weird.log lists them.
	Anomalies []Anomaly  `json:"anomalies"`
	Endpoints []Endpoint `json:"endpoints"`
	// Destinations lists the servers S3 connections went to, one row per
	// server and path, up to a cap; DestinationsOmitted counts the S3
	// connections to servers beyond it.
	Destinations        []Destination `json:"destinations"`
	DestinationsOmitted int           `json:"destinations_omitted"`
	// Violations lists in full the established S3 connections on a public
	// path (the ones that make the verdict fail), up to a cap.
	Violations        []Flow `json:"violations"`
	ViolationsOmitted int    `json:"violations_omitted"`
	DNS               []DNS  `json:"dns"`
	DNSOmitted        int    `json:"dns_omitted"`
	// Flows lists connections, S3 or not, up to a cap; FlowsOmitted counts
	// the rest (the verdict and the summary count all of them).
	Flows        []Flow   `json:"flows"`
	FlowsOmitted int      `json:"flows_omitted"`
	Warnings     []string `json:"warnings"`
	// WarningsDetail are the same warnings with their stable codes.
	WarningsDetail []Warning `json:"warnings_detail"`
	// Provenance says what made the report, where, from which files.
	Provenance *Provenance `json:"provenance,omitempty"`
	// Bundle describes the evidence bundle written with the report
	// (--evidence); nil without one.
	Bundle *Bundle `json:"evidence_bundle,omitempty"`
}

// Tool names the program that made the report.
type Tool struct {
	Name    string `json:"name"`
	Version string `json:"version"`
}

// IPRanges identifies the ip-ranges.json the classification used.
type IPRanges struct {
	SyncToken  string `json:"sync_token"`
	CreateDate string `json:"create_date"`
	Source     string `json:"source"`
	SHA256     string `json:"sha256"`
	// AgeDays is how many whole days old the snapshot was at AgeAt: the
	// capture's last connection or DNS transaction, else the report's
	// time; 0 for a snapshot created after it.
	AgeDays int    `json:"age_days"`
	AgeAt   string `json:"age_at"`
	future  bool   // created after AgeAt
}

// Input is one capture file (or a live capture) the evidence came from.
type Input struct {
	Name      string   `json:"name"`
	SHA256    string   `json:"sha256"`
	Size      int64    `json:"size"`
	Format    string   `json:"format"`
	Gzip      bool     `json:"gzip"`
	LinkTypes []string `json:"link_types"`
	Packets   uint64   `json:"packets"`
	Bytes     uint64   `json:"bytes"`
	// Drops is what the capturing system reported dropping; null when
	// unknown.
	Drops    *uint64 `json:"drops"`
	Complete bool    `json:"complete"`
	// Interrupted says the reading was stopped (Ctrl-C, SIGTERM) before
	// the input's end: not damage, but the rest was not examined.
	Interrupted bool    `json:"interrupted,omitempty"`
	Error       *string `json:"error"`
	// Note is what the input itself lacks, also given as a warning: for
	// tcpdump's text, that it has no TLS server names or payload.
	Note string `json:"note,omitempty"`
}

// Capture describes a live capture: where and how it ran.
type Capture struct {
	Interfaces []string `json:"interfaces"`
	Filter     string   `json:"filter"`
	SnapLen    int      `json:"snaplen"`
	Started    string   `json:"started"`
	Stopped    string   `json:"stopped"`
	StopReason string   `json:"stop_reason"`
	// ProcessAttribution says whether the owners of the connections were
	// looked up: "socket diagnostics and /proc", "off (...)", or why it
	// was not available.
	ProcessAttribution string `json:"process_attribution,omitempty"`
	// Written is the -w name as given: a file, a strftime pattern (-G)
	// or "-" (standard output).
	Written string `json:"written,omitempty"`
	// WrittenSHA256 is the hash of the file written, once closed, when
	// there was one file; each file's is in Files.
	WrittenSHA256 string `json:"written_sha256,omitempty"`
	// Files are the files -w wrote, oldest first, each closed whole: one
	// without rotation; with -C, -G and -W those still on disk.
	Files []WrittenFile `json:"files,omitempty"`
	// FilesOverwritten counts files written and then written over by a
	// later one of the same name (the -C -W ring); FilesNotListed the
	// oldest files beyond the cap of the list.
	FilesOverwritten uint64 `json:"files_overwritten,omitempty"`
	FilesNotListed   uint64 `json:"files_not_listed,omitempty"`
}

// WrittenFile is one file a live capture wrote (-w).
type WrittenFile struct {
	Name    string `json:"name"`
	Format  string `json:"format"` // pcap or pcapng
	Gzip    bool   `json:"gzip"`
	Started string `json:"started"`
	Size    int64  `json:"size"` // bytes as stored (compressed when gzip)
	// SHA256 is the digest of the bytes as stored, taken as they were
	// written; "" when the file could not be written whole (Error).
	SHA256  string  `json:"sha256"`
	Packets uint64  `json:"packets"`
	Error   *string `json:"error"`
}

// Probe is what verify did: the name it resolved, where the answer came
// from, and the TLS connections it made, whose packets are among the flows.
type Probe struct {
	Name           string        `json:"name"`
	Resolver       string        `json:"resolver"`
	ResolverSource string        `json:"resolver_source"`
	Chain          []string      `json:"chain"`
	Answers        []ProbeAnswer `json:"answers"`
	Connections    []ProbeConn   `json:"connections"`
}

// ProbeAnswer is one address the probe's name resolved to.
type ProbeAnswer struct {
	Type string `json:"type"`
	Addr string `json:"addr"`
	TTL  uint32 `json:"ttl"`
}

// ProbeConn is one TLS connection the probe made.
type ProbeConn struct {
	Client string `json:"client"` // "" when the connection failed before it had a local port
	Server string `json:"server"`
	// Error is why the TCP or TLS handshake failed; "" when it completed.
	Error      string `json:"error,omitempty"`
	TLSVersion string `json:"tls_version,omitempty"`
	// CertificateVerified says whether the server's certificate chain
	// verified for the name; a failure is worth knowing (a TLS-intercepting
	// middlebox), not a failed connection.
	CertificateVerified bool   `json:"certificate_verified"`
	CertificateError    string `json:"certificate_error,omitempty"`
	CertificateSubject  string `json:"certificate_subject,omitempty"`
	CertificateIssuer   string `json:"certificate_issuer,omitempty"`
	// CertificateSHA256 is the SHA-256 of the server certificate's DER
	// bytes (its fingerprint).
	CertificateSHA256 string `json:"certificate_sha256,omitempty"`
	HTTPStatus        string `json:"http_status,omitempty"`
	// AmzRequestID and AmzID2 are the x-amz-request-id and x-amz-id-2
	// headers of the answer to HEAD / (--http): what AWS needs to find
	// the request.
	AmzRequestID string `json:"amz_request_id,omitempty"`
	AmzID2       string `json:"amz_id_2,omitempty"`
}

// Summary counts what the verdict rests on.
type Summary struct {
	Packets          uint64            `json:"packets"`
	TruncatedPackets uint64            `json:"truncated_packets"`
	MalformedPackets uint64            `json:"malformed_packets"`
	TunneledPackets  uint64            `json:"tunneled_packets"`
	Flows            int               `json:"flows"`
	S3Flows          int               `json:"s3_flows"`
	S3Established    int               `json:"s3_established"`
	S3FlowsByPath    map[string]int    `json:"s3_flows_by_path"`
	S3BytesByPath    map[string]uint64 `json:"s3_bytes_by_path"`
	DNSTransactions  int               `json:"dns_transactions"`
}

// Endpoint is a VPC endpoint the inventory (--endpoints) described, with
// what its settings mean for the host's traffic.
type Endpoint struct {
	ID                    string   `json:"id"`
	Type                  string   `json:"type"`
	Service               string   `json:"service"`
	PrivateDNS            *bool    `json:"private_dns"`
	PrivateDNSOnlyInbound *bool    `json:"private_dns_only_for_inbound_resolver_endpoint"`
	Addresses             []string `json:"addresses"`
	DNSNames              []string `json:"dns_names"`
	RouteTables           []string `json:"route_tables"`
	Meaning               string   `json:"meaning"`
}

// DNS is one DNS transaction seen in the capture.
type DNS struct {
	TS         string      `json:"ts"`
	Client     string      `json:"client"`
	Server     string      `json:"server"`
	Transport  string      `json:"transport"`
	ID         uint16      `json:"id"`
	QName      string      `json:"qname"`
	QType      string      `json:"qtype"`
	RCode      string      `json:"rcode"`
	Answers    []DNSAnswer `json:"answers"`
	Truncated  bool        `json:"truncated"`
	Incomplete bool        `json:"incomplete"`
	S3         bool        `json:"s3"`

	first time.Time // when its first message was seen: the order listed
	seq   int       // the order it was given, for ties
}

// DNSAnswer is one answer record; address records carry the path their
// address would take.
type DNSAnswer struct {
	Name string `json:"name"`
	Type string `json:"type"`
	Data string `json:"data"`
	TTL  uint32 `json:"ttl"`
	Path string `json:"path,omitempty"`
}

// Flow is one TCP connection and what it means.
type Flow struct {
	Client       string    `json:"client"`
	Server       string    `json:"server"`
	ConnState    string    `json:"conn_state"`
	Established  bool      `json:"established"`
	History      string    `json:"history"`
	FirstTS      string    `json:"first_ts"`
	LastTS       string    `json:"last_ts"`
	HandshakeRTT *float64  `json:"handshake_rtt_ms"`
	Packets      [2]uint64 `json:"packets"`
	Bytes        [2]uint64 `json:"bytes"`
	SNI          string    `json:"sni"`
	TLS          *TLS      `json:"tls"`
	HTTP         *HTTP     `json:"http"`
	DNSNames     []string  `json:"dns_names"`
	S3           bool      `json:"s3"`
	S3Evidence   []string  `json:"s3_evidence"`
	// S3Name is the S3 name the connection is about (proxy target, SNI,
	// Host or DNS name, in that order) and S3Kind its family.
	S3Name string `json:"s3_name,omitempty"`
	S3Kind string `json:"s3_kind,omitempty"`
	Path   string `json:"path"`
	// PathEvidence says why the path is what it is: endpoint-ip,
	// endpoint-eni, dns-inferred, sni-inferred, route-table, ip-ranges,
	// vpc-cidr, private-range or none.
	PathEvidence string  `json:"path_evidence"`
	EndpointID   string  `json:"endpoint_id,omitempty"`
	Route        string  `json:"route,omitempty"`
	AWS          *AWS    `json:"aws"`
	Tunnel       *Tunnel `json:"tunnel,omitempty"`
	Interface    string  `json:"interface,omitempty"`
	Truncated    uint64  `json:"truncated_packets"`
	// Probe marks the connection verify made itself.
	Probe bool `json:"probe,omitempty"`
	// Process is who owned the connection's end on this host, found
	// during a live capture; absent for files and for connections with
	// no end here.
	Process *Process `json:"process,omitempty"`

	first        time.Time // for the order of listed flows
	ifc, ifIndex int       // the capture interface, named when the report is finished
}

// Process is the owner of a connection's local socket, as the kernel's
// socket diagnostics and /proc said when its first packet was captured.
type Process struct {
	// Status is found, closed-before-lookup, no-socket (forwarded traffic,
	// or another network namespace), process-not-visible (the socket's
	// user is known, not its process: other users' /proc/PID/fd needs
	// root), not-looked-up or error.
	Status string `json:"status"`
	// Side says which end is on this host: client or server.
	Side     string `json:"side,omitempty"`
	TCPState string `json:"tcp_state,omitempty"`
	PID      int    `json:"pid,omitempty"`
	Comm     string `json:"comm,omitempty"`
	Exe      string `json:"exe,omitempty"`
	UID      *int64 `json:"uid,omitempty"`
	User     string `json:"user,omitempty"`
	// Cgroup is the cgroup path; Unit its systemd unit and Container its
	// container ID, when it names them.
	Cgroup    string `json:"cgroup,omitempty"`
	Unit      string `json:"unit,omitempty"`
	Container string `json:"container,omitempty"`
	Error     string `json:"error,omitempty"`
}

// Anomaly is one kind of thing the analysis could not take in whole: how
// often, and where first (the packet's number in the order read, and its
// time).
type Anomaly struct {
	Name        string `json:"name"`
	Count       uint64 `json:"count"`
	FirstPacket uint64 `json:"first_packet"`
	FirstTS     string `json:"first_ts"`
	// Blocking says it could hide a connection or a DNS answer: a pass
	// cannot rest on such evidence.
	Blocking bool `json:"blocking"`
}

// HTTP is what the first HTTP/1.x request of a connection said.
type HTTP struct {
	Request string `json:"request"` // complete, incomplete, malformed
	Method  string `json:"method"`
	Host    string `json:"host"`
	Target  string `json:"target"`
	// ProxyTarget is host:port a proxy was asked for: the CONNECT
	// authority, or the host of an absolute-form URI.
	ProxyTarget string `json:"proxy_target,omitempty"`
	// LaterHosts are the other hosts later requests on a keep-alive
	// connection to a proxy asked for.
	LaterHosts []string `json:"later_hosts,omitempty"`
}

// Destination is one server S3 connections went to, and what went there.
type Destination struct {
	Server         string    `json:"server"`
	Path           string    `json:"path"`
	PathEvidence   string    `json:"path_evidence"`
	EndpointID     string    `json:"endpoint_id,omitempty"`
	AWS            *AWS      `json:"aws"`
	S3Names        []string  `json:"s3_names"`
	S3NamesOmitted int       `json:"s3_names_omitted,omitempty"`
	Connections    int       `json:"connections"`
	Established    int       `json:"established"`
	Bytes          [2]uint64 `json:"bytes"`
	FirstTS        string    `json:"first_ts"`
	LastTS         string    `json:"last_ts"`

	first, last time.Time
}

// TLS is what the ClientHello of a flow said.
type TLS struct {
	ClientHello string   `json:"client_hello"` // complete, incomplete, not-tls, malformed
	ALPN        []string `json:"alpn,omitempty"`
	Versions    []string `json:"versions,omitempty"`
	ECH         bool     `json:"ech"`
	// InTunnel marks a ClientHello sent inside an HTTP CONNECT tunnel: its
	// SNI names what the proxy was asked for.
	InTunnel bool   `json:"in_tunnel,omitempty"`
	Error    string `json:"error,omitempty"`
}

// AWS is where an address sits in ip-ranges.json.
type AWS struct {
	Services           []string `json:"services"`
	Region             string   `json:"region"`
	Prefix             string   `json:"prefix"`
	NetworkBorderGroup string   `json:"network_border_group"`
}

// Tunnel is the encapsulation a flow was captured in (Traffic Mirroring,
// Gateway Load Balancer).
type Tunnel struct {
	Type     string `json:"type"`
	VNI      uint32 `json:"vni"`
	OuterSrc string `json:"outer_src"`
	OuterDst string `json:"outer_dst"`
}

// WriteJSON writes the report as indented JSON.
func (r *Report) WriteJSON(w io.Writer) error { return writeStreamed(w, r) }

// Bundle describes an evidence bundle (--evidence): what its pcapng holds
// and what the packets in it say when analysed again.
type Bundle struct {
	// Packets is "all" (--evidence-all: the whole capture) or
	// "selected": for each S3 connection kept, its DNS exchange,
	// handshake, first data packets each way and close.
	Packets string `json:"packets"`
	// Connections counts the S3 connections whose packets were kept,
	// ConnectionsOmitted those that were not (beyond the bounds per
	// destination); PacketsWritten the packets in evidence.pcapng.
	Connections        int    `json:"connections"`
	ConnectionsOmitted int    `json:"connections_omitted"`
	PacketsWritten     uint64 `json:"packets_written"`
	// Reanalysis is the verdict the packets of evidence.pcapng give when
	// analysed again with the same settings, as vpce-verify evidence
	// check does; ReanalysisNote says why it differs from the report's
	// verdict, when it does.
	Reanalysis     string `json:"reanalysis_verdict"`
	ReanalysisNote string `json:"reanalysis_note,omitempty"`
}
