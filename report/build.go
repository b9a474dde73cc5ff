package report

import (
	"fmt"
	"net/netip"
	"slices"
	"strings"
	"time"

	"github.com/vpce-verify/vpce-verify/capture/flow"
	"github.com/vpce-verify/vpce-verify/capture/sockowner"

	"github.com/vpce-verify/vpce-verify/capture"
	"github.com/vpce-verify/vpce-verify/capture/tcpdumptext"
	"github.com/vpce-verify/vpce-verify/resolve"
	"github.com/vpce-verify/vpce-verify/resolve/inventory"
	"github.com/vpce-verify/vpce-verify/resolve/ipranges"
	"github.com/vpce-verify/vpce-verify/resolve/s3name"
)

// Policies: what counts as a private path for the verdict.
const (
	// PolicyInterfaceEndpoint passes only traffic to interface endpoints.
	PolicyInterfaceEndpoint = "interface-endpoint"
	// PolicyPrivate also passes public S3 addresses reached through a
	// gateway endpoint, when route tables prove the gateway route.
	PolicyPrivate = "private"
)

// Evidence is what was captured besides the connections and DNS
// transactions the Builder was given: what the analysis counted, and where
// the packets came from.
type Evidence struct {
	Stats flow.Stats
	// Anomalies are what the analysis could not take in whole (weird.log's
	// kind of list); those that could hide S3 evidence keep a pass from
	// being one.
	Anomalies  []flow.Anomaly
	Inputs     []capture.Input
	Interfaces []capture.Interface
	// Capture describes a live capture; nil for files.
	Capture *Capture
	// Provenance is what the command knows of the run (version, command
	// line, host, settings, the hashes of the files besides the
	// captures); the report completes it with the capture window and the
	// captures' hashes. nil: the report has none.
	Provenance *Provenance
}

// Config is what the classification and the verdict rest on besides the
// packets.
type Config struct {
	Classifier *resolve.Classifier
	Ranges     *ipranges.Ranges
	Inventory  *inventory.Inventory // may be nil
	// EndpointIPs are the --endpoint-ip addresses. With them, or with
	// interface endpoint addresses in the Inventory, the inventory is the
	// truth: a private address it does not list is never an endpoint.
	EndpointIPs []netip.Addr
	Policy      string // PolicyInterfaceEndpoint when empty
	Now         time.Time
	Version     string
	Limits      Limits
	// ConnLog, when not nil, gets every connection as it is judged
	// (--conn-log).
	ConnLog *ConnLog
	// Owners, during a live capture, says which process owned each
	// connection with an end on this host; nil for files, where nothing
	// can.
	Owners *sockowner.Tracker
	// Extra warnings to report (from the command line: an unusable
	// ip-ranges cache, the host's resolver files, and so on).
	Warnings []Warning
	// OnConn, when not nil, is told of every connection as it is judged,
	// after the report took it in (an evidence bundle selects packets by
	// it). It must not keep f or j.
	OnConn func(f *flow.Flow, j *Judged)
}

// Limits bound what a report lists; what is beyond them is counted, and
// the verdict always rests on every connection.
type Limits struct {
	Flows        int // connections listed in flows (DefaultLimits: 10,000)
	Violations   int // S3 connections on a public path listed in full
	Destinations int // rows of the destinations table
	DNS          int // DNS transactions listed
}

// DefaultLimits are large enough for any ordinary capture and keep the
// report of a million connections to a few megabytes.
var DefaultLimits = Limits{Flows: 10000, Violations: 1000, Destinations: 1000, DNS: 10000}

func (l Limits) orDefault() Limits {
	d := DefaultLimits
	if l.Flows > 0 {
		d.Flows = l.Flows
	}
	if l.Violations > 0 {
		d.Violations = l.Violations
	}
	if l.Destinations > 0 {
		d.Destinations = l.Destinations
	}
	if l.DNS > 0 {
		d.DNS = l.DNS
	}
	return d
}

// maxRangesAge is how old an ip-ranges snapshot may be before the report
// says so: AWS adds ranges every week.
const maxRangesAge = 30 * 24 * time.Hour

func ipRanges(r *ipranges.Ranges, at time.Time) IPRanges {
	return IPRanges{
		SyncToken:  r.SyncToken,
		CreateDate: r.CreateDate.Format(ipranges.CreateDateLayout),
		Source:     r.Source,
		SHA256:     r.SHA256,
		AgeDays:    ageDays(r, at),
		AgeAt:      ts(at),
		future:     r.CreateDate.After(at),
	}
}

// ageDays is how many whole days old r was at at: 0 for a snapshot
// created after it (a capture analysed with a newer snapshot), never less.
func ageDays(r *ipranges.Ranges, at time.Time) int {
	return max(0, int(at.Sub(r.CreateDate).Hours()/24))
}

// StaleRanges returns the warning every command gives when the
// ip-ranges.json in use is more than 30 days old at now, or "".
func StaleRanges(r *ipranges.Ranges, now time.Time) string {
	if now.Sub(r.CreateDate) <= maxRangesAge {
		return ""
	}
	return fmt.Sprintf("the ip-ranges.json in use (%s, created %s) is %d days old: addresses AWS added since may show as public-non-aws; run vpce-verify ranges update",
		r.Source, r.CreateDate.Format("2006-01-02"), ageDays(r, now))
}

// staleAtCapture is StaleRanges for a capture whose last packet was at
// last: what matters is what AWS had added by then, not by today (an old
// capture analysed with the snapshot of its day is not stale).
func staleAtCapture(r *ipranges.Ranges, last time.Time) string {
	if last.Sub(r.CreateDate) <= maxRangesAge {
		return ""
	}
	return fmt.Sprintf("the ip-ranges.json in use (%s, created %s) was %d days old at the capture's last packet (%s): addresses AWS added in between may show as public-non-aws; run vpce-verify ranges update, or give a snapshot of the capture's time with --ip-ranges",
		r.Source, r.CreateDate.Format("2006-01-02"), ageDays(r, last), last.UTC().Format("2006-01-02"))
}

// Builder makes a Report from connections given one at a time, as they
// finish: what it keeps is bounded by Limits, whatever the number of
// connections, and the verdict rests on all of them.
type Builder struct {
	cfg Config
	// inventory is set when the user said which addresses the interface
	// endpoint has: then no private address is inferred to be one.
	inventory bool
	probe     *Probe
	probes    map[netip.AddrPort]netip.AddrPort // the probe's connections: client -> server
	// resolved are the names verify resolved itself, by address.
	resolved map[netip.Addr][]string
	// echNames are names whose DNS HTTPS answers offered an ECH config.
	echNames map[string]bool
	// parsed caches what parseName said of a name.
	parsed map[string]parsedName
	// lastTS is the time of the latest connection or DNS transaction
	// given: the capture's time, at which the snapshot's age counts.
	lastTS time.Time

	t    tally
	warn warnings
}

// maxECHNames bounds the names remembered for the ECH warning.
const maxECHNames = 10000

// NewBuilder prepares a report for cfg; probe is verify's, or nil (SetProbe
// may give it later).
func NewBuilder(cfg Config, probe *Probe) *Builder {
	if cfg.Policy == "" {
		cfg.Policy = PolicyInterfaceEndpoint
	}
	cfg.Limits = cfg.Limits.orDefault()
	b := &Builder{
		cfg: cfg, probe: probe,
		inventory: len(cfg.EndpointIPs) > 0 || hasEndpointAddresses(cfg.Inventory),
		probes:    map[netip.AddrPort]netip.AddrPort{},
		resolved:  map[netip.Addr][]string{},
		echNames:  map[string]bool{},
		parsed:    map[string]parsedName{},
	}
	b.t.init(cfg.Limits)
	b.SetProbe(probe)
	return b
}

// AddWarnings adds warnings known only once the connections are being
// given (verify's, from its lookup).
func (b *Builder) AddWarnings(w ...Warning) { b.cfg.Warnings = append(b.cfg.Warnings, w...) }

// SetProbe tells the builder what verify resolved and dialled, before the
// probe's connections are given (they end with the capture): its answers
// count as DNS answers seen before them, and they are marked as the
// probe's.
func (b *Builder) SetProbe(probe *Probe) {
	if probe == nil {
		return
	}
	b.probe = probe
	for _, a := range probe.Answers {
		if addr, err := netip.ParseAddr(a.Addr); err == nil {
			b.resolved[addr.Unmap()] = probe.Chain
		}
	}
	for _, c := range probe.Connections {
		client, err1 := netip.ParseAddrPort(c.Client)
		server, err2 := netip.ParseAddrPort(c.Server)
		if err1 == nil && err2 == nil {
			b.probes[client] = server
		}
	}
}

// AddDNS records one DNS transaction seen on the wire.
func (b *Builder) AddDNS(tx *flow.DNSTransaction) {
	if at := tx.TS(); at.After(b.lastTS) {
		b.lastTS = at
	}
	_, s3 := b.parseName(tx.QName)
	for _, a := range tx.Answers {
		if !s3 {
			_, s3 = b.parseName(a.Name)
		}
		if a.ECH && len(b.echNames) < maxECHNames {
			b.echNames[strings.ToLower(a.Name)] = true
		}
	}
	// Only what the report lists is rendered.
	if b.t.countDNS(s3) {
		b.t.addDNS(b.dns(tx, s3))
	}
}

// AddFlow judges one finished connection and adds it to the report. The
// flow's DNSNames must be filled in.
func (b *Builder) AddFlow(f *flow.Flow) {
	names := f.DNSNames
	if extra := b.resolved[f.Server.Addr().Unmap()]; len(extra) > 0 {
		names = slices.Clone(names)
		for _, n := range extra {
			if !slices.Contains(names, n) {
				names = append(names, n)
			}
		}
	}
	if f.LastTS.After(b.lastTS) {
		b.lastTS = f.LastTS
	}
	c := b.judge(f, names)
	if b.cfg.Owners != nil {
		c.owner = b.cfg.Owners.Owner(f.Client, f.Server, f.FirstTS, f.LastTS)
	}
	if b.cfg.ConnLog != nil {
		b.cfg.ConnLog.write(f, &c, names)
	}
	b.t.flows++
	if c.s3 {
		b.connWarnings(f, &c)
	} else if c.unread != readWhole {
		b.warn.about("connection-unread", c.client.String()+" -> "+c.server.String(), unreadWords[c.unread].warning)
	}
	listed := b.t.listFlow()
	violation := c.s3 && c.established && b.leak(c.path)
	var out *Flow
	if listed || (violation && b.t.listViolation()) {
		fl := b.flowJSON(f, &c, names)
		out = &fl
	}
	b.t.add(&c, out, listed, violation, f)
	if b.cfg.OnConn != nil {
		b.cfg.OnConn(f, &Judged{S3: c.s3, Established: c.established, Leak: violation, Path: string(c.path), Unread: unreadWords[c.unread].label, c: &c, b: b})
	}
}

// leak reports whether an established S3 connection on path proves that
// S3 traffic bypassed the endpoint under the policy.
func (b *Builder) leak(p resolve.Path) bool {
	switch p {
	case resolve.PathPublicAWS, resolve.PathPublicNonAWS:
		return true
	case resolve.PathGatewayEndpoint:
		return b.cfg.Policy != PolicyPrivate
	}
	return false
}

// allowed reports whether path counts as private under the policy.
func allowed(policy string, p resolve.Path) bool {
	switch p {
	case resolve.PathInterfaceEndpoint:
		return true
	case resolve.PathGatewayEndpoint:
		return policy == PolicyPrivate
	}
	return false
}

// rangesAt is the time the ip-ranges snapshot's age is counted at: the
// capture's last connection or DNS transaction, or now when there was none
// (the snapshot is what this run classifies with).
func (b *Builder) rangesAt() time.Time {
	if b.lastTS.IsZero() || b.undated() {
		return b.cfg.Now
	}
	return b.lastTS
}

// undated reports whether the capture's times carry no date: tcpdump text
// printed without -tttt is placed on 1970-01-01, and so is a capture made
// on a machine whose clock was never set. The snapshot's age then counts
// today, the only date there is.
func (b *Builder) undated() bool { return !b.lastTS.IsZero() && b.lastTS.Year() < 2000 }

// Report finishes the report: the verdict, then the renderable lists.
func (b *Builder) Report(ev Evidence) *Report {
	cfg := b.cfg
	r := &Report{
		Schema:      Schema,
		Tool:        Tool{Name: "vpce-verify", Version: cfg.Version},
		Policy:      cfg.Policy,
		GeneratedAt: ts(cfg.Now),
		IPRanges:    ipRanges(cfg.Ranges, b.rangesAt()),
		Inputs:      []Input{},
		Capture:     ev.Capture,
		Probe:       b.probe,
		Anomalies:   []Anomaly{},
		Endpoints:   endpoints(cfg.Inventory),
		Provenance:  b.provenance(ev.Provenance, ev.Inputs),
	}
	for _, in := range ev.Inputs {
		r.Inputs = append(r.Inputs, input(in))
	}
	stats := ev.Stats
	t := &b.t
	r.Summary = Summary{
		Packets:          stats.Packets,
		TruncatedPackets: stats.Truncated,
		MalformedPackets: stats.Malformed,
		TunneledPackets:  stats.Tunneled,
		Flows:            t.flows,
		S3Flows:          t.s3,
		S3Established:    t.s3Est,
		S3FlowsByPath:    map[string]int{},
		S3BytesByPath:    map[string]uint64{},
		DNSTransactions:  t.dnsCount,
	}
	for p, n := range t.byPath {
		r.Summary.S3FlowsByPath[string(p)] = n.conns
		r.Summary.S3BytesByPath[string(p)] = n.bytes
	}
	r.Flows = t.flowsOut
	sortFlows(r.Flows)
	sortFlows(t.violations)
	r.FlowsOmitted = t.flows - len(t.flowsOut)
	for i := range r.Flows {
		r.Flows[i].Interface = interfaceName(r.Flows[i].ifc, r.Flows[i].ifIndex, ev.Interfaces)
	}
	r.Violations = t.violations
	r.ViolationsOmitted = t.leaks - len(t.violations)
	for i := range r.Violations {
		r.Violations[i].Interface = interfaceName(r.Violations[i].ifc, r.Violations[i].ifIndex, ev.Interfaces)
	}
	r.Destinations, r.DestinationsOmitted = t.destinationList()
	r.DNS, r.DNSOmitted = t.dnsList()
	for _, an := range ev.Anomalies {
		r.Anomalies = append(r.Anomalies, Anomaly{Name: an.Name, Count: an.Count, FirstPacket: an.FirstPacket,
			FirstTS: ts(an.FirstTS), Blocking: blocking(an)})
	}

	b.inputWarnings(r, stats)
	r.Verdict, r.Reason = b.verdict(r)
	b.attemptWarnings()
	b.otherWarnings(r)
	r.WarningsDetail = append(b.warn.lines(), cfg.Warnings...)
	if cfg.Owners != nil {
		for _, w := range cfg.Owners.Warnings() {
			r.WarningsDetail = append(r.WarningsDetail, Warning{Code: "process-attribution", Message: w})
		}
	}
	r.Warnings = messages(r.WarningsDetail)
	return r
}

// blocking reports whether an anomaly keeps a pass from being one: it can
// hide a whole packet, and so a connection to a public address, or a DNS
// answer, and so the name that made a connection S3. A ClientHello cut
// (by the snap length or the reassembly budget) or a connection split by
// the table's bound hide nothing whole: the connection is still judged, by
// its address when its name is gone, and the report says so for it.
func blocking(an flow.Anomaly) bool {
	switch an.Name {
	case flow.AnomalyPacketTruncated, flow.AnomalyBudgetExhausted, flow.AnomalyFlowTableFull:
		return false
	}
	return an.Hides()
}

// interfaceName names the capture interface of a connection: the pcapng or
// live interface when there were several, else the interface index that a
// LINUX_SLL2 header (tcpdump -i any) carried.
func interfaceName(ifc, ifIndex int, ifaces []capture.Interface) string {
	if len(ifaces) > 1 && ifc >= 0 && ifc < len(ifaces) {
		return ifaces[ifc].Name
	}
	if ifIndex > 0 {
		return fmt.Sprintf("ifindex %d", ifIndex)
	}
	return ""
}

func ts(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format(time.RFC3339Nano)
}

func input(in capture.Input) Input {
	out := Input{
		Name: in.Name, SHA256: in.SHA256, Size: in.Size, Format: in.Format, Gzip: in.Gzip,
		LinkTypes: in.LinkTypes, Packets: in.Packets, Bytes: in.Bytes, Complete: in.Err == nil && !in.Interrupted,
		Interrupted: in.Interrupted, Note: in.Note,
	}
	if out.LinkTypes == nil {
		out.LinkTypes = []string{}
	}
	if in.DropsKnown {
		d := in.Drops
		out.Drops = &d
	}
	if in.Err != nil {
		s := in.Err.Error()
		out.Error = &s
	}
	return out
}

func aws(c resolve.Class) *AWS {
	if !c.InAWS {
		return nil
	}
	return &AWS{
		Services:           slices.Clone(c.AWS.Services),
		Region:             c.AWS.Region,
		Prefix:             c.AWS.Prefix.String(),
		NetworkBorderGroup: c.AWS.NetworkBorderGroup,
	}
}

func (b *Builder) dns(tx *flow.DNSTransaction, s3 bool) DNS {
	d := DNS{
		first: tx.QueryTS,
		TS:    ts(tx.TS()), Client: tx.Client.String(), Server: tx.Server.String(), Transport: tx.Transport,
		ID: tx.ID, QName: tx.QName, QType: tx.QType, RCode: tx.RCode, Answers: []DNSAnswer{},
		Truncated: tx.Truncated, Incomplete: tx.Incomplete,
	}
	if d.first.IsZero() {
		d.first = tx.ResponseTS
	}
	d.S3 = s3
	for _, a := range tx.Answers {
		ans := DNSAnswer{Name: a.Name, Type: a.Type, Data: a.Data, TTL: a.TTL}
		switch {
		case a.Addr.IsValid():
			ans.Data = a.Addr.String()
			ans.Path = string(answerPath(b.cfg.Classifier.Classify(a.Addr.Unmap()), d.S3, b.inventory))
		case a.Target != "":
			ans.Data = a.Target
		}
		d.Answers = append(d.Answers, ans)
	}
	return d
}

// flowJSON renders one judged connection.
func (b *Builder) flowJSON(f *flow.Flow, c *conn, names []string) Flow {
	out := Flow{
		Client:       f.Client.String(),
		Server:       f.Server.String(),
		ConnState:    c.state,
		Established:  c.established,
		History:      f.History(),
		FirstTS:      ts(f.FirstTS),
		LastTS:       ts(f.LastTS),
		Packets:      f.Packets(),
		Bytes:        c.bytes,
		SNI:          f.TLS.SNI,
		DNSNames:     slices.Clone(names),
		S3:           c.s3,
		S3Evidence:   c.evidence.words(),
		S3Name:       c.name,
		S3Kind:       c.kind,
		Path:         string(c.path),
		PathEvidence: c.basis,
		EndpointID:   c.class.Endpoint,
		Route:        c.class.Route,
		AWS:          aws(c.class),
		Truncated:    f.Truncated,
		Probe:        c.probe,
		ifc:          f.Interface,
		ifIndex:      f.IfIndex,
		Process:      process(c.owner),
	}
	if out.DNSNames == nil {
		out.DNSNames = []string{}
	}
	if f.HandshakeRTT > 0 {
		ms := float64(f.HandshakeRTT.Microseconds()) / 1000
		out.HandshakeRTT = &ms
	}
	if f.TLS.Hello != "" {
		t := &TLS{ClientHello: f.TLS.Hello, ALPN: f.TLS.ALPN, ECH: f.TLS.ECH, InTunnel: f.TLS.InTunnel, Error: f.TLS.Err}
		for _, v := range f.TLS.Versions {
			t.Versions = append(t.Versions, tlsVersion(v))
		}
		out.TLS = t
	}
	if h := f.HTTP; h.Request != "" && h.Request != flow.HTTPNotHTTP {
		out.HTTP = &HTTP{Request: h.Request, Method: h.Method, Host: h.Host, Target: h.Target}
		if h.ProxyHost != "" {
			out.HTTP.ProxyTarget = joinHostPort(h.ProxyHost, h.ProxyPort)
		}
		if l := h.LaterHosts(); len(l) > 0 {
			out.HTTP.LaterHosts = slices.Clone(l)
		}
	}
	if f.Tunnel != nil {
		out.Tunnel = &Tunnel{Type: f.Tunnel.Type, VNI: f.Tunnel.VNI, OuterSrc: f.Tunnel.OuterSrc.String(), OuterDst: f.Tunnel.OuterDst.String()}
	}
	return out
}

func joinHostPort(host string, port uint16) string {
	if strings.Contains(host, ":") {
		return fmt.Sprintf("[%s]:%d", host, port)
	}
	return fmt.Sprintf("%s:%d", host, port)
}

// connWarnings notes what a reader must know about one S3 connection;
// warnings about many connections are grouped.
func (b *Builder) connWarnings(f *flow.Flow, c *conn) {
	subject := c.client.String() + " -> " + c.server.String()
	for _, n := range c.seen() {
		switch {
		case n.kind == s3name.LegacyGlobal:
			b.warn.about("s3-global-name", subject, "used the global S3 name (s3.amazonaws.com): PrivateLink does not serve it, so this traffic cannot use an interface endpoint; configure the client for its region")
		case n.fips:
			b.warn.about("s3-fips-name", subject, "used an S3 FIPS name: PrivateLink does not serve FIPS endpoints")
		case n.kind == s3name.Accelerate:
			b.warn.about("s3-transfer-acceleration", subject, "used S3 Transfer Acceleration ("+clean(n.text)+"): it runs on the CloudFront edge network and no VPC endpoint carries it")
		case n.kind == s3name.MRAP:
			b.warn.about("s3-multi-region-access-point", subject, "used a Multi-Region Access Point ("+clean(n.text)+"): only an interface endpoint of com.amazonaws.s3-global.accesspoint carries it privately")
		case n.kind == s3name.Website:
			b.warn.about("s3-website-endpoint", subject, "used an S3 website endpoint ("+clean(n.text)+"): PrivateLink does not serve them")
		}
		cl := c.class
		if n.region != "" && cl.InAWS && cl.AWS.Region != "" && cl.AWS.Region != "GLOBAL" && n.region != cl.AWS.Region {
			b.warn.about("s3-region-mismatch", subject, fmt.Sprintf("used an S3 name for %s but the address is in %s (%s)", n.region, cl.AWS.Region, cl.AWS.Prefix))
		}
	}
	if c.otherName != "" {
		b.warn.about("s3-prefix-other-name", subject, fmt.Sprintf("named %s, not an S3 host, but its address is in %s, which only S3 uses: counted as S3", clean(c.otherName), c.class.AWS.Prefix))
	}
	if c.byAddressOnly && c.established && !s3Only(c.class.AWS) {
		b.warn.about("s3-by-address-only", subject, fmt.Sprintf("is counted as S3 by address only (%s, which S3 shares with other services): no server name was captured", c.class.AWS.Prefix))
	}
	switch {
	case f.TLS.ECH && !f.TLS.InTunnel:
		if b.echNames[strings.ToLower(f.TLS.SNI)] {
			b.warn.about("ech", subject, "used Encrypted Client Hello (the DNS offered an ECH config): the SNI is only the outer name")
		} else {
			b.warn.about("ech-extension", subject, "sent an Encrypted Client Hello extension; without an ECH config in the DNS it is most likely GREASE (Chromium sends one on every connection), but the SNI may be only an outer name")
		}
	case f.TLS.Hello == flow.HelloIncomplete && c.established:
		b.warn.about("client-hello-incomplete", subject, "carried a ClientHello that was not captured whole, so its SNI is unknown")
	}
	if c.established && c.inferred() {
		b.warn.addf("endpoint-inferred", "%s is taken for an interface endpoint only because %s pointed to it; give --endpoint-ip or --endpoints to make it certain",
			c.server.Addr(), inferredFrom(c))
	}
}

func inferredFrom(c *conn) string {
	switch c.basis {
	case evidenceSNIInferred:
		return "the endpoint name " + c.endpointName(evSNI).text + " (SNI)"
	case evidenceHostInferred:
		return "the endpoint name " + c.endpointName(evHTTPHost).text + " (HTTP Host)"
	}
	for _, n := range c.seen() {
		if n.from == evDNSName {
			return "a DNS answer for " + n.text
		}
	}
	return "a DNS answer"
}

func tlsVersion(v uint16) string {
	switch v {
	case 0x0300:
		return "SSL3.0"
	case 0x0301:
		return "TLS1.0"
	case 0x0302:
		return "TLS1.1"
	case 0x0303:
		return "TLS1.2"
	case 0x0304:
		return "TLS1.3"
	}
	return fmt.Sprintf("0x%04x", v)
}

// inputWarnings says what is missing from the evidence: damaged inputs,
// drops, packets cut or undecodable.
func (b *Builder) inputWarnings(r *Report, stats flow.Stats) {
	switch {
	case b.undated():
		if w := StaleRanges(b.cfg.Ranges, b.cfg.Now); w != "" {
			b.warn.addf("ip-ranges-stale", "%s (the capture's times carry no date, so its age is counted today)", w)
		}
	default:
		if w := staleAtCapture(b.cfg.Ranges, b.rangesAt()); w != "" {
			b.warn.addf("ip-ranges-stale", "%s", w)
		}
	}
	if n := stats.Truncated; n > 0 && !allText(r.Inputs) {
		b.warn.addf("snaplen", "%s cut by the snap length: SNI or DNS answers may be missing, so the verdict rests on addresses; capture with -s 0", plural(n, "packet"))
	}
	for _, in := range r.Inputs {
		if in.Note != "" {
			b.warn.addf("input-note", "%s", in.Note) // the note names the input
		}
		if in.Drops != nil && *in.Drops > 0 {
			b.warn.addf("capture-drops", "%s: the capturing system dropped %s: the evidence is incomplete", in.Name, countNoun(*in.Drops, "packet"))
		}
		if in.Error != nil {
			b.warn.addf("input-error", "%s", *in.Error) // the error names the input
		}
	}
	if n := stats.Malformed; n > 0 {
		b.warn.addf("malformed-packets", "%s not decode (malformed or cut before the TCP/UDP header)", countVerb(n, "packet", "does", "do"))
	}
}

// allText reports whether every input is tcpdump's text, whose segments
// all lack their payload: the snap length is not why.
func allText(inputs []Input) bool {
	for _, in := range inputs {
		if in.Format != tcpdumptext.Format {
			return false
		}
	}
	return len(inputs) > 0
}

// attemptWarnings lists the S3 connections that were not established,
// grouped by server and state: not traffic, but a user must hear about
// them (an S0 towards the endpoint is a security group or NACL problem).
func (b *Builder) attemptWarnings() {
	t := &b.t
	for _, k := range t.attemptOrder {
		a := t.attempts[k]
		what := "S3 address"
		if a.path == resolve.PathInterfaceEndpoint {
			what = "interface endpoint"
		}
		attempts, was := fmt.Sprintf("%d connection attempts", a.n), "were"
		if a.n == 1 {
			attempts, was = "1 connection attempt", "was"
		}
		switch k.state {
		case "S0", "SH", "RSTOS0":
			b.warn.addf("connection-unanswered", "%s to the %s %s %s never answered (%s): a security group or network ACL may be dropping them", attempts, what, k.server, was, k.state)
		case "REJ":
			b.warn.addf("connection-refused", "%s to the %s %s %s refused (REJ)", attempts, what, k.server, was)
		default:
			b.warn.addf("connection-not-established", "%s to the %s %s %s not established (%s)", attempts, what, k.server, was, k.state)
		}
	}
	if t.attemptsDropped > 0 {
		b.warn.addf("connection-not-established", "%s not established", plural(t.attemptsDropped, "more S3 connection attempt to other servers"))
	}
}

func (b *Builder) otherWarnings(r *Report) {
	if b.cfg.Inventory != nil {
		for _, w := range b.cfg.Inventory.Warnings {
			b.warn.addf("inventory", "%s", w)
		}
	}
	if p := r.Probe; p != nil {
		for _, c := range p.Connections {
			switch {
			case c.Error != "":
				b.warn.addf("probe-failed", "the probe connection to %s failed: %s", c.Server, c.Error)
			case !c.CertificateVerified:
				b.warn.addf("certificate-unverified", "the certificate of %s did not verify for %s (%s): a TLS-intercepting proxy or a wrong address is worth knowing about", c.Server, p.Name, c.CertificateError)
			}
		}
	}
}

// endpoints describes the inventory's S3 endpoints and what their settings
// mean for a host inside the VPC.
func endpoints(inv *inventory.Inventory) []Endpoint {
	out := []Endpoint{}
	if inv == nil {
		return out
	}
	for _, e := range inv.Endpoints {
		ep := Endpoint{
			ID: e.ID, Type: e.Type, Service: e.Service,
			PrivateDNSOnlyInbound: e.PrivateDNSOnlyForInboundResolverEndpoint,
			Addresses:             []string{}, DNSNames: slices.Clone(e.DNSNames), RouteTables: slices.Clone(e.RouteTableIDs),
		}
		if strings.EqualFold(e.Type, "Interface") {
			pd := e.PrivateDNSEnabled
			ep.PrivateDNS = &pd
		}
		for _, a := range e.Addresses {
			ep.Addresses = append(ep.Addresses, a.String())
		}
		if ep.DNSNames == nil {
			ep.DNSNames = []string{}
		}
		if ep.RouteTables == nil {
			ep.RouteTables = []string{}
		}
		ep.Meaning = meaning(e)
		out = append(out, ep)
	}
	return out // in ID order, as the inventory keeps them
}

// meaning says in plain words what an endpoint's DNS settings do to a host
// inside the VPC.
func meaning(e inventory.Endpoint) string {
	switch {
	case strings.EqualFold(e.Type, "Gateway"):
		if len(e.RouteTableIDs) == 0 {
			return "gateway endpoint with no route table: no subnet uses it"
		}
		return fmt.Sprintf("gateway endpoint: subnets using route tables %s reach public S3 addresses through it; other subnets go through their NAT or internet gateway", strings.Join(e.RouteTableIDs, ", "))
	case !strings.EqualFold(e.Type, "Interface"):
		return e.Type + " endpoint"
	case !e.PrivateDNSEnabled:
		return "interface endpoint without private DNS: only the endpoint-specific names (*.vpce-....s3.REGION.vpce.amazonaws.com) resolve to it; clients must be configured with such an endpoint URL, regional S3 names still resolve to public addresses"
	case e.PrivateDNSOnlyForInboundResolverEndpoint == nil:
		return "interface endpoint with private DNS; whether it is only for inbound resolver endpoints is not in the JSON (DnsOptions.PrivateDnsOnlyForInboundResolverEndpoint): if true, hosts in the VPC still get public answers"
	case *e.PrivateDNSOnlyForInboundResolverEndpoint:
		return "interface endpoint with private DNS only for inbound resolver endpoints: hosts inside the VPC still resolve S3 names to public addresses (and use the gateway endpoint if their route table has it); only queries from on-premises through a Route 53 Resolver inbound endpoint get the endpoint's private addresses"
	}
	return "interface endpoint with private DNS for the whole VPC: regional S3 names resolve to the endpoint's private addresses from hosts using the VPC resolver"
}

// plural says "1 thing was" or "3 things were".
func plural[N int | uint64](n N, thing string) string {
	return countVerb(n, thing, "was", "were")
}

// countVerb says "1 thing does" or "3 things do": the count, the noun
// and the verb agreeing with it.
func countVerb[N int | uint64](n N, thing, one, many string) string {
	if n == 1 {
		return countNoun(n, thing) + " " + one
	}
	return countNoun(n, thing) + " " + many
}

// countNoun says "1 TCP connection" or "3 TCP connections". The plural is
// that of the noun before an " of " or " to " ("2 lookups of S3 names"),
// else of the last word.
func countNoun[N int | uint64](n N, thing string) string {
	if n == 1 {
		return "1 " + thing
	}
	return fmt.Sprintf("%d %s", n, pluralNoun(thing))
}

// allOf says "all 3 things" or "the 1 thing", the subject of a sentence
// about every one of them.
func allOf(n int, thing string) string {
	if n == 1 {
		return "the 1 " + thing
	}
	return fmt.Sprintf("all %d %s", n, pluralNoun(thing))
}

// pluralNoun makes the plural of the words of countNoun: English's
// regular rules, which are all this program's nouns need.
func pluralNoun(thing string) string {
	head, tail := thing, ""
	for _, sep := range []string{" of ", " to "} {
		if i := strings.Index(thing, sep); i >= 0 {
			head, tail = thing[:i], thing[i:]
			break
		}
	}
	switch {
	case strings.HasSuffix(head, "s"), strings.HasSuffix(head, "x"):
		head += "es"
	case strings.HasSuffix(head, "y") && !strings.ContainsAny(head[len(head)-2:len(head)-1], "aeiou"):
		head = head[:len(head)-1] + "ies"
	default:
		head += "s"
	}
	return head + tail
}

func byteCount(n uint64) string {
	switch {
	case n < 1000:
		return fmt.Sprintf("%d B", n)
	case n < 1000*1000:
		return fmt.Sprintf("%.1f kB", float64(n)/1e3)
	case n < 1000*1000*1000:
		return fmt.Sprintf("%.1f MB", float64(n)/1e6)
	}
	return fmt.Sprintf("%.1f GB", float64(n)/1e9)
}

// process renders who owned a connection; nil when nothing is known
// (files, or neither end on this host).
func process(o sockowner.Owner) *Process {
	if !o.Known() {
		return nil
	}
	p := &Process{Status: string(o.Status), Side: string(o.Side), TCPState: o.TCPState, PID: o.PID, Comm: o.Comm,
		Exe: o.Exe, User: o.User, Cgroup: o.Cgroup, Unit: o.Unit, Container: o.Container, Error: o.Err}
	if o.UID >= 0 {
		uid := o.UID
		p.UID = &uid
	}
	return p
}
