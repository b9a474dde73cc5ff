package report

import (
	"fmt"
	"net/netip"
	"slices"
	"strings"
	"time"

	"github.com/vpce-verify/vpce-verify/capture"
	"github.com/vpce-verify/vpce-verify/resolve"
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

// Evidence is what was captured: the analysis of the packets and where they
// came from.
type Evidence struct {
	Result     *capture.Result
	Inputs     []capture.Input
	Interfaces []capture.FileInterface
	// Capture describes a live capture; nil for files.
	Capture *Capture
	// Probe is what verify resolved and dialled; nil otherwise. Its
	// answers count as DNS answers seen before its connections.
	Probe *Probe
}

// Config is what the classification and the verdict rest on besides the
// packets.
type Config struct {
	Classifier *resolve.Classifier
	Ranges     *resolve.Ranges
	Inventory  *resolve.Inventory // may be nil
	Policy     string             // PolicyInterfaceEndpoint when empty
	Now        time.Time
	Version    string
	// Extra warnings to report (from the command line: unreadable endpoint
	// files, and so on).
	Warnings []string
}

// maxRangesAge is how old an ip-ranges snapshot may be before the report
// says so: AWS adds ranges every week.
const maxRangesAge = 30 * 24 * time.Hour

func ipRanges(r *resolve.Ranges, now time.Time) IPRanges {
	return IPRanges{
		SyncToken:  r.SyncToken,
		CreateDate: r.CreateDate.Format(resolve.CreateDateLayout),
		Source:     r.Source,
		SHA256:     r.SHA256,
		AgeDays:    int(now.Sub(r.CreateDate).Hours() / 24),
	}
}

// StaleRanges returns the warning every command gives when the
// ip-ranges.json in use is more than 30 days old at now, or "".
func StaleRanges(r *resolve.Ranges, now time.Time) string {
	age := now.Sub(r.CreateDate)
	if age <= maxRangesAge {
		return ""
	}
	return fmt.Sprintf("the ip-ranges.json in use (%s, created %s) is %d days old: addresses AWS added since may show as public-non-aws; run vpce-verify ranges update",
		r.Source, r.CreateDate.Format("2006-01-02"), int(age.Hours()/24))
}

// Build joins the evidence with the classification into a Report.
func Build(ev Evidence, cfg Config) *Report {
	if cfg.Policy == "" {
		cfg.Policy = PolicyInterfaceEndpoint
	}
	res := ev.Result
	r := &Report{
		Schema:      Schema,
		Tool:        Tool{Name: "vpce-verify", Version: cfg.Version},
		Policy:      cfg.Policy,
		GeneratedAt: ts(cfg.Now),
		Capture:     ev.Capture,
		Probe:       ev.Probe,
		Endpoints:   []Endpoint{},
		DNS:         []DNS{},
		Flows:       []Flow{},
		Warnings:    []string{},
	}
	r.IPRanges = ipRanges(cfg.Ranges, cfg.Now)
	b := &builder{cfg: cfg, r: r, resolved: map[netip.Addr][]string{}}
	if p := ev.Probe; p != nil {
		for _, a := range p.Answers {
			if addr, err := netip.ParseAddr(a.Addr); err == nil {
				b.resolved[addr] = p.Chain
			}
		}
	}
	for _, in := range ev.Inputs {
		r.Inputs = append(r.Inputs, input(in))
	}
	for _, tx := range res.DNS {
		r.DNS = append(r.DNS, b.dns(tx))
	}
	for _, f := range res.Flows {
		fl := b.flow(f)
		if f.Interface >= 0 && f.Interface < len(ev.Interfaces) && len(ev.Interfaces) > 1 {
			fl.Interface = ev.Interfaces[f.Interface].Name
		}
		r.Flows = append(r.Flows, fl)
	}
	r.Endpoints = endpoints(cfg.Inventory)
	r.Summary = Summary{
		Packets:          res.Stats.Packets,
		TruncatedPackets: res.Stats.Truncated,
		MalformedPackets: res.Stats.Malformed,
		TunneledPackets:  res.Stats.Tunneled,
		Flows:            len(r.Flows),
		S3BytesByPath:    map[string]uint64{},
		DNSTransactions:  len(r.DNS),
	}
	for _, f := range r.Flows {
		if f.S3 {
			r.Summary.S3Flows++
			r.Summary.S3BytesByPath[f.Path] += f.Bytes[0] + f.Bytes[1]
			if f.Established {
				r.Summary.S3Established++
			}
		}
	}
	r.Verdict, r.Reason = b.verdict()
	b.warnings()
	// A damaged input makes the run an error whatever the packets said;
	// what they said stays in partial_verdict and the reason.
	for _, in := range r.Inputs {
		if in.Error != nil {
			r.PartialVerdict = r.Verdict
			r.Reason = fmt.Sprintf("input %s could not be read whole (%s); the packets read before that say %s: %s",
				in.Name, *in.Error, r.Verdict, r.Reason)
			r.Verdict = Error
			break
		}
	}
	r.Warnings = append(r.Warnings, b.warn...)
	r.Warnings = append(r.Warnings, cfg.Warnings...)
	return r
}

type builder struct {
	cfg  Config
	r    *Report
	warn []string
	// resolved are the names verify resolved itself, by address.
	resolved map[netip.Addr][]string
}

func (b *builder) warnf(format string, args ...any) {
	s := fmt.Sprintf(format, args...)
	if !slices.Contains(b.warn, s) {
		b.warn = append(b.warn, s)
	}
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
		LinkTypes: in.LinkTypes, Packets: in.Packets, Bytes: in.Bytes, Complete: in.Err == nil,
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

func (b *builder) dns(tx *capture.DNSTransaction) DNS {
	d := DNS{
		TS: ts(tx.TS()), Client: tx.Client.String(), Server: tx.Server.String(), Transport: tx.Transport,
		ID: tx.ID, QName: tx.QName, QType: tx.QType, RCode: tx.RCode, Answers: []DNSAnswer{},
		Truncated: tx.Truncated, Incomplete: tx.Incomplete,
	}
	_, d.S3 = s3name.Parse(tx.QName)
	for _, a := range tx.Answers {
		if _, ok := s3name.Parse(a.Name); ok {
			d.S3 = true
		}
	}
	for _, a := range tx.Answers {
		ans := DNSAnswer{Name: a.Name, Type: a.Type, Data: a.Data, TTL: a.TTL}
		switch {
		case a.Addr.IsValid():
			ans.Data = a.Addr.String()
			ans.Path, _ = inferredPath(b.cfg.Classifier.Classify(a.Addr.Unmap()), d.S3)
		case a.Target != "":
			ans.Data = a.Target
		}
		d.Answers = append(d.Answers, ans)
	}
	return d
}

// Why a flow is S3 (PRODUCT.md, "Which flows are S3").
const (
	evidenceSNI      = "sni"
	evidenceDNSName  = "dns-name"
	evidenceEndpoint = "endpoint-address"
	evidenceRange    = "aws-range"
)

func (b *builder) flow(f *capture.Flow) Flow {
	c := b.cfg.Classifier.Classify(f.Server.Addr())
	out := Flow{
		Client:       f.Client.String(),
		Server:       f.Server.String(),
		ConnState:    f.ConnState(),
		Established:  f.Established(),
		History:      f.History(),
		FirstTS:      ts(f.FirstTS),
		LastTS:       ts(f.LastTS),
		Packets:      f.Packets(),
		Bytes:        f.Bytes(),
		SNI:          f.TLS.SNI,
		DNSNames:     slices.Clone(f.DNSNames),
		S3Evidence:   []string{},
		Path:         string(c.Path),
		PathEvidence: c.Basis,
		EndpointID:   c.Endpoint,
		Route:        c.Route,
		AWS:          aws(c),
		Truncated:    f.Truncated,
	}
	for _, n := range b.resolved[f.Server.Addr()] {
		if !slices.Contains(out.DNSNames, n) {
			out.DNSNames = append(out.DNSNames, n)
		}
	}
	if out.DNSNames == nil {
		out.DNSNames = []string{}
	}
	if p := b.r.Probe; p != nil {
		for _, c := range p.Connections {
			if c.Client == out.Client && c.Server == out.Server {
				out.Probe = true
			}
		}
	}
	if f.HandshakeRTT > 0 {
		ms := float64(f.HandshakeRTT.Microseconds()) / 1000
		out.HandshakeRTT = &ms
	}
	if f.TLS.Hello != "" {
		t := &TLS{ClientHello: f.TLS.Hello, ALPN: f.TLS.ALPN, ECH: f.TLS.ECH, Error: f.TLS.Err}
		for _, v := range f.TLS.Versions {
			t.Versions = append(t.Versions, tlsVersion(v))
		}
		out.TLS = t
	}
	if f.Tunnel != nil {
		out.Tunnel = &Tunnel{Type: f.Tunnel.Type, VNI: f.Tunnel.VNI, OuterSrc: f.Tunnel.OuterSrc.String(), OuterDst: f.Tunnel.OuterDst.String()}
	}

	// Is it S3?
	sniName, sniS3 := s3name.Parse(f.TLS.SNI)
	if sniS3 {
		out.S3Evidence = append(out.S3Evidence, evidenceSNI)
	}
	var dnsS3 []s3name.Name
	for _, n := range out.DNSNames {
		if s, ok := s3name.Parse(n); ok {
			dnsS3 = append(dnsS3, s)
		}
	}
	if len(dnsS3) > 0 {
		out.S3Evidence = append(out.S3Evidence, evidenceDNSName)
	}
	if c.Path == resolve.PathInterfaceEndpoint && b.endpointIsS3(c.Endpoint) {
		out.S3Evidence = append(out.S3Evidence, evidenceEndpoint)
	}
	// An S3 prefix is often shared with EC2: a complete ClientHello naming
	// some other host outweighs the range.
	otherSNI := f.TLS.Hello == capture.HelloComplete && f.TLS.SNI != "" && !sniS3
	if c.InAWS && c.AWS.Has("S3") && !otherSNI {
		out.S3Evidence = append(out.S3Evidence, evidenceRange)
	}
	out.S3 = len(out.S3Evidence) > 0

	// A private address is an interface endpoint when the names that led
	// to it say so.
	if c.Path == resolve.PathPrivateOther && out.S3 {
		switch {
		case len(dnsS3) > 0:
			out.Path, out.PathEvidence = string(resolve.PathInterfaceEndpoint), evidenceDNSInferred
		case sniS3 && sniName.Kind == s3name.Endpoint:
			out.Path, out.PathEvidence = string(resolve.PathInterfaceEndpoint), evidenceSNIInferred
			out.EndpointID = sniName.EndpointID
		}
	}
	if out.S3 {
		b.nameWarnings(out, c, sniName, sniS3, dnsS3)
	}
	return out
}

// endpointIsS3 reports whether an endpoint address belongs to an S3
// endpoint: --endpoint-ip addresses are taken to be, inventory endpoints
// say their service.
func (b *builder) endpointIsS3(id string) bool {
	if e, ok := b.cfg.Inventory.Endpoint(id); ok {
		return e.IsS3()
	}
	return true
}

func (b *builder) nameWarnings(f Flow, c resolve.Class, sni s3name.Name, sniS3 bool, dnsNames []s3name.Name) {
	names := dnsNames
	if sniS3 {
		names = append([]s3name.Name{sni}, names...)
	}
	for _, n := range names {
		if n.Kind == s3name.LegacyGlobal {
			b.warnf("%s -> %s used the global S3 name (s3.amazonaws.com): PrivateLink does not serve it, so this traffic cannot use an interface endpoint; configure the client for its region", f.Client, f.Server)
		}
		if n.Region != "" && c.InAWS && c.AWS.Region != "" && c.AWS.Region != "GLOBAL" && n.Region != c.AWS.Region {
			b.warnf("%s -> %s: the S3 name is for %s but the address is in %s (%s)", f.Client, f.Server, n.Region, c.AWS.Region, c.AWS.Prefix)
		}
		if n.FIPS {
			b.warnf("%s -> %s used an S3 FIPS name: PrivateLink does not serve FIPS endpoints", f.Client, f.Server)
		}
	}
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

// allowed reports whether path counts as private under the policy.
func (b *builder) allowed(path string) bool {
	switch path {
	case string(resolve.PathInterfaceEndpoint):
		return true
	case string(resolve.PathGatewayEndpoint):
		return b.cfg.Policy == PolicyPrivate
	}
	return false
}

func (b *builder) verdict() (string, string) {
	var est, leaks, unknown []Flow
	var leakBytes uint64
	for _, f := range b.r.Flows {
		if !f.S3 || !f.Established {
			continue
		}
		est = append(est, f)
		switch {
		case b.allowed(f.Path):
		case f.Path == string(resolve.PathPrivateOther):
			unknown = append(unknown, f)
		default:
			leaks = append(leaks, f)
			leakBytes += f.Bytes[0] + f.Bytes[1]
		}
	}
	switch {
	case len(leaks) > 0:
		return Fail, fmt.Sprintf("%d of %d established S3 connections went to a public address (%s): %s",
			len(leaks), len(est), byteCount(leakBytes), describe(leaks, 3))
	case len(est) == 0:
		return Inconclusive, b.noTraffic()
	case len(unknown) > 0:
		return Inconclusive, fmt.Sprintf("%d of %d established S3 connections went to a private address that is not a known endpoint: %s; give its address with --endpoint-ip or --endpoints",
			len(unknown), len(est), describe(unknown, 3))
	}
	inferred := 0
	for _, f := range est {
		if strings.HasSuffix(f.PathEvidence, "-inferred") {
			inferred++
		}
	}
	reason := fmt.Sprintf("all %d established S3 connections went to %s", len(est), pathWords(est))
	if inferred > 0 {
		reason += fmt.Sprintf(" (%d identified as an endpoint only from DNS or SNI names; --endpoint-ip or --endpoints makes it certain)", inferred)
	}
	return Pass, reason
}

func pathWords(flows []Flow) string {
	var gw, ie int
	for _, f := range flows {
		if f.Path == string(resolve.PathGatewayEndpoint) {
			gw++
		} else {
			ie++
		}
	}
	switch {
	case gw == 0:
		return "the interface endpoint"
	case ie == 0:
		return "public S3 addresses through the gateway endpoint (route tables)"
	}
	return fmt.Sprintf("the interface endpoint (%d) or through the gateway endpoint (%d)", ie, gw)
}

// noTraffic explains an inconclusive run with no established S3 flow.
func (b *builder) noTraffic() string {
	// Called when no S3 connection was established: every S3 flow is an
	// attempt.
	if attempts := b.r.Summary.S3Flows; attempts > 0 {
		return fmt.Sprintf("no established S3 connection: %s not answered or refused (see warnings)", plural(attempts, "S3 connection attempt"))
	}
	s3dns := 0
	for _, d := range b.r.DNS {
		if d.S3 {
			s3dns++
		}
	}
	if s3dns > 0 {
		return fmt.Sprintf("no S3 connection in the capture, only %d DNS lookups of S3 names", s3dns)
	}
	return fmt.Sprintf("no S3 traffic in the capture (%d TCP connections, none to S3)", len(b.r.Flows))
}

func describe(flows []Flow, max int) string {
	var parts []string
	for i, f := range flows {
		if i == max {
			parts = append(parts, fmt.Sprintf("and %d more", len(flows)-max))
			break
		}
		parts = append(parts, fmt.Sprintf("%s -> %s (%s)", f.Client, f.Server, flowWhat(f)))
	}
	return strings.Join(parts, ", ")
}

// flowWhat says in a few words what a flow's server is and how it was
// named.
func flowWhat(f Flow) string {
	var w []string
	if f.SNI != "" {
		w = append(w, "SNI "+f.SNI)
	} else if len(f.DNSNames) > 0 {
		w = append(w, "DNS "+f.DNSNames[0])
	}
	w = append(w, f.Path)
	if f.AWS != nil {
		w = append(w, fmt.Sprintf("%s %s %s", strings.Join(f.AWS.Services, "+"), f.AWS.Region, f.AWS.Prefix))
	}
	w = append(w, byteCount(f.Bytes[0]+f.Bytes[1]))
	return strings.Join(w, ", ")
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

func (b *builder) warnings() {
	cfg, r := b.cfg, b.r
	if w := StaleRanges(cfg.Ranges, cfg.Now); w != "" {
		b.warnf("%s", w)
	}
	if n := r.Summary.TruncatedPackets; n > 0 {
		b.warnf("%d packets were cut by the snap length: SNI or DNS answers may be missing, so the verdict rests on addresses; capture with -s 0", n)
	}
	for _, in := range r.Inputs {
		if in.Drops != nil && *in.Drops > 0 {
			b.warnf("%s: the capturing system dropped %d packets: the evidence is incomplete", in.Name, *in.Drops)
		}
		if in.Error != nil {
			b.warnf("%s: %s", in.Name, *in.Error)
		}
	}
	if n := r.Summary.MalformedPackets; n > 0 {
		b.warnf("%d packets did not decode (malformed or cut before the TCP/UDP header)", n)
	}
	// Attempts that are not traffic but that a user must hear about.
	type attempt struct {
		server, state string
	}
	counts := map[attempt]int{}
	var order []attempt
	var first []Flow // the first flow of each attempt in order
	for _, f := range r.Flows {
		if !f.S3 || f.Established {
			continue
		}
		a := attempt{f.Server, f.ConnState}
		if counts[a] == 0 {
			order, first = append(order, a), append(first, f)
		}
		counts[a]++
	}
	for i, a := range order {
		f := first[i]
		what := "S3 address"
		if f.Path == string(resolve.PathInterfaceEndpoint) {
			what = "interface endpoint"
		}
		n := counts[a]
		attempts, was := fmt.Sprintf("%d connection attempts", n), "were"
		if n == 1 {
			attempts, was = "1 connection attempt", "was"
		}
		switch a.state {
		case "S0", "SH", "RSTOS0":
			b.warnf("%s to the %s %s %s never answered (%s): a security group or network ACL may be dropping them", attempts, what, a.server, was, a.state)
		case "REJ":
			b.warnf("%s to the %s %s %s refused (REJ)", attempts, what, a.server, was)
		default:
			b.warnf("%s to the %s %s %s not established (%s)", attempts, what, a.server, was, a.state)
		}
	}
	for _, f := range r.Flows {
		if !f.S3 || f.TLS == nil {
			continue
		}
		switch {
		case f.TLS.ECH:
			b.warnf("%s -> %s used Encrypted Client Hello: the SNI %q is only the outer name", f.Client, f.Server, f.SNI)
		case f.TLS.ClientHello == capture.HelloIncomplete && f.Established:
			b.warnf("%s -> %s: the ClientHello was not captured whole, so its SNI is unknown", f.Client, f.Server)
		}
	}
	for _, f := range r.Flows {
		if f.S3 && f.Established && strings.HasSuffix(f.PathEvidence, "-inferred") {
			b.warnf("%s is taken for an interface endpoint only because %s pointed to it; give --endpoint-ip or --endpoints to make it certain",
				hostOf(f.Server), inferredFrom(f))
		}
	}
	if cfg.Inventory != nil {
		b.warn = append(b.warn, cfg.Inventory.Warnings...)
	}
	if p := r.Probe; p != nil {
		for _, c := range p.Connections {
			switch {
			case c.Error != "":
				b.warnf("the probe connection to %s failed: %s", c.Server, c.Error)
			case !c.CertificateVerified:
				b.warnf("the certificate of %s did not verify for %s (%s): a TLS-intercepting proxy or a wrong address is worth knowing about", c.Server, p.Name, c.CertificateError)
			}
		}
	}
}

func inferredFrom(f Flow) string {
	if f.PathEvidence == evidenceSNIInferred {
		return "the endpoint name " + f.SNI
	}
	for _, n := range f.DNSNames {
		if _, ok := s3name.Parse(n); ok {
			return "a DNS answer for " + n
		}
	}
	return "a DNS answer"
}

// The PathEvidence of a private address taken for an interface endpoint
// because of the S3 names that led to it (the classifier alone says
// private-other).
const (
	evidenceDNSInferred = "dns-inferred"
	evidenceSNIInferred = "sni-inferred"
)

// inferredPath is the path of address class c when byS3Name says an S3
// name led to it: a private address is then taken for an interface
// endpoint, and inferred says so.
func inferredPath(c resolve.Class, byS3Name bool) (path string, inferred bool) {
	if c.Path == resolve.PathPrivateOther && byS3Name {
		return string(resolve.PathInterfaceEndpoint), true
	}
	return string(c.Path), false
}

func hostOf(addrport string) string {
	if ap, err := netip.ParseAddrPort(addrport); err == nil {
		return ap.Addr().String()
	}
	return addrport
}

// endpoints describes the inventory's S3 endpoints and what their settings
// mean for a host inside the VPC.
func endpoints(inv *resolve.Inventory) []Endpoint {
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
// inside the VPC (domain.md A1.3).
func meaning(e resolve.Endpoint) string {
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
func plural(n int, thing string) string {
	if n == 1 {
		return fmt.Sprintf("1 %s was", thing)
	}
	return fmt.Sprintf("%d %ss were", n, thing)
}
