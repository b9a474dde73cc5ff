package flowlogs

import (
	"fmt"
	"net/netip"
	"time"

	"github.com/vpce-verify/vpce-verify/resolve"
)

// GroupBy is what the verdict is given for: each network interface,
// instance, subnet or VPC, as the records name them.
type GroupBy uint8

// The groupings.
const (
	GroupENI GroupBy = iota
	GroupInstance
	GroupSubnet
	GroupVPC
)

var groupNames = [...]string{"eni", "instance", "subnet", "vpc"}
var groupFields = [...]Field{FieldInterfaceID, FieldInstanceID, FieldSubnetID, FieldVPCID}

func (g GroupBy) String() string { return groupNames[g] }

// ParseGroupBy reads eni, instance, subnet or vpc.
func ParseGroupBy(s string) (GroupBy, error) {
	for i, n := range groupNames {
		if n == s {
			return GroupBy(i), nil
		}
	}
	return 0, fmt.Errorf("--group-by %q: want eni, instance, subnet or vpc", s)
}

// The policies, in the words of the report's --require.
const (
	PolicyInterfaceEndpoint = "interface-endpoint"
	PolicyPrivate           = "private"
)

// Extra bases of a path, beside resolve's: what a record itself proves.
const (
	BasisTrafficPath = "traffic-path"    // traffic-path 7 (gateway endpoint) or 8 (internet gateway)
	BasisAWSService  = "pkt-aws-service" // pkt-dst-aws-service says S3 of an address ip-ranges.json does not list
)

// Limits bound what a report lists; what is left out is counted.
type Limits struct {
	Groups       int // rows of the groups table
	Sources      int // public-path source addresses tracked per group
	Destinations int // public S3 destinations listed
	Rejects      int // (server, path) rows of rejected records
	Inputs       int // files listed
}

// DefaultLimits keep the report of a year of logs to a few megabytes.
var DefaultLimits = Limits{Groups: 10000, Sources: 64, Destinations: 1000, Rejects: 1000, Inputs: 10000}

// Config is what an analysis needs to know besides the records.
type Config struct {
	Classifier *resolve.Classifier
	Policy     string // PolicyInterfaceEndpoint when empty
	GroupBy    GroupBy
	// Since and Until keep the records whose [start, end] meets the
	// window; zero leaves it open on that side.
	Since, Until time.Time
	Limits       Limits
	// EndpointKnown says an endpoint address was given (--endpoint-ip,
	// --endpoints): without one, traffic to the interface endpoint is no
	// S3 evidence, and an inconclusive verdict says so.
	EndpointKnown bool
	// Keep, when not nil, keeps the records the verdict rests on, within
	// its bounds, for WriteKept (an evidence bundle).
	Keep *KeepLimits
}

type pathIndex uint8

// The S3 paths a record can take, in report order.
const (
	pInterface pathIndex = iota
	pGateway
	pPublicAWS
	pPublicNonAWS
	pPrivate
	numPaths
)

var pathOf = [numPaths]resolve.Path{resolve.PathInterfaceEndpoint, resolve.PathGatewayEndpoint, resolve.PathPublicAWS, resolve.PathPublicNonAWS, resolve.PathPrivateOther}

func indexOf(p resolve.Path) pathIndex {
	for i, q := range pathOf {
		if q == p {
			return pathIndex(i)
		}
	}
	return pPrivate
}

// Totals are records, packets and bytes added up.
type Totals struct {
	Records uint64 `json:"records"`
	Packets uint64 `json:"packets"`
	Bytes   uint64 `json:"bytes"`
}

func (t *Totals) add(r *Record) {
	t.Records++
	t.Packets += r.Packets
	t.Bytes += r.Bytes
}

type group struct {
	key         string
	records     uint64
	paths       [numPaths]Totals
	first, last int64
	sources     map[netip.Addr]*Totals
	srcOmitted  uint64 // public-path records from sources beyond the cap
	rejected    uint64

	keepReserved bool // its first record of each kind is kept
	keptKinds    [numKinds]bool
}

type destKey struct {
	server netip.AddrPort
	path   pathIndex
}

type destination struct {
	Totals
	class       resolve.Class
	basis       string
	first, last int64
}

// Analyzer adds up flow log records into a verdict per group. It keeps
// aggregates only: its size grows with the groups, sources and
// destinations it lists, each capped, never with the records.
type Analyzer struct {
	cfg          Config
	since, until int64

	records, noData, skipData, outside, otherRecords uint64
	nonS3Web                                         uint64 // TCP 80/443 records not shown to be S3
	paths                                            [numPaths]Totals
	rejected                                         Totals
	first, last                                      int64
	unnamed                                          uint64 // S3 records whose group field is absent

	groups        map[string]*group
	groupOrder    []*group
	groupsOmitted uint64 // S3 records of groups beyond the cap
	omittedPaths  [numPaths]Totals

	dests        map[destKey]*destination
	destOrder    []destKey
	destsOmitted uint64

	rejects        map[destKey]*destination
	rejectOrder    []destKey
	rejectsOmitted uint64

	keep *keeper // nil unless Config.Keep
	file int     // the index of the file read (ReadAll)
	seq  uint64  // the number of the record in it
}

// NewAnalyzer prepares an analysis.
func NewAnalyzer(cfg Config) *Analyzer {
	if cfg.Policy == "" {
		cfg.Policy = PolicyInterfaceEndpoint
	}
	d := DefaultLimits
	l := &cfg.Limits
	for _, p := range []struct {
		v *int
		d int
	}{{&l.Groups, d.Groups}, {&l.Sources, d.Sources}, {&l.Destinations, d.Destinations}, {&l.Rejects, d.Rejects}, {&l.Inputs, d.Inputs}} {
		if *p.v <= 0 {
			*p.v = p.d
		}
	}
	a := &Analyzer{
		cfg: cfg, until: 1<<63 - 1,
		groups: map[string]*group{}, dests: map[destKey]*destination{}, rejects: map[destKey]*destination{},
	}
	if cfg.Keep != nil {
		a.keep = newKeeper(*cfg.Keep)
	}
	if !cfg.Since.IsZero() {
		a.since = cfg.Since.Unix()
	}
	if !cfg.Until.IsZero() {
		a.until = cfg.Until.Unix()
	}
	return a
}

// leak reports whether S3 traffic on path p bypassed the endpoint under
// the policy.
func (a *Analyzer) leak(p pathIndex) bool {
	switch p {
	case pPublicAWS, pPublicNonAWS:
		return true
	case pGateway:
		return a.cfg.Policy != PolicyPrivate
	}
	return false
}

func webPort(p int32) bool { return p == 443 || p == 80 }

// Add counts one record. It does not keep r.
func (a *Analyzer) Add(r *Record) {
	a.records++
	a.seq++
	if (r.End != 0 && r.End < a.since) || (r.Start != 0 && r.Start > a.until) {
		a.outside++
		return
	}
	switch r.Status {
	case StatusNoData:
		a.noData++
		return
	case StatusSkipData:
		a.skipData++
		if a.keep != nil {
			a.keep.offer(a, r, kSkip, nil, destKey{})
		}
		return
	}
	if r.Protocol >= 0 && r.Protocol != 6 {
		a.otherRecords++
		return
	}
	// The server is the side on port 443 or 80: the destination of a
	// request, the source of a reply. The packet-level address is the
	// original one (behind a NAT gateway, or for an EKS pod).
	var server, client netip.Addr
	var port int32
	var service []byte
	switch {
	case webPort(r.DstPort):
		server, client, port, service = pick(r.PktDst, r.Dst), pick(r.PktSrc, r.Src), r.DstPort, r.PktDstAWSService
	case webPort(r.SrcPort):
		server, client, port, service = pick(r.PktSrc, r.Src), pick(r.PktDst, r.Dst), r.SrcPort, r.PktSrcAWSService
	default:
		a.otherRecords++
		return
	}
	if !server.IsValid() {
		a.otherRecords++
		return
	}
	cl := a.cfg.Classifier.Classify(server)
	s3Service := string(service) == "S3"
	if cl.Path != resolve.PathInterfaceEndpoint && !(cl.InAWS && cl.AWS.Has("S3")) && !s3Service {
		a.nonS3Web++
		return
	}
	p, basis := indexOf(cl.Path), cl.Basis
	if p != pInterface && p != pPrivate {
		switch {
		case r.TrafficPath == 7:
			p, basis = pGateway, BasisTrafficPath
		case r.TrafficPath == 8:
			p, basis = pPublicAWS, BasisTrafficPath
		case p == pPublicNonAWS && s3Service:
			p, basis = pPublicAWS, BasisAWSService
		}
	}
	key := destKey{netip.AddrPortFrom(server, uint16(port)), p}
	if r.Action == ActionReject {
		a.rejected.add(r)
		g := a.group(r)
		if g != nil {
			g.rejected++
		}
		if !a.track(a.rejects, &a.rejectOrder, key, cl, basis, r, a.cfg.Limits.Rejects) {
			a.rejectsOmitted++
		}
		if a.keep != nil {
			a.keep.offer(a, r, kRejected, g, key)
		}
		return
	}
	a.paths[p].add(r)
	a.first, a.last = widen(a.first, a.last, r)
	g := a.group(r)
	if a.keep != nil {
		kind := kAllowed
		switch {
		case a.leak(p):
			kind = kLeak
		case p == pPrivate:
			kind = kPrivate
		}
		a.keep.offer(a, r, kind, g, key)
	}
	if g == nil {
		a.groupsOmitted++
		a.omittedPaths[p].add(r)
		return
	}
	g.paths[p].add(r)
	g.first, g.last = widen(g.first, g.last, r)
	if !a.leak(p) {
		return
	}
	if !a.track(a.dests, &a.destOrder, key, cl, basis, r, a.cfg.Limits.Destinations) {
		a.destsOmitted++
	}
	if !client.IsValid() {
		return
	}
	s := g.sources[client]
	if s == nil {
		if len(g.sources) >= a.cfg.Limits.Sources {
			g.srcOmitted++
			return
		}
		if g.sources == nil {
			g.sources = map[netip.Addr]*Totals{}
		}
		s = &Totals{}
		g.sources[client] = s
	}
	s.add(r)
}

func pick(pkt, eni netip.Addr) netip.Addr {
	if pkt.IsValid() {
		return pkt
	}
	return eni
}

func widen(first, last int64, r *Record) (int64, int64) {
	if r.Start != 0 && (first == 0 || r.Start < first) {
		first = r.Start
	}
	if r.End > last {
		last = r.End
	}
	return first, last
}

// group finds or makes the record's group; nil when the table is full.
func (a *Analyzer) group(r *Record) *group {
	var k []byte
	switch a.cfg.GroupBy {
	case GroupENI:
		k = r.InterfaceID
	case GroupInstance:
		k = r.InstanceID
	case GroupSubnet:
		k = r.SubnetID
	case GroupVPC:
		k = r.VPCID
	}
	if len(k) == 0 {
		k = []byte("-")
		a.unnamed++
	}
	g := a.groups[string(k)]
	if g == nil {
		if len(a.groups) >= a.cfg.Limits.Groups {
			return nil
		}
		g = &group{key: string(k)}
		a.groups[g.key] = g
		a.groupOrder = append(a.groupOrder, g)
	}
	g.records++
	return g
}

func (a *Analyzer) track(m map[destKey]*destination, order *[]destKey, k destKey, cl resolve.Class, basis string, r *Record, limit int) bool {
	d := m[k]
	if d == nil {
		if len(m) >= limit {
			return false
		}
		d = &destination{class: cl, basis: basis}
		m[k] = d
		*order = append(*order, k)
	}
	d.add(r)
	d.first, d.last = widen(d.first, d.last, r)
	return true
}
