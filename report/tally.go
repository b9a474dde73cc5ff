package report

import (
	"cmp"
	"fmt"
	"net/netip"
	"slices"
	"strings"

	"github.com/vpce-verify/vpce-verify/capture/flow"

	"github.com/vpce-verify/vpce-verify/resolve"
)

// tally is what a report keeps of the connections it was given: counts
// and sums for the verdict, and the lists a person reads, each capped.
// Its size does not grow with the number of connections.
type tally struct {
	lim Limits

	flows, s3, s3Est int
	byPath           map[resolve.Path]*pathTotal // every S3 connection
	estByPath        map[resolve.Path]int        // established S3 connections

	leaks     int // established S3 connections on a public path
	leakBytes uint64
	leakEx    []conn // the first few, for the reason
	// Established S3 connections the verdict cannot clear.
	proxies, unknown int
	proxyEx          []conn
	unknownEx        []conn
	inferred         int
	// unnamedEdge counts established connections to CloudFront or Global
	// Accelerator addresses with no server name at all: S3 Transfer
	// Acceleration and Multi-Region Access Points live there, so such a
	// connection may be S3 that nothing could name.
	unnamedEdge   int
	unnamedEdgeEx []conn
	// unread counts, by kind, established connections that nothing showed
	// to be S3 whose first bytes the analysis could not read whole
	// (conn.unread), with the first few of each.
	unread [numDoubts]struct {
		n  int
		ex []conn
	}

	flowsOut   []Flow
	violations []Flow

	dest        map[destKey]*Destination
	destOrder   []destKey
	destDropped int // S3 connections to destinations beyond the cap

	attempts        map[attemptKey]*attempt
	attemptOrder    []attemptKey
	attemptsDropped int

	dnsCount, s3DNS int
	dnsS3, dnsOther []DNS
	dnsSeq          int
}

type pathTotal struct {
	conns int
	bytes uint64
}

type destKey struct {
	server netip.AddrPort
	path   resolve.Path
}

type attemptKey struct {
	server string
	state  string
}

type attempt struct {
	n    int
	path resolve.Path
}

// examples is how many connections a reason names before "and N more".
const examples = 3

// maxAttemptGroups bounds the (server, state) groups of unanswered or
// refused S3 attempts; the rest are counted.
const maxAttemptGroups = 1000

// maxDestNames bounds the S3 names listed per destination.
const maxDestNames = 8

func (t *tally) init(lim Limits) {
	t.lim = lim
	t.byPath = map[resolve.Path]*pathTotal{}
	t.estByPath = map[resolve.Path]int{}
	t.dest = map[destKey]*Destination{}
	t.attempts = map[attemptKey]*attempt{}
	t.flowsOut = []Flow{}
	t.violations = []Flow{}
}

func (t *tally) listFlow() bool      { return len(t.flowsOut) < t.lim.Flows }
func (t *tally) listViolation() bool { return len(t.violations) < t.lim.Violations }

// add counts one judged connection; out is its rendering when it is to be
// listed (in flows, or as a violation).
func (t *tally) add(c *conn, out *Flow, listed, violation bool, f *flow.Flow) {
	if out != nil {
		out.first = f.FirstTS
		if listed {
			t.flowsOut = append(t.flowsOut, *out)
		}
		if violation && t.listViolation() {
			t.violations = append(t.violations, *out)
		}
	}
	if !c.s3 {
		if c.established && c.class.InAWS && c.name == "" && len(f.DNSNames) == 0 &&
			f.TLS.SNI == "" && f.HTTP.Host == "" &&
			(c.class.AWS.Has("CLOUDFRONT") || c.class.AWS.Has("GLOBALACCELERATOR")) {
			t.unnamedEdge++
			if len(t.unnamedEdgeEx) < examples {
				t.unnamedEdgeEx = append(t.unnamedEdgeEx, *c)
			}
		}
		if c.unread != readWhole {
			u := &t.unread[unreadWords[c.unread].doubt]
			u.n++
			if len(u.ex) < examples {
				u.ex = append(u.ex, *c)
			}
		}
		return
	}
	t.s3++
	pt := t.byPath[c.path]
	if pt == nil {
		pt = &pathTotal{}
		t.byPath[c.path] = pt
	}
	pt.conns++
	pt.bytes += c.bytes[0] + c.bytes[1]
	t.addDestination(c, f)
	if !c.established {
		k := attemptKey{c.server.String(), c.state}
		a := t.attempts[k]
		if a == nil {
			if len(t.attempts) >= maxAttemptGroups {
				t.attemptsDropped++
				return
			}
			a = &attempt{path: c.path}
			t.attempts[k] = a
			t.attemptOrder = append(t.attemptOrder, k)
		}
		a.n++
		return
	}
	t.s3Est++
	t.estByPath[c.path]++
	keep := func(ex *[]conn) {
		if len(*ex) < examples {
			*ex = append(*ex, *c)
		}
	}
	switch {
	case violation:
		t.leaks++
		t.leakBytes += c.bytes[0] + c.bytes[1]
		keep(&t.leakEx)
	case c.path == PathProxy:
		t.proxies++
		keep(&t.proxyEx)
	case c.path == PathPrivateUnknown || c.path == resolve.PathPrivateOther:
		t.unknown++
		keep(&t.unknownEx)
	case c.inferred():
		t.inferred++
	}
}

func (t *tally) addDestination(c *conn, f *flow.Flow) {
	k := destKey{c.server, c.path}
	d := t.dest[k]
	if d == nil {
		if len(t.dest) >= t.lim.Destinations {
			t.destDropped++
			return
		}
		d = &Destination{
			Server: c.server.String(), Path: string(c.path), PathEvidence: c.basis,
			EndpointID: c.class.Endpoint, AWS: aws(c.class), S3Names: []string{},
			FirstTS: ts(f.FirstTS), first: f.FirstTS, last: f.LastTS,
		}
		t.dest[k] = d
		t.destOrder = append(t.destOrder, k)
	}
	d.Connections++
	if c.established {
		d.Established++
	}
	d.Bytes[0] += c.bytes[0]
	d.Bytes[1] += c.bytes[1]
	if f.FirstTS.Before(d.first) {
		d.first = f.FirstTS
	}
	if f.LastTS.After(d.last) {
		d.last = f.LastTS
	}
	for _, n := range c.seen() {
		if !slices.Contains(d.S3Names, n.text) {
			if len(d.S3Names) < maxDestNames {
				d.S3Names = append(d.S3Names, n.text)
			} else {
				d.S3NamesOmitted++
			}
		}
	}
}

// destinationList returns the destinations in the order first seen, and
// how many S3 connections went to destinations beyond the cap.
func (t *tally) destinationList() ([]Destination, int) {
	out := make([]Destination, 0, len(t.destOrder))
	for _, k := range t.destOrder {
		d := t.dest[k]
		d.FirstTS, d.LastTS = ts(d.first), ts(d.last)
		out = append(out, *d)
	}
	slices.SortStableFunc(out, func(a, b Destination) int { return a.first.Compare(b.first) })
	return out, t.destDropped
}

// addDNS keeps a DNS transaction for the report: those about S3 names
// first, then the others, up to the cap together.
func (t *tally) addDNS(d DNS) {
	d.seq = t.dnsSeq
	if d.S3 {
		t.dnsS3 = append(t.dnsS3, d)
	} else {
		t.dnsOther = append(t.dnsOther, d)
	}
}

// countDNS counts one DNS transaction, about an S3 name or not, and says
// whether it is to be listed (addDNS).
func (t *tally) countDNS(s3 bool) bool {
	t.dnsCount++
	t.dnsSeq++
	if s3 {
		t.s3DNS++
		return len(t.dnsS3) < t.lim.DNS
	}
	return len(t.dnsOther) < t.lim.DNS
}

// dnsList returns the DNS transactions listed, in the order seen, and how
// many were left out.
func (t *tally) dnsList() ([]DNS, int) {
	other := t.dnsOther
	if room := t.lim.DNS - len(t.dnsS3); len(other) > room {
		other = other[:max(room, 0)]
	}
	out := make([]DNS, 0, len(t.dnsS3)+len(other))
	out = append(out, t.dnsS3...)
	out = append(out, other...)
	slices.SortFunc(out, func(a, b DNS) int {
		if c := a.first.Compare(b.first); c != 0 {
			return c
		}
		return cmp.Compare(a.seq, b.seq)
	})
	return out, t.dnsCount - len(out)
}

// verdict applies the rules, worst case first: a proven leak is fail
// whatever else went wrong; anything that leaves a doubt is never pass;
// damaged evidence without a leak is an error, with what the rest says.
func (b *Builder) verdict(r *Report) (string, string) {
	t := &b.t
	var v, reason string
	switch {
	case t.leaks > 0:
		v = Fail
		reason = fmt.Sprintf("%d of %d established S3 connections went to a public address (%s): %s",
			t.leaks, t.s3Est, byteCount(t.leakBytes), describe(t.leakEx, t.leaks))
	case t.s3Est == 0:
		v, reason = Inconclusive, b.noTraffic()
	case t.proxies > 0 || t.unknown > 0:
		v = Inconclusive
		var parts []string
		if t.proxies > 0 {
			parts = append(parts, fmt.Sprintf("%d of %d established S3 connections went through an HTTP proxy, whose onward path the capture cannot show: %s; capture on the proxy too, or let the clients reach the endpoint directly",
				t.proxies, t.s3Est, describe(t.proxyEx, t.proxies)))
		}
		if t.unknown > 0 {
			if b.inventory {
				parts = append(parts, fmt.Sprintf("%d of %d established S3 connections went to a private address the endpoint inventory does not list: %s; is an endpoint network interface (another zone's?) missing from --endpoint-ip/--endpoints, or is it a proxy or a hosts-file entry?",
					t.unknown, t.s3Est, describe(t.unknownEx, t.unknown)))
			} else {
				parts = append(parts, fmt.Sprintf("%d of %d established S3 connections went to a private address that is not a known endpoint: %s; give its address with --endpoint-ip or --endpoints",
					t.unknown, t.s3Est, describe(t.unknownEx, t.unknown)))
			}
		}
		reason = strings.Join(parts, "; and ")
	default:
		v = Pass
		reason = fmt.Sprintf("%s went to %s", allOf(t.s3Est, "established S3 connection"), b.pathWords())
		if t.inferred > 0 {
			reason += fmt.Sprintf(" (%d identified as an endpoint only from DNS or endpoint names; --endpoint-ip or --endpoints makes it certain)", t.inferred)
		}
	}

	// What could hide a leak keeps a pass from being one.
	if v == Pass {
		var doubts []string
		var drops uint64
		for _, in := range r.Inputs {
			if in.Drops != nil {
				drops += *in.Drops
			}
		}
		if drops > 0 {
			doubts = append(doubts, fmt.Sprintf("the capture lost %s (drops), which may have carried other S3 connections", countNoun(drops, "packet")))
		}
		for _, in := range r.Inputs {
			if in.Interrupted {
				doubts = append(doubts, fmt.Sprintf("the reading of %s was interrupted after %s, and what follows was not examined", in.Name, countNoun(in.Packets, "packet")))
			}
		}
		if lost := blockingAnomalies(r.Anomalies); lost != "" {
			doubts = append(doubts, "the analysis could not take in whole what could hide a connection or a DNS answer: "+lost)
		}
		if t.unnamedEdge > 0 {
			doubts = append(doubts, fmt.Sprintf("%s carried no server name the capture could read, and S3 Transfer Acceleration and Multi-Region Access Points use those addresses: %s",
				countNoun(t.unnamedEdge, "established connection to CloudFront or Global Accelerator addresses"), describe(t.unnamedEdgeEx, t.unnamedEdge)))
		}
		for k := range t.unread {
			if u := &t.unread[k]; u.n > 0 {
				they := "they"
				if u.n == 1 {
					they = "it"
				}
				doubts = append(doubts, fmt.Sprintf(unreadDoubt[k], countNoun(u.n, "established connection"), they, describe(u.ex, u.n)))
			}
		}
		if len(doubts) > 0 {
			v = Inconclusive
			reason = reason + ", but " + strings.Join(doubts, "; and ")
		}
	}

	if v == Inconclusive && t.s3Est == 0 {
		if lost := blockingAnomalies(r.Anomalies); lost != "" {
			reason += "; and the analysis could not take in whole what could hide S3 traffic: " + lost
		}
	}

	// Damaged or unread inputs.
	var bad []Input
	for _, in := range r.Inputs {
		if in.Error != nil {
			bad = append(bad, in)
		}
	}
	if len(bad) > 0 {
		what := fmt.Sprintf("the evidence of input %s is incomplete (%s)", bad[0].Name, *bad[0].Error)
		if len(bad) > 1 {
			what += ", and " + countNoun(len(bad)-1, "more input")
		}
		if v == Fail {
			// The leak is proven by what was read: no damage undoes it.
			reason += "; " + what + ", but the packets read prove the leak"
		} else {
			r.PartialVerdict = v
			reason = fmt.Sprintf("%s; the packets read before that say %s: %s", what, v, reason)
			v = Error
		}
	}
	return v, reason
}

// pathWords says where the established S3 connections went when all of
// them were allowed.
func (b *Builder) pathWords() string {
	gw := b.t.estByPath[resolve.PathGatewayEndpoint]
	ie := b.t.s3Est - gw
	switch {
	case gw == 0:
		return "the interface endpoint"
	case ie == 0:
		return "public S3 addresses through the gateway endpoint (route tables)"
	}
	return fmt.Sprintf("the interface endpoint (%d) or through the gateway endpoint (%d)", ie, gw)
}

// noTraffic explains an inconclusive run with no established S3 flow.
func (b *Builder) noTraffic() string {
	t := &b.t
	if t.s3 > 0 {
		// No S3 connection was established: every S3 flow is an attempt.
		return fmt.Sprintf("no established S3 connection: %s not answered or refused (see warnings)", plural(t.s3, "S3 connection attempt"))
	}
	if t.s3DNS > 0 {
		return fmt.Sprintf("no S3 connection in the capture, only %s", countNoun(t.s3DNS, "DNS lookup of S3 names"))
	}
	return fmt.Sprintf("no S3 traffic in the capture (%s, none to S3)", countNoun(t.flows, "TCP connection"))
}

// describe names the example connections, then how many more there were.
func describe(ex []conn, total int) string {
	var parts []string
	for _, c := range ex {
		p := fmt.Sprintf("%s -> %s (%s)", c.client, c.server, c.what())
		if c.owner.Known() {
			p += " " + c.owner.By()
		}
		parts = append(parts, p)
	}
	if total > len(ex) {
		parts = append(parts, fmt.Sprintf("and %d more", total-len(ex)))
	}
	return strings.Join(parts, ", ")
}

// what says in a few words what a connection's server is and how it was
// named.
func (c *conn) what() string {
	var w []string
	if c.nNames > 0 {
		n := c.names[0]
		w = append(w, nameSource[n.from]+" "+clean(n.text))
	}
	if c.byAddressOnly {
		w = append(w, "S3 by address only")
	}
	w = append(w, string(c.path))
	if c.unread != readWhole {
		w = append(w, unreadWords[c.unread].label)
	}
	if c.class.InAWS {
		w = append(w, fmt.Sprintf("%s %s %s", strings.Join(c.class.AWS.Services, "+"), c.class.AWS.Region, c.class.AWS.Prefix))
	}
	w = append(w, byteCount(c.bytes[0]+c.bytes[1]))
	return strings.Join(w, ", ")
}

// nameSource says where a name was seen, for people.
var nameSource = map[s3Evidence]string{
	evSNI: "SNI", evHTTPHost: "Host", evProxyTarget: "proxy target", evDNSName: "DNS",
}

// sortFlows puts listed connections in the order they began.
func sortFlows(fl []Flow) {
	slices.SortStableFunc(fl, func(a, b Flow) int { return a.first.Compare(b.first) })
}

// blockingAnomalies names the anomalies that could hide a connection or a
// DNS answer, with their counts and where the first was.
func blockingAnomalies(list []Anomaly) string {
	var parts []string
	for _, a := range list {
		if a.Blocking && a.Count > 0 {
			parts = append(parts, fmt.Sprintf("%d %s (first at packet %d)", a.Count, a.Name, a.FirstPacket))
		}
	}
	return strings.Join(parts, ", ")
}
