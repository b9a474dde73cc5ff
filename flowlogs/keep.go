package flowlogs

import (
	"cmp"
	"io"
	"net/netip"
	"slices"
	"strconv"
	"strings"
)

// KeepLimits bound the records an analysis keeps as evidence (Config.Keep):
// the records the verdict rests on, written out whole by WriteKept. What
// is kept is enough to reach the same verdict again: the first record of
// each kind (a leak, S3 traffic the policy allows, S3 traffic to an
// unknown private address, a rejected S3 record, SKIPDATA) is always kept,
// and so is the first of each kind of each group, for the first Groups
// groups; the rest is a sample bounded per destination and in all.
type KeepLimits struct {
	// PerDestination is the records kept per group, server, path and kind.
	PerDestination int `json:"per_destination"`
	// Records and Leaks are the records kept besides the first ones: those
	// that do not fail the verdict and those that do, counted apart so
	// that allowed traffic cannot crowd out the leaks.
	Records int `json:"records"`
	Leaks   int `json:"leaks"`
	// Groups is how many groups (in the order they were met) have the
	// first record of each kind kept, whatever the other bounds say.
	Groups int `json:"groups"`
	// SkipData is the SKIPDATA records kept.
	SkipData int `json:"skipdata"`
}

// DefaultKeep are the bounds of an evidence bundle's records: at most
// 5 + 4 × 1,000 + 1,000 + 1,000 + 10 records, a few megabytes of text.
var DefaultKeep = KeepLimits{PerDestination: 10, Records: 1000, Leaks: 1000, Groups: 1000, SkipData: 10}

// The kinds of records kept.
type keepKind uint8

const (
	kLeak keepKind = iota
	kAllowed
	kPrivate
	kRejected
	kSkip
	numKinds
)

// maxKeptValue bounds a text field written out (a Parquet string may be
// of any length; a text line is at most 16 KiB).
const maxKeptValue = 256

type keptRecord struct {
	file  int    // the file's index in ReadAll's paths
	n     uint64 // the record's number in the file
	line  string // the record in KeptHeader's format
	kind  keepKind
	group string // the group's key; "" without a group
	dest  destKey
}

type keepKey struct {
	g    *group
	dest destKey
	kind keepKind
}

// keeper picks the records an analysis keeps. Its size is bounded by
// KeepLimits: a map entry and a line per record kept, nothing per record
// dropped.
type keeper struct {
	lim            KeepLimits
	recs           []keptRecord
	first          [numKinds]bool
	groupsReserved int
	perKey         map[keepKey]int
	extra          [2]int // kept besides the first ones: not leaks, leaks
	skip           int
	eligible       uint64 // records that could have been kept
	buf            []byte
}

func newKeeper(lim KeepLimits) *keeper {
	d := DefaultKeep
	for _, p := range []struct {
		v *int
		d int
	}{{&lim.PerDestination, d.PerDestination}, {&lim.Records, d.Records}, {&lim.Leaks, d.Leaks}, {&lim.Groups, d.Groups}, {&lim.SkipData, d.SkipData}} {
		if *p.v <= 0 {
			*p.v = p.d
		}
	}
	return &keeper{lim: lim, perKey: map[keepKey]int{}}
}

// decide says whether a record of kind k, group g and destination dest is
// kept, and counts it when it is.
func (k *keeper) decide(kind keepKind, g *group, dest destKey) bool {
	reserved := false
	if !k.first[kind] {
		k.first[kind] = true
		reserved = true
	}
	if g != nil && kind != kSkip {
		if !g.keepReserved && k.groupsReserved < k.lim.Groups {
			g.keepReserved = true
			k.groupsReserved++
		}
		if g.keepReserved && !g.keptKinds[kind] {
			g.keptKinds[kind] = true
			reserved = true
		}
	}
	if kind == kSkip {
		if !reserved && k.skip >= k.lim.SkipData {
			return false
		}
		k.skip++
		return true
	}
	key := keepKey{g, dest, kind}
	if reserved {
		k.perKey[key]++
		return true
	}
	c, limit := &k.extra[0], k.lim.Records
	if kind == kLeak {
		c, limit = &k.extra[1], k.lim.Leaks
	}
	if *c >= limit || k.perKey[key] >= k.lim.PerDestination {
		return false
	}
	k.perKey[key]++
	*c++
	return true
}

// offer is told of each record that could be kept, after the analysis
// counted it; it copies what it keeps.
func (k *keeper) offer(a *Analyzer, r *Record, kind keepKind, g *group, dest destKey) {
	k.eligible++
	if !k.decide(kind, g, dest) {
		return
	}
	k.buf = r.AppendText(k.buf[:0])
	kr := keptRecord{file: a.file, n: a.seq, line: string(k.buf), kind: kind, dest: dest}
	if g != nil {
		kr.group = g.key
	}
	k.recs = append(k.recs, kr)
}

// merge takes in what o kept, by the same rules, after a.Merge(o) made
// a's groups.
func (k *keeper) merge(a *Analyzer, o *keeper) {
	k.eligible += o.eligible
	recs := slices.Clone(o.recs)
	slices.SortStableFunc(recs, keptOrder)
	for _, kr := range recs {
		var g *group
		if kr.group != "" {
			g = a.groups[kr.group]
		}
		if k.decide(kr.kind, g, kr.dest) {
			k.recs = append(k.recs, kr)
		}
	}
}

func keptOrder(x, y keptRecord) int {
	return cmp.Or(cmp.Compare(x.file, y.file), cmp.Compare(x.n, y.n))
}

// KeptHeader is the header line of WriteKept: every field of versions 2
// to 5, in AWS's order, as the S3 delivery names them.
var KeptHeader = strings.Join(fieldNames[1:], " ")

// Kept counts the records kept (Config.Keep) and those that could have
// been but were beyond the bounds.
func (a *Analyzer) Kept() (kept, omitted uint64) {
	if a.keep == nil {
		return 0, 0
	}
	kept = uint64(len(a.keep.recs))
	return kept, a.keep.eligible - kept
}

// WriteKept writes the records kept (Config.Keep) as flow log text that
// this package reads back: KeptHeader, then one record a line, in the
// order they were read (by file, then within the file).
func (a *Analyzer) WriteKept(w io.Writer) error {
	var b strings.Builder
	b.WriteString(KeptHeader)
	b.WriteByte('\n')
	if _, err := io.WriteString(w, b.String()); err != nil {
		return err
	}
	if a.keep == nil {
		return nil
	}
	recs := slices.Clone(a.keep.recs)
	slices.SortStableFunc(recs, keptOrder)
	for _, kr := range recs {
		if _, err := io.WriteString(w, kr.line+"\n"); err != nil {
			return err
		}
	}
	return nil
}

// AppendText appends r in KeptHeader's format: every field, "-" for what
// r lacks. Text values are written as read, but for bytes that would
// break a line into more fields (spaces, control bytes: a Parquet or JSON
// string may hold them), which become '_', and a length cut to 256 bytes.
// Packets and bytes of a NODATA or SKIPDATA record are "-" when 0.
func (r *Record) AppendText(b []byte) []byte {
	num := func(b []byte, n int64, absent bool) []byte {
		if absent {
			return append(b, '-')
		}
		return strconv.AppendInt(b, n, 10)
	}
	addr := func(b []byte, a netip.Addr) []byte {
		if !a.IsValid() {
			return append(b, '-')
		}
		return a.AppendTo(b)
	}
	noTraffic := r.Status == StatusNoData || r.Status == StatusSkipData
	for f := FieldVersion; f < numFields; f++ {
		if f != FieldVersion {
			b = append(b, ' ')
		}
		switch f {
		case FieldVersion:
			b = num(b, int64(r.Version), r.Version == 0)
		case FieldAccountID:
			b = appendValue(b, r.AccountID)
		case FieldInterfaceID:
			b = appendValue(b, r.InterfaceID)
		case FieldSrcAddr:
			b = addr(b, r.Src)
		case FieldDstAddr:
			b = addr(b, r.Dst)
		case FieldSrcPort:
			b = num(b, int64(r.SrcPort), r.SrcPort < 0)
		case FieldDstPort:
			b = num(b, int64(r.DstPort), r.DstPort < 0)
		case FieldProtocol:
			b = num(b, int64(r.Protocol), r.Protocol < 0)
		case FieldPackets:
			b = appendCount(b, r.Packets, noTraffic)
		case FieldBytes:
			b = appendCount(b, r.Bytes, noTraffic)
		case FieldStart:
			b = num(b, r.Start, r.Start == 0)
		case FieldEnd:
			b = num(b, r.End, r.End == 0)
		case FieldAction:
			b = append(b, [...]string{"-", "ACCEPT", "REJECT"}[r.Action]...)
		case FieldLogStatus:
			b = append(b, [...]string{"-", "OK", "NODATA", "SKIPDATA"}[r.Status]...)
		case FieldVPCID:
			b = appendValue(b, r.VPCID)
		case FieldSubnetID:
			b = appendValue(b, r.SubnetID)
		case FieldInstanceID:
			b = appendValue(b, r.InstanceID)
		case FieldTCPFlags:
			b = num(b, int64(r.TCPFlags), r.TCPFlags < 0)
		case FieldType:
			b = appendValue(b, r.Type)
		case FieldPktSrcAddr:
			b = addr(b, r.PktSrc)
		case FieldPktDstAddr:
			b = addr(b, r.PktDst)
		case FieldRegion:
			b = appendValue(b, r.Region)
		case FieldAZID:
			b = appendValue(b, r.AZID)
		case FieldSublocationType:
			b = appendValue(b, r.SublocationType)
		case FieldSublocationID:
			b = appendValue(b, r.SublocationID)
		case FieldPktSrcAWSService:
			b = appendValue(b, r.PktSrcAWSService)
		case FieldPktDstAWSService:
			b = appendValue(b, r.PktDstAWSService)
		case FieldFlowDirection:
			b = append(b, [...]string{"-", "ingress", "egress"}[r.Direction]...)
		case FieldTrafficPath:
			b = num(b, int64(r.TrafficPath), r.TrafficPath == 0)
		}
	}
	return b
}

func appendCount(b []byte, n uint64, noTraffic bool) []byte {
	if n == 0 && noTraffic {
		return append(b, '-')
	}
	return strconv.AppendUint(b, n, 10)
}

func appendValue(b, v []byte) []byte {
	if len(v) == 0 {
		return append(b, '-')
	}
	for _, c := range v[:min(len(v), maxKeptValue)] {
		if c <= ' ' || c == 0x7f {
			c = '_'
		}
		b = append(b, c)
	}
	return b
}
