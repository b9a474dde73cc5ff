package report

import (
	"fmt"
	"io"
	"net/netip"
	"slices"
	"strings"

	"github.com/vpce-verify/vpce-verify/resolve"
	"github.com/vpce-verify/vpce-verify/resolve/s3name"
)

// ResolveSchema names the JSON contract of `vpce-verify resolve`; field
// names under it are stable (docs/resolve-json.md).
const ResolveSchema = "vpce-verify/resolve/v1"

// ResolveReport is what the DNS said about some names and what each address
// in the answers is: the text and the JSON renderings both come from it.
type ResolveReport struct {
	Schema         string      `json:"schema"`
	Tool           Tool        `json:"tool"`
	Verdict        string      `json:"verdict"`
	PartialVerdict string      `json:"partial_verdict,omitempty"`
	Reason         string      `json:"reason"`
	Policy         string      `json:"policy"`
	GeneratedAt    string      `json:"generated_at"`
	IPRanges       IPRanges    `json:"ip_ranges"`
	Resolvers      []Resolver  `json:"resolvers"`
	Queries        []Query     `json:"queries"`
	Compare        *Comparison `json:"compare"`
	Endpoints      []Endpoint  `json:"endpoints"`
	Warnings       []string    `json:"warnings"`
}

// Resolver is a DNS server the queries were sent to, in the order asked.
type Resolver struct {
	Addr   string `json:"addr"`
	Source string `json:"source"`
	// VPCResolver marks the Amazon-provided DNS server (169.254.169.253,
	// fd00:ec2::253, or a --vpc-cidr base address + 2): private DNS of
	// interface endpoints applies to the queries it answers.
	VPCResolver    bool     `json:"vpc_resolver"`
	Upstream       []string `json:"upstream,omitempty"`
	UpstreamSource string   `json:"upstream_source,omitempty"`
}

// Query is one name and record type asked, and the answer.
type Query struct {
	Name      string `json:"name"`
	QType     string `json:"qtype"`
	Resolver  string `json:"resolver"`
	Transport string `json:"transport"`
	Truncated bool   `json:"truncated"`
	// RCode is the rcode of the last reply; null when none came.
	RCode *string `json:"rcode"`
	// Status is answer, nodata, nxdomain, servfail, refused, timeout or
	// error.
	Status    string  `json:"status"`
	Error     *string `json:"error"`
	RTTMillis float64 `json:"rtt_ms"`
	// S3 is set when the name or a name of its chain is an S3 name: only
	// these queries make the verdict.
	S3        bool             `json:"s3"`
	Chain     []string         `json:"chain"`
	FollowUps int              `json:"follow_up_queries"`
	Addresses []QueryAddress   `json:"addresses"`
	Failed    []FailedResolver `json:"failed_resolvers"`
}

// QueryAddress is an address of an answer and the path traffic to it
// takes, in the words of the analyze report.
type QueryAddress struct {
	Addr         string `json:"addr"`
	TTL          uint32 `json:"ttl"`
	Path         string `json:"path"`
	PathEvidence string `json:"path_evidence"`
	EndpointID   string `json:"endpoint_id,omitempty"`
	Route        string `json:"route,omitempty"`
	AWS          *AWS   `json:"aws"`
}

// FailedResolver is a resolver asked before the one that answered, which
// did not answer.
type FailedResolver struct {
	Resolver string `json:"resolver"`
	Status   string `json:"status"`
	Error    string `json:"error"`
}

// Comparison is the same queries asked of a second resolver, and where
// its answers differ.
type Comparison struct {
	Resolver    string       `json:"resolver"`
	Queries     []Query      `json:"queries"`
	Differences []Difference `json:"differences"`
}

// Difference is a name and type that the two resolvers answered
// differently. Fields lists what differs: status, chain, addresses, paths.
type Difference struct {
	Name    string   `json:"name"`
	QType   string   `json:"qtype"`
	Fields  []string `json:"fields"`
	Primary Side     `json:"primary"`
	Compare Side     `json:"compare"`
}

// Side is one resolver's answer in a Difference; addresses and paths are
// sorted sets.
type Side struct {
	Resolver  string   `json:"resolver"`
	Status    string   `json:"status"`
	Chain     []string `json:"chain"`
	Addresses []string `json:"addresses"`
	Paths     []string `json:"paths"`
}

// ResolveEvidence is what the DNS said.
type ResolveEvidence struct {
	Resolvers []resolve.Server
	Answers   []*resolve.Answer
	// Compare holds the answers of CompareResolver to the same queries,
	// in the same order; nil without a comparison.
	CompareResolver resolve.Server
	Compare         []*resolve.Answer
	// VPCCIDRs tell which resolver addresses are the VPC resolver (base
	// address + 2).
	VPCCIDRs []netip.Prefix
}

// BuildResolve classifies every address of the answers and gives the
// verdict: pass when every address of an S3 name is an interface endpoint
// (or, under PolicyPrivate, a gateway endpoint proven by route tables),
// fail when one is public, inconclusive when no S3 name has an address,
// error when a resolver did not answer (partial_verdict says the rest).
func BuildResolve(ev ResolveEvidence, cfg Config) *ResolveReport {
	if cfg.Policy == "" {
		cfg.Policy = PolicyInterfaceEndpoint
	}
	r := &ResolveReport{
		Schema:      ResolveSchema,
		Tool:        Tool{Name: "vpce-verify", Version: cfg.Version},
		Policy:      cfg.Policy,
		GeneratedAt: ts(cfg.Now),
		IPRanges:    ipRanges(cfg.Ranges, cfg.Now),
		Resolvers:   []Resolver{},
		Queries:     []Query{},
		Endpoints:   endpoints(cfg.Inventory),
	}
	b := &resolveBuilder{cfg: cfg, inventory: len(cfg.EndpointIPs) > 0 || hasEndpointAddresses(cfg.Inventory)}
	for _, s := range ev.Resolvers {
		r.Resolvers = append(r.Resolvers, resolver(s, ev.VPCCIDRs))
	}
	for _, a := range ev.Answers {
		r.Queries = append(r.Queries, b.query(a))
	}
	if ev.Compare != nil {
		c := &Comparison{Resolver: ev.CompareResolver.Addr.String(), Queries: []Query{}, Differences: []Difference{}}
		for i, a := range ev.Compare {
			q := b.query(a)
			c.Queries = append(c.Queries, q)
			if i < len(r.Queries) {
				if d, ok := difference(r.Queries[i], q); ok {
					c.Differences = append(c.Differences, d)
				}
			}
		}
		r.Compare = c
	}
	r.Verdict, r.Reason = b.resolveVerdict(r.Queries)
	// Which queries failed is read from the answers, not back from the
	// words of the rendering.
	var failed []Query
	all := slices.Clone(r.Queries)
	answers := slices.Clone(ev.Answers)
	if r.Compare != nil {
		all = append(all, r.Compare.Queries...)
		answers = append(answers, ev.Compare...)
	}
	for i, a := range answers {
		if a.Status.Failed() {
			failed = append(failed, all[i])
		}
	}
	switch {
	case len(failed) == len(all) && len(all) > 0:
		r.Verdict = Error
		r.Reason = fmt.Sprintf("none of the %d queries got an answer (%s %s: %s)", len(all), failed[0].Name, failed[0].QType, *failed[0].Error)
	case len(failed) > 0 && r.Verdict == Fail:
		// A public address of an S3 name is proven by the answers that
		// came, whatever the others would have said.
		r.Reason += fmt.Sprintf("; %d of %d queries got no answer (%s %s: %s)", len(failed), len(all), failed[0].Name, failed[0].QType, *failed[0].Error)
	case len(failed) > 0:
		r.PartialVerdict = r.Verdict
		r.Reason = fmt.Sprintf("%d of %d queries got no answer (%s %s: %s); the answers that came say %s: %s",
			len(failed), len(all), failed[0].Name, failed[0].QType, *failed[0].Error, r.Verdict, r.Reason)
		r.Verdict = Error
	}
	b.resolveWarnings(r, ev)
	r.Warnings = append(b.warn.lines(), cfg.Warnings...)
	return r
}

func resolver(s resolve.Server, vpc []netip.Prefix) Resolver {
	out := Resolver{Addr: s.Addr.String(), Source: s.Source, VPCResolver: resolve.IsVPCResolver(s.Addr.Addr(), vpc), UpstreamSource: s.UpstreamSource}
	for _, u := range s.Upstream {
		out.Upstream = append(out.Upstream, u.String())
	}
	return out
}

func (b *resolveBuilder) query(a *resolve.Answer) Query {
	q := Query{
		Name: a.Name, QType: a.Type, Resolver: a.Server.Addr.String(), Transport: a.Transport, Truncated: a.Truncated,
		Status: string(a.Status), RTTMillis: float64(a.RTT.Microseconds()) / 1000, FollowUps: a.FollowUps,
		Chain: slices.Clone(a.Chain), Addresses: []QueryAddress{}, Failed: []FailedResolver{},
	}
	if !a.Server.Addr.IsValid() {
		q.Resolver = ""
	}
	if q.Chain == nil {
		q.Chain = []string{a.Name}
	}
	if a.RCode != "" {
		rc := a.RCode
		q.RCode = &rc
	}
	if a.Err != nil {
		s := a.Err.Error()
		q.Error = &s
	}
	for _, n := range q.Chain {
		if _, ok := s3name.Parse(n); ok {
			q.S3 = true
		}
	}
	for _, x := range a.Addresses {
		c := b.cfg.Classifier.Classify(x.Addr)
		qa := QueryAddress{Addr: x.Addr.String(), TTL: x.TTL, Path: string(c.Path), PathEvidence: c.Basis, EndpointID: c.Endpoint, Route: c.Route, AWS: aws(c)}
		// A private address an S3 name resolves to is judged as analyze
		// judges DNS seen on the wire: an endpoint inferred from the name
		// without an inventory, private-unknown with one.
		switch p := answerPath(c, q.S3, b.inventory); p {
		case resolve.PathInterfaceEndpoint:
			if c.Path != p {
				qa.Path, qa.PathEvidence = string(p), evidenceDNSInferred
			}
		default:
			qa.Path = string(p)
		}
		q.Addresses = append(q.Addresses, qa)
	}
	for _, f := range a.Failed {
		fr := FailedResolver{Resolver: f.Server.Addr.String(), Status: string(f.Status)}
		if f.Err != nil {
			fr.Error = f.Err.Error()
		}
		q.Failed = append(q.Failed, fr)
	}
	return q
}

func side(q Query) Side {
	s := Side{Resolver: q.Resolver, Status: q.Status, Chain: q.Chain, Addresses: []string{}, Paths: []string{}}
	for _, a := range q.Addresses {
		s.Addresses = append(s.Addresses, a.Addr)
		s.Paths = append(s.Paths, a.Path)
	}
	slices.Sort(s.Addresses)
	s.Addresses = slices.Compact(s.Addresses)
	slices.Sort(s.Paths)
	s.Paths = slices.Compact(s.Paths)
	return s
}

func difference(p, c Query) (Difference, bool) {
	d := Difference{Name: p.Name, QType: p.QType, Primary: side(p), Compare: side(c)}
	if d.Primary.Status != d.Compare.Status {
		d.Fields = append(d.Fields, "status")
	}
	if !slices.EqualFunc(d.Primary.Chain, d.Compare.Chain, strings.EqualFold) {
		d.Fields = append(d.Fields, "chain")
	}
	if !slices.Equal(d.Primary.Addresses, d.Compare.Addresses) {
		d.Fields = append(d.Fields, "addresses")
	}
	if !slices.Equal(d.Primary.Paths, d.Compare.Paths) {
		d.Fields = append(d.Fields, "paths")
	}
	return d, len(d.Fields) > 0
}

// resolveVerdict judges the addresses of the S3 names.
func (b *resolveBuilder) resolveVerdict(queries []Query) (string, string) {
	type hit struct {
		q Query
		a QueryAddress
	}
	var all, public, unknown []hit
	s3Names := map[string]bool{}
	inferred := 0
	for _, q := range queries {
		if !q.S3 {
			continue
		}
		s3Names[q.Name] = true
		for _, a := range q.Addresses {
			all = append(all, hit{q, a})
			switch p := resolve.Path(a.Path); {
			case allowed(b.cfg.Policy, p):
			case p == PathPrivateUnknown || p == resolve.PathPrivateOther:
				unknown = append(unknown, hit{q, a})
			default:
				public = append(public, hit{q, a})
			}
			if a.PathEvidence == evidenceDNSInferred {
				inferred++
			}
		}
	}
	describe := func(hits []hit) string {
		var parts []string
		for i, h := range hits {
			if i == 3 {
				parts = append(parts, fmt.Sprintf("and %d more", len(hits)-i))
				break
			}
			w := h.a.Path
			if h.a.AWS != nil {
				w += ", " + awsWords(h.a.AWS)
			}
			parts = append(parts, fmt.Sprintf("%s %s %s (%s)", h.q.Name, h.q.QType, h.a.Addr, w))
		}
		return strings.Join(parts, ", ")
	}
	switch {
	case len(public) > 0:
		return Fail, fmt.Sprintf("%d of %d addresses of S3 names are public: %s", len(public), len(all), describe(public))
	case len(s3Names) == 0:
		return Inconclusive, fmt.Sprintf("none of the %d names asked is an S3 name: their addresses are listed, not judged", len(distinctNames(queries)))
	case len(all) == 0:
		return Inconclusive, fmt.Sprintf("no S3 name resolved to an address (%s)", statusCounts(queries))
	case len(unknown) > 0 && b.inventory:
		return Inconclusive, fmt.Sprintf("%d of %d addresses of S3 names are private addresses the endpoint inventory does not list: %s; is an endpoint network interface missing from --endpoint-ip/--endpoints, or a proxy?", len(unknown), len(all), describe(unknown))
	case len(unknown) > 0:
		return Inconclusive, fmt.Sprintf("%d of %d addresses of S3 names are private addresses that are not known endpoints: %s; give them with --endpoint-ip or --endpoints", len(unknown), len(all), describe(unknown))
	}
	names := fmt.Sprintf("%d S3 names", len(s3Names))
	if len(s3Names) == 1 {
		names = "1 S3 name"
	}
	reason := fmt.Sprintf("all %d addresses of %s are interface endpoint addresses", len(all), names)
	gw := 0
	for _, h := range all {
		if h.a.Path == string(resolve.PathGatewayEndpoint) {
			gw++
		}
	}
	if gw > 0 {
		reason = fmt.Sprintf("all %d addresses of %s are private paths: %d interface endpoint, %d public S3 reached through the gateway endpoint (route tables)", len(all), names, len(all)-gw, gw)
	}
	if inferred > 0 {
		reason += fmt.Sprintf(" (%d identified as an endpoint only because an S3 name resolved to a private address; --endpoint-ip or --endpoints makes it certain)", inferred)
	}
	return Pass, reason
}

func distinctNames(queries []Query) []string {
	var names []string
	for _, q := range queries {
		if !slices.Contains(names, q.Name) {
			names = append(names, q.Name)
		}
	}
	return names
}

// statusCounts says "4 NXDOMAIN, 2 NODATA".
func statusCounts(queries []Query) string {
	counts := map[string]int{}
	var order []string
	for _, q := range queries {
		if !q.S3 {
			continue
		}
		s := statusWord(q.Status)
		if counts[s] == 0 {
			order = append(order, s)
		}
		counts[s]++
	}
	var parts []string
	for _, s := range order {
		parts = append(parts, fmt.Sprintf("%d %s", counts[s], s))
	}
	return strings.Join(parts, ", ")
}

func statusWord(s string) string {
	if s == string(resolve.StatusAnswer) {
		return "NOERROR"
	}
	return strings.ToUpper(s)
}

// resolveBuilder makes a ResolveReport.
type resolveBuilder struct {
	cfg       Config
	inventory bool
	warn      warnings
}

// WriteJSON writes the report as indented JSON.
func (r *ResolveReport) WriteJSON(w io.Writer) error { return writeJSON(w, r) }

func (b *resolveBuilder) resolveWarnings(r *ResolveReport, ev ResolveEvidence) {
	if w := StaleRanges(b.cfg.Ranges, b.cfg.Now); w != "" {
		b.warn.addf("%s", w)
	}
	inferred := map[string][]string{} // address -> the S3 names that led to it
	var inferredOrder []string
	for _, q := range r.Queries {
		if !strings.Contains(q.Name, ".") {
			b.warn.addf("%s has no dot: it was asked as the top-level name %s. (search domains are never applied); give the full name", q.Name, q.Name)
		}
		for _, f := range q.Failed {
			b.warn.addf("resolver %s did not answer (%s), so the next one was asked: %s", f.Resolver, f.Status, f.Error)
		}
		for _, n := range q.Chain {
			s3, ok := s3name.Parse(n)
			if !ok {
				continue
			}
			if s3.Kind == s3name.LegacyGlobal {
				b.warn.addf("%s is the legacy global S3 name: PrivateLink does not serve it, so a client using it never reaches an interface endpoint; configure the client for its region (s3.REGION.amazonaws.com)", n)
			}
			if s3.FIPS {
				b.warn.addf("%s is an S3 FIPS name: PrivateLink does not serve FIPS endpoints", n)
			}
			for _, a := range q.Addresses {
				if s3.Region != "" && a.AWS != nil && a.AWS.Region != "GLOBAL" && a.AWS.Region != s3.Region {
					b.warn.addf("%s is a name of %s, but its address %s is in %s (%s)", n, s3.Region, a.Addr, a.AWS.Region, a.AWS.Prefix)
				}
			}
		}
		for _, a := range q.Addresses {
			if a.PathEvidence == evidenceDNSInferred && !slices.Contains(inferred[a.Addr], q.Name) {
				if inferred[a.Addr] == nil {
					inferredOrder = append(inferredOrder, a.Addr)
				}
				inferred[a.Addr] = append(inferred[a.Addr], q.Name)
			}
		}
	}
	for _, addr := range inferredOrder {
		names := inferred[addr]
		what := "the S3 name " + names[0]
		if len(names) > 1 {
			what = fmt.Sprintf("the S3 names %s and %d more", names[0], len(names)-1)
		}
		b.warn.addf("%s is taken for an interface endpoint only because %s resolved to it; give --endpoint-ip or --endpoints to make it certain", addr, what)
	}
	b.privateDNSWarnings(r)
	if b.cfg.Inventory != nil {
		for _, w := range b.cfg.Inventory.Warnings {
			b.warn.addf("%s", w)
		}
	}
}

// privateDNSWarnings explains, from the endpoints' settings, why an S3
// name of their region resolved to public addresses (what a regional S3 name resolves to under each endpoint DNS setting).
func (b *resolveBuilder) privateDNSWarnings(r *ResolveReport) {
	if b.cfg.Inventory == nil {
		return
	}
	for _, q := range r.Queries {
		public := false
		for _, a := range q.Addresses {
			public = public || !allowed(b.cfg.Policy, resolve.Path(a.Path))
		}
		region := ""
		for _, n := range q.Chain {
			if s3, ok := s3name.Parse(n); ok && s3.Region != "" && s3.Kind != s3name.Endpoint && region == "" {
				region = s3.Region
			}
		}
		if !public || region == "" {
			continue
		}
		for _, e := range b.cfg.Inventory.Endpoints {
			if !strings.EqualFold(e.Type, "Interface") || e.Service != "com.amazonaws."+region+".s3" {
				continue
			}
			only := e.PrivateDNSOnlyForInboundResolverEndpoint
			switch {
			case !e.PrivateDNSEnabled:
				url := "its endpoint URL"
				if len(e.DNSNames) > 0 {
					url = "https://bucket." + strings.TrimPrefix(e.DNSNames[0], "*.")
				}
				b.warn.addf("%s resolves to public addresses because the interface endpoint %s has private DNS off: only its own names (*.vpce-...) resolve to it; point S3 clients at %s", q.Name, e.ID, url)
			case only == nil:
				b.warn.addf("%s resolves to public addresses; the interface endpoint %s has private DNS on, but the JSON does not say whether only for inbound resolver endpoints (DnsOptions.PrivateDnsOnlyForInboundResolverEndpoint): if so, hosts in the VPC get public answers by design", q.Name, e.ID)
			case *only:
				b.warn.addf("%s resolves to public addresses, as the interface endpoint %s is set up to do: its private DNS is only for inbound resolver endpoints (PrivateDnsOnlyForInboundResolverEndpoint true), so hosts in the VPC reach S3 through the gateway endpoint if their subnet's route table has it, and through NAT or an internet gateway otherwise", q.Name, e.ID)
			default:
				b.warn.addf("%s resolves to public addresses through %s although the interface endpoint %s has private DNS for the whole VPC: that resolver does not answer from the VPC's private zone (it is not the VPC resolver and does not forward to it), or this host is outside the VPC", q.Name, q.Resolver, e.ID)
			}
		}
	}
}
