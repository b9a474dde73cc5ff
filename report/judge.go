package report

import (
	"net/netip"
	"strings"

	"github.com/vpce-verify/vpce-verify/capture/flow"
	"github.com/vpce-verify/vpce-verify/capture/sockowner"

	"github.com/vpce-verify/vpce-verify/resolve"
	"github.com/vpce-verify/vpce-verify/resolve/inventory"
	"github.com/vpce-verify/vpce-verify/resolve/ipranges"
	"github.com/vpce-verify/vpce-verify/resolve/s3name"
)

// Paths the judgment of a connection adds to the classifier's: they depend
// on what the connection carried and on what the user declared, not on the
// address alone.
const (
	// PathProxy is a connection that asked an HTTP proxy for an S3 name
	// (CONNECT, or an absolute-form http:// URI): S3 traffic whose onward
	// path the capture cannot show.
	PathProxy resolve.Path = "proxy"
	// PathPrivateUnknown is a private address an S3 connection went to
	// although the endpoint inventory (--endpoint-ip, --endpoints) does not
	// list it: another zone's endpoint ENI missing from the inventory, a
	// proxy, a hosts-file pin. It never passes.
	PathPrivateUnknown resolve.Path = "private-unknown"
)

// Why a connection is S3: each piece of evidence is one bit, and any one is
// enough (evidence adds up; none cancels another, except that a complete
// name for a non-S3 host outweighs an address in a prefix S3 shares).
type s3Evidence uint8

const (
	evSNI         s3Evidence = 1 << iota // the TLS server name is an S3 name
	evHTTPHost                           // the HTTP Host header is an S3 name
	evProxyTarget                        // CONNECT or an absolute URI asked a proxy for an S3 name
	evDNSName                            // a DNS answer for an S3 name led to the server
	evEndpoint                           // the server is an S3 interface endpoint address
	evRange                              // the server is in an S3 prefix of ip-ranges.json
)

// evidenceWords are the JSON words of the evidence bits, in bit order.
var evidenceWords = [...]string{"sni", "http-host", "proxy-target", "dns-name", "endpoint-address", "aws-range"}

func (e s3Evidence) words() []string {
	out := []string{}
	for i, w := range evidenceWords {
		if e&(1<<i) != 0 {
			out = append(out, w)
		}
	}
	return out
}

// The PathEvidence words a judgment adds to the classifier's bases.
const (
	// A private address taken for an interface endpoint, without an
	// inventory, because of the S3 names that led to it.
	evidenceDNSInferred  = "dns-inferred"
	evidenceSNIInferred  = "sni-inferred"
	evidenceHostInferred = "host-inferred"
	// A proxy, and how it was asked.
	evidenceConnect     = "http-connect"
	evidenceAbsoluteURI = "http-absolute-uri"
)

// conn is the judgment of one TCP connection: the facts the verdict and
// the report rest on, typed. It is made once per connection, when the
// connection is finished, and the flow it came from is not kept.
type conn struct {
	client, server netip.AddrPort
	state          string
	established    bool
	bytes          [2]uint64
	probe          bool

	class resolve.Class
	path  resolve.Path
	basis string // why the path: a resolve.Basis* word or one of the evidence* words above

	s3       bool
	evidence s3Evidence
	// name is the S3 name the connection is about: the proxy target, the
	// SNI (outside a tunnel), the Host header or the first DNS name, in that
	// order; kind is its family.
	name string
	kind string
	// byAddressOnly marks an S3 connection whose only evidence is its
	// address in an S3 prefix: no name was captured (a cut ClientHello, a
	// capture that began midstream). In a prefix S3 shares with EC2 that
	// is a reasonable doubt, and the report says so.
	byAddressOnly bool
	// otherName is a complete name for a non-S3 host that the connection
	// carried although its address is in a prefix only S3 lists.
	otherName string
	// unread says why an established connection that nothing showed to be
	// S3 could not be cleared, so that whether it carried S3 (through a
	// proxy, to an endpoint not listed) is unknown; readWhole when it was.
	unread unreadWhy
	// names are the first S3 names seen, with where each came from:
	// maxSeenNames of them (a connection to an endpoint may carry every
	// bucket name that resolved to it), in place, so that judging a
	// connection allocates nothing for them.
	names  [maxSeenNames]seenName
	nNames int
	// owner is who had the connection's socket on this host (live).
	owner sockowner.Owner
}

// maxSeenNames bounds the S3 names a judgment keeps; the evidence they
// give counts from all of them.
const maxSeenNames = 8

// seenName is an S3 name a connection carried, what of it the report
// uses, and where it was seen.
type seenName struct {
	text       string // lower case, no trailing dot
	kind       s3name.Kind
	region     string
	endpointID string // for an interface endpoint's own name
	fips       bool
	from       s3Evidence
}

// seen lists the names kept.
func (c *conn) seen() []seenName { return c.names[:c.nNames] }

// s3Only reports whether every service of m besides AMAZON (the parent of
// everything) is S3: such a prefix serves nothing but S3.
func s3Only(m ipranges.Match) bool {
	found := false
	for _, s := range m.Services {
		switch s {
		case "S3":
			found = true
		case "AMAZON":
		default:
			return false
		}
	}
	return found
}

// hostName returns the host of an HTTP Host value or CONNECT authority
// (without its port, IPv6 brackets removed), lower case.
func hostName(hostport string) string {
	h := hostport
	if strings.HasPrefix(h, "[") {
		if i := strings.IndexByte(h, ']'); i > 0 {
			return strings.ToLower(h[1:i])
		}
		return ""
	}
	if i := strings.LastIndexByte(h, ':'); i >= 0 && strings.Count(h, ":") == 1 {
		h = h[:i]
	}
	return strings.ToLower(strings.TrimSuffix(h, "."))
}

// isHostName reports whether s names a host in the DNS (letters, digits,
// hyphens, at least two labels, not an address): only such a name can say
// that a connection is not S3.
func isHostName(s string) bool {
	s = strings.TrimSuffix(s, ".")
	if len(s) == 0 || len(s) > 253 || !strings.Contains(s, ".") {
		return false
	}
	if _, err := netip.ParseAddr(s); err == nil {
		return false
	}
	label := 0
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '.':
			if label == 0 {
				return false
			}
			label = 0
			continue
		case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9', c == '-', c == '_':
		default:
			return false
		}
		label++
		if label > 63 {
			return false
		}
	}
	return label > 0
}

// judge decides what one connection is: S3 or not, on what evidence, and
// which path it took.
func (b *Builder) judge(f *flow.Flow, dnsNames []string) conn {
	c := conn{
		client: f.Client, server: f.Server, state: f.ConnState(), established: f.Established(),
		bytes: f.Bytes(), probe: b.probes[f.Client] == f.Server && f.Client.IsValid(),
	}
	c.class = b.cfg.Classifier.Classify(f.Server.Addr())
	c.path, c.basis = c.class.Path, c.class.Basis

	// Names the connection carried, and what they say.
	sni := f.TLS.SNI
	tunnel := f.TLS.InTunnel
	// First bytes sent twice, differently, may not be what the server
	// took: their names still count as S3 evidence, but none clears.
	helloComplete := f.TLS.Hello == flow.HelloComplete && !f.Resent
	host := hostName(f.HTTP.Host)
	requestComplete := f.HTTP.Request == flow.HTTPComplete && !f.Resent
	proxy := hostName(f.HTTP.ProxyHost)

	var otherNames []string // complete names of non-S3 hosts
	note := func(name string, bit s3Evidence, complete bool) {
		if name == "" {
			return
		}
		n, ok := b.parseName(name)
		if !ok {
			if complete && isHostName(name) {
				otherNames = append(otherNames, name)
			}
			return
		}
		c.evidence |= bit
		if c.nNames < maxSeenNames {
			n.from = bit
			c.names[c.nNames] = n
			c.nNames++
		}
		if c.name == "" {
			c.name, c.kind = n.text, string(n.kind)
		}
	}
	note(proxy, evProxyTarget, requestComplete)
	if !tunnel {
		note(sni, evSNI, helloComplete)
		note(f.TLS.SecondSNI, evSNI, false) // after a HelloRetryRequest
	} else {
		// Inside a CONNECT tunnel the SNI names the server the proxy
		// was asked to reach, not this connection's: an S3 name there is
		// S3 through the proxy, and no name there clears anything.
		note(sni, evProxyTarget, false)
		note(f.TLS.SecondSNI, evProxyTarget, false)
	}
	if proxy != "" {
		// ParseAddr only for a proxy target: its error allocates, once
		// per connection otherwise.
		if a, err := netip.ParseAddr(proxy); err == nil && b.s3Address(a, tunnel && helloComplete && sni != "" && isHostName(sni)) {
			// The proxy was asked for an S3 address itself (CONNECT
			// 52.219.64.10:443, http://52.219.64.10/bucket/key).
			c.evidence |= evProxyTarget
		}
	}
	note(host, evHTTPHost, requestComplete)
	for _, h := range f.HTTP.LaterHosts() {
		// Later requests to a proxy on the same connection.
		note(hostName(h), evProxyTarget, false)
	}
	for _, n := range dnsNames {
		note(n, evDNSName, false)
	}
	if c.class.Path == resolve.PathInterfaceEndpoint && b.endpointIsS3(c.class.Endpoint) {
		c.evidence |= evEndpoint
	}
	if c.class.InAWS && c.class.AWS.Has("S3") {
		switch {
		case s3Only(c.class.AWS):
			// Nothing but S3 answers there, whatever the hello says.
			c.evidence |= evRange
			if c.evidence&^evRange == 0 && len(otherNames) > 0 {
				c.otherName = otherNames[0]
			}
		case len(otherNames) == 0:
			// A prefix S3 shares with EC2 and others: only a complete name
			// for another host says it is not S3.
			c.evidence |= evRange
		}
	}
	c.s3 = c.evidence != 0
	c.byAddressOnly = c.evidence == evRange
	if !c.s3 {
		c.unread = unread(f, &c)
		return c
	}

	switch {
	case c.evidence&evProxyTarget != 0 && c.class.Path == resolve.PathPrivateOther:
		// Asked a proxy for S3: the onward path is beyond the capture. An
		// S3 address asked in absolute form is S3 itself, not a proxy; and
		// a proxy on a public address was reached by a public path, which
		// is the leak (its path stays public-aws or public-non-aws).
		c.path, c.basis = PathProxy, evidenceAbsoluteURI
		if strings.EqualFold(f.HTTP.Method, "CONNECT") {
			c.basis = evidenceConnect
		}
	case c.class.Path == resolve.PathPrivateOther && b.inventory,
		c.class.Path == resolve.PathInterfaceEndpoint && !b.endpointIsS3(c.class.Endpoint):
		// The user said which addresses the endpoint has: this is not
		// one (an endpoint of another service does not serve S3).
		c.path = PathPrivateUnknown
	case c.class.Path == resolve.PathPrivateOther:
		// No inventory: an S3 name that led to the address is the best
		// evidence there is that it is an endpoint; the report says so.
		switch {
		case c.evidence&evDNSName != 0:
			c.path, c.basis = resolve.PathInterfaceEndpoint, evidenceDNSInferred
		case c.endpointName(evSNI) != nil:
			c.path, c.basis = resolve.PathInterfaceEndpoint, evidenceSNIInferred
		case c.endpointName(evHTTPHost) != nil:
			c.path, c.basis = resolve.PathInterfaceEndpoint, evidenceHostInferred
		}
		if c.path == resolve.PathInterfaceEndpoint && c.class.Endpoint == "" {
			for _, n := range c.seen() {
				if n.kind == s3name.Endpoint {
					c.class.Endpoint = n.endpointID
					break
				}
			}
		}
	}
	return c
}

// unread says what kept an established connection that nothing showed to
// be S3 from being cleared: a ClientHello or HTTP request (the CONNECT of
// a proxy, say) that was cut by the snap length, the reassembly budget or
// the connection's end before it named its server, or sent again with
// other contents (unreadResent), or, to a web or proxy
// port, a client whose data the snap length cut away whole, or, to a web or
// proxy port of a private address (where proxies and the endpoint network
// interfaces of other zones are), a connection whose start the capture
// does not hold (it began before the capture). readWhole when a
// name was read (a complete hello or request; an SNI, Host or proxy
// target read before the cut), or when the client sent nothing, or when
// the server is a listed endpoint of another service. A DNS name for the
// server does not clear it: a proxy has a name too.
func unread(f *flow.Flow, c *conn) unreadWhy {
	if !c.established || c.class.Path == resolve.PathInterfaceEndpoint {
		return readWhole
	}
	if c.bytes[0] == 0 {
		// The client sent nothing the capture holds: only a download
		// already under way (no SYN seen) from a web or proxy port of a
		// private address leaves a doubt.
		if c.bytes[1] > 0 && c.state == "OTH" && webPort(f.Server.Port()) && c.class.Path == resolve.PathPrivateOther {
			return unreadStart
		}
		return readWhole
	}
	if f.Resent {
		return unreadResent
	}
	if f.HTTP.LaterUnread || f.HTTP.LaterOmitted > 0 {
		return unreadLater
	}
	if f.HTTP.Request == flow.HTTPIncomplete && f.HTTP.ProxyHost != "" && f.HTTP.Method != "CONNECT" {
		// A request to a proxy cut after its target's host: the requests
		// that follow on the connection, for any host, were not read.
		return unreadRequestCut
	}
	if f.HTTP.ProxyHost != "" || f.HTTP.Host != "" || (f.TLS.SNI != "" && !f.TLS.InTunnel) {
		return readWhole
	}
	web := webPort(f.Server.Port())
	switch {
	case f.HTTP.Request == flow.HTTPIncomplete && (web || httpMethod(f.HTTP.Method)):
		// A few bytes of any text protocol read as the start of a method;
		// on other ports, only a method HTTP has counts.
		return unreadRequestCut
	case f.TLS.Hello == flow.HelloIncomplete:
		return unreadHelloCut
	case f.TLS.Hello == "" && f.HTTP.Request == "" && f.Truncated > 0 && web:
		return unreadPayload
	case f.TLS.Hello == flow.HelloNotSeen && f.HTTP.Request == flow.HTTPNotSeen && web && c.class.Path == resolve.PathPrivateOther:
		return unreadStart
	}
	return readWhole
}

// unreadWhy is why a connection could not be cleared (conn.unread).
type unreadWhy uint8

const (
	readWhole        unreadWhy = iota
	unreadRequestCut           // an HTTP request cut before its server's name
	unreadHelloCut             // a ClientHello cut before its server's name
	unreadPayload              // to a web or proxy port, no payload kept
	unreadStart                // began before the capture
	unreadResent               // first bytes sent twice, differently (flow.Flow.Resent)
	unreadLater                // later requests to a proxy not read (flow.HTTPInfo.LaterUnread, LaterOmitted)
	numUnread
)

// The sentences of a verdict's doubts, each for some kinds of unreadWhy:
// the count, "it" or "they", the examples.
const (
	doubtCut = iota
	doubtStart
	doubtResent
	doubtLater
	numDoubts
)

var unreadDoubt = [numDoubts]string{
	doubtCut:    "%s that nothing shows to be S3 began with a ClientHello or HTTP request that the capture does not hold whole (cut by the snap length or the reassembly budget, or not in tcpdump text), so whether %s carried S3 traffic (through a proxy, or to an endpoint not listed) is unknown: %s; capture with a larger snap length (tcpdump -s 0)",
	doubtStart:  "%s to a web or proxy port of a private address that nothing shows to be S3 began before the capture, so whether %s carried S3 traffic (through a proxy, or to an endpoint not listed) is unknown: %s; start the capture before the connections",
	doubtResent: "%s that nothing shows to be S3 sent its first bytes twice, with different contents, so which server %s named (through a proxy, or to an endpoint not listed) is unknown: %s",
	doubtLater:  "%s to an HTTP proxy asked it for more than the capture could read (a request whose end its header does not tell, a request cut, or more than 8 hosts), so whether %s asked for S3 is unknown: %s",
}

// cutWarning is the warning of a connection whose first bytes were cut:
// what it had, then why that leaves a doubt.
func cutWarning(had string) string {
	return "had " + had + " before any server name, with nothing else to tell whether S3 went through it (a proxy, an endpoint not listed): the verdict cannot pass; capture with -s 0"
}

// unreadWords are each unreadWhy's label (in a connection's description
// and its packet comment), its warning (after the connection) and its
// doubt.
var unreadWords = [numUnread]struct {
	label, warning string
	doubt          int
}{
	unreadRequestCut: {"HTTP request cut", cutWarning("the HTTP request cut"), doubtCut},
	unreadHelloCut:   {"ClientHello cut", cutWarning("the ClientHello cut"), doubtCut},
	unreadPayload:    {"payload not captured", cutWarning("none of the payload captured"), doubtCut},
	unreadStart: {"start not captured", "began before the capture, with nothing else to tell whether S3 went through it (a proxy, an endpoint not listed): the verdict cannot pass; start the capture before the applications connect",
		doubtStart},
	unreadResent: {"first bytes sent twice, differently", "sent its first bytes twice, with different contents (a ClientHello or request naming another server, which the server may have taken instead): the verdict cannot pass",
		doubtResent},
	unreadLater: {"later requests not read", "asked an HTTP proxy for more than the capture could read on one connection (a request whose end its header does not tell, a request cut, or more than 8 hosts): the verdict cannot pass",
		doubtLater},
}

// httpMethod reports whether m is a method of HTTP/1.1 (RFC 9110).
func httpMethod(m string) bool {
	switch m {
	case "GET", "HEAD", "POST", "PUT", "DELETE", "CONNECT", "OPTIONS", "TRACE", "PATCH":
		return true
	}
	return false
}

// webPort reports whether port is one that HTTPS, HTTP or an HTTP proxy
// usually listens on.
func webPort(port uint16) bool {
	switch port {
	case 80, 443, 3128, 8000, 8080, 8443, 8888:
		return true
	}
	return false
}

// endpointName returns the interface endpoint name
// (*.vpce-....s3.REGION.vpce.amazonaws.com) the connection carried in the
// place from says, or nil.
func (c *conn) endpointName(from s3Evidence) *seenName {
	for i := range c.nNames {
		if c.names[i].from == from && c.names[i].kind == s3name.Endpoint {
			return &c.names[i]
		}
	}
	return nil
}

// maxParsedNames bounds the names the builder remembers parsed: captures
// repeat a few names over and over, and Parse runs for every name of every
// connection.
const maxParsedNames = 4096

// parseName is s3name.Parse of name, through a bounded cache; ok is false
// for a name that is not an S3 name.
func (b *Builder) parseName(name string) (seenName, bool) {
	if e, ok := b.parsed[name]; ok {
		return e.n, e.ok
	}
	var e parsedName
	if n, ok := s3name.Parse(name); ok {
		e = parsedName{n: seenName{text: strings.ToLower(strings.TrimSuffix(name, ".")), kind: n.Kind, region: n.Region,
			endpointID: n.EndpointID, fips: n.FIPS}, ok: true}
	}
	if len(b.parsed) >= maxParsedNames {
		clear(b.parsed)
	}
	b.parsed[name] = e
	return e.n, e.ok
}

// parsedName is a cached result of parseName.
type parsedName struct {
	n  seenName
	ok bool
}

// inferred reports whether the connection's endpoint path rests on names
// only, not on the inventory.
func (c *conn) inferred() bool {
	switch c.basis {
	case evidenceDNSInferred, evidenceSNIInferred, evidenceHostInferred:
		return true
	}
	return false
}

// s3Address reports whether a is an address S3 answers at: an S3
// interface endpoint, or an S3 prefix (one S3 shares with EC2 and others
// only when named reports no complete name for another host).
func (b *Builder) s3Address(a netip.Addr, named bool) bool {
	cl := b.cfg.Classifier.Classify(a)
	switch {
	case cl.Path == resolve.PathInterfaceEndpoint:
		return b.endpointIsS3(cl.Endpoint)
	case cl.InAWS && cl.AWS.Has("S3"):
		return s3Only(cl.AWS) || !named
	}
	return false
}

// endpointIsS3 reports whether an endpoint address belongs to an S3
// endpoint: --endpoint-ip addresses are taken to be, inventory endpoints
// say their service.
func (b *Builder) endpointIsS3(id string) bool {
	if e, ok := b.cfg.Inventory.Endpoint(id); ok {
		return e.IsS3()
	}
	return true
}

// answerPath is the path a DNS answer's address would take, judged as a
// connection to it would be: a private address an S3 name points to is an
// inferred endpoint without an inventory, and private-unknown with one.
func answerPath(c resolve.Class, byS3Name, inventory bool) resolve.Path {
	if c.Path != resolve.PathPrivateOther || !byS3Name {
		return c.Path
	}
	if inventory {
		return PathPrivateUnknown
	}
	return resolve.PathInterfaceEndpoint
}

// hasEndpointAddresses reports whether the inventory gives an address of an
// S3 interface endpoint: then it says which private addresses are the
// endpoint, and no other is inferred to be one.
func hasEndpointAddresses(inv *inventory.Inventory) bool {
	if inv == nil {
		return false
	}
	for _, n := range inv.NetworkInterfaces {
		if !n.IsEndpoint || len(n.Addresses) == 0 {
			continue
		}
		if e, ok := inv.Endpoint(n.EndpointID); !ok || e.IsS3() {
			return true
		}
	}
	return false
}
