package ipranges

import (
	"bytes"
	"crypto/sha256"
	_ "embed"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"net/netip"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/gaissmai/bart"
)

// The embedded snapshot is AWS's ip-ranges.json as committed by the public
// tracker seligman/aws-ip-ranges at commit 7a942b53c75c61d9c3666d7b945b4d4561d7ef8d
// (syncToken 1787411825, createDate 2026-08-22-15-17-05, 2600669 bytes,
// sha256 752894ac9db21ac9e4c274246f43f3c4b0257eb0b098b0420160db10e756c965),
// copied byte for byte; see testdata/README.md.
//
//go:embed ip-ranges.json
var embeddedJSON []byte

// CreateDateLayout is the time layout of ip-ranges.json's createDate
// (UTC, dashes only).
const CreateDateLayout = "2006-01-02-15-04-05"

// Ranges is a parsed ip-ranges.json, ready for longest-prefix lookups. It is
// read-only after Parse and safe for concurrent use.
type Ranges struct {
	SyncToken  string    // publication time in Unix seconds, as AWS writes it (a string)
	CreateDate time.Time // createDate, UTC
	Source     string    // "embedded", or the file or URL the bytes came from
	SHA256     string    // hex SHA-256 of the exact bytes parsed

	IPv4Entries, IPv6Entries   int // entries as listed (one per prefix and service)
	IPv4Prefixes, IPv6Prefixes int // distinct prefixes

	// Entries lists every entry in file order, IPv4 first; strings are
	// interned. Read-only.
	Entries []Entry

	table   bart.Table[uint32] // prefix -> index into matches
	matches []Match
	data    []byte // the bytes parsed
}

// Bytes returns the exact bytes parsed, whose hash is SHA256: an evidence
// bundle keeps a copy. The caller must not change them.
func (r *Ranges) Bytes() []byte { return r.data }

// Entry is one element of prefixes or ipv6_prefixes.
type Entry struct {
	Prefix             netip.Prefix
	Service            string // "AMAZON", "S3", "EC2", ...; unknown names are kept as they are
	Region             string // "ap-south-1", or "GLOBAL"
	NetworkBorderGroup string // empty when the file does not say
}

// Match describes the ip-ranges.json prefixes that cover an address.
type Match struct {
	// Prefix is the most specific covering prefix.
	Prefix netip.Prefix
	// Services holds every service of every covering prefix, sorted and
	// deduplicated: an S3 prefix is usually listed again as AMAZON, or is
	// covered by a larger AMAZON prefix. The slice is shared; do not modify it.
	Services []string
	// Region and NetworkBorderGroup are those of Prefix. When Prefix is
	// listed several times with different regions, the first entry with a
	// specific service wins over AMAZON entries, because the specific
	// listing is the one AWS keeps current for that service.
	Region             string
	NetworkBorderGroup string
}

// Has reports whether service is one of m's services.
func (m Match) Has(service string) bool {
	return slices.Contains(m.Services, service)
}

var embedded = sync.OnceValue(func() *Ranges {
	r, err := Parse(embeddedJSON, "embedded")
	if err != nil {
		// TestEmbedded parses the same bytes, so this cannot happen in a
		// build whose tests passed.
		panic("resolve: embedded ip-ranges.json: " + err.Error())
	}
	return r
})

// Embedded returns the ip-ranges.json snapshot built into the program,
// parsed on first use.
func Embedded() *Ranges { return embedded() }

// Lookup returns what ip-ranges.json says about a: the most specific
// covering prefix and every service of every covering prefix. IPv4-mapped
// IPv6 addresses are looked up as IPv4. It does not allocate.
func (r *Ranges) Lookup(a netip.Addr) (Match, bool) {
	if !a.IsValid() {
		return Match{}, false
	}
	i, ok := r.table.Lookup(a.Unmap())
	if !ok {
		return Match{}, false
	}
	return r.matches[i], true
}

// Parse parses and checks an ip-ranges.json document. It rejects
// anything that is not exactly the published shape: invalid JSON, a missing
// or non-numeric syncToken, a createDate in another layout, a prefix that
// does not parse, is in the wrong family or has host bits set, and service,
// region or border-group names that are not plain identifiers, and nested
// prefixes whose service sets would take more than linear space (a hostile
// mirror's trick, never AWS's). Unknown keys are skipped. Errors name the
// source and the place ("prefixes[17].ip_prefix").
func Parse(data []byte, source string) (*Ranges, error) {
	r, err := parseRanges(data)
	if err != nil {
		return nil, fmt.Errorf("ip-ranges: %s: %w", source, err)
	}
	sum := sha256.Sum256(data)
	r.SHA256 = hex.EncodeToString(sum[:])
	r.Source = source
	r.data = data
	return r, nil
}

// rangesArray is one array of entries. Like encoding/json, a later
// duplicate key replaces an earlier one, so problems that are not JSON
// syntax (a wrong type, a bad prefix) are only remembered, in err, and
// reported once the whole document has been read.
type rangesArray struct {
	seen       bool
	start, end int   // span in the shared entries slice
	err        error // the first problem in this array
}

// field states while reading an object: a key may repeat, the last wins.
const (
	absent uint8 = iota
	present
	wrongType
)

type rangesParser struct {
	s       scanner
	intern  map[string]string
	entries []Entry
	// One entry's fields (prefix, service, region, network_border_group),
	// copied because the scanner's string buffer does not outlive the next
	// string.
	field [4][]byte
	state [4]uint8
}

func parseRanges(data []byte) (*Ranges, error) {
	t := bytes.TrimSpace(data)
	if len(t) == 0 {
		return nil, fmt.Errorf("empty input")
	}
	if t[0] == '<' {
		return nil, fmt.Errorf("not JSON: starts with %q (an HTML or XML page, not ip-ranges.json)", firstLine(t, 40))
	}
	p := &rangesParser{
		s:      scanner{data: data},
		intern: make(map[string]string, 256),
		// ~155 bytes per entry in the published file; len(data) is the
		// real input size, so this is not sized by anything untrusted.
		entries: make([]Entry, 0, len(data)/140+1),
	}
	var (
		top    [2][]byte // syncToken, createDate
		topSt  [2]uint8
		v4, v6 rangesArray
	)
	err := p.s.object(func(key []byte) error {
		i := -1
		switch string(key) {
		case "syncToken":
			i = 0
		case "createDate":
			i = 1
		case "prefixes":
			return p.array(&v4, "prefixes", "ip_prefix", true)
		case "ipv6_prefixes":
			return p.array(&v6, "ipv6_prefixes", "ipv6_prefix", false)
		default:
			return p.s.skip()
		}
		if p.s.peek() != '"' {
			topSt[i] = wrongType
			return p.s.skip()
		}
		v, err := p.s.str()
		if err != nil {
			return err
		}
		top[i], topSt[i] = append(top[i][:0], v...), present
		return nil
	})
	if err == nil {
		err = p.s.end()
	}
	if err != nil {
		return nil, err
	}

	syncToken, createDate := top[0], top[1]
	switch {
	case topSt[0] == absent:
		return nil, fmt.Errorf("no syncToken")
	case topSt[0] == wrongType:
		return nil, fmt.Errorf("syncToken: want a string")
	case !numeric(syncToken):
		return nil, fmt.Errorf("syncToken %s: want Unix seconds (digits only)", quoted(syncToken))
	case topSt[1] == absent:
		return nil, fmt.Errorf("no createDate")
	case topSt[1] == wrongType:
		return nil, fmt.Errorf("createDate: want a string")
	case !v4.seen:
		return nil, fmt.Errorf("no prefixes")
	case !v6.seen:
		return nil, fmt.Errorf("no ipv6_prefixes")
	case v4.err != nil:
		return nil, v4.err
	case v6.err != nil:
		return nil, v6.err
	}
	r := &Ranges{SyncToken: string(syncToken)}
	r.CreateDate, err = time.Parse(CreateDateLayout, string(createDate))
	if err != nil {
		return nil, fmt.Errorf("createDate %s: want %s: %w", quoted(createDate), CreateDateLayout, err)
	}

	r.IPv4Entries = v4.end - v4.start
	r.IPv6Entries = v6.end - v6.start
	if v4.start == 0 && v6.start == v4.end {
		r.Entries = p.entries[:v6.end:v6.end]
	} else {
		r.Entries = make([]Entry, 0, r.IPv4Entries+r.IPv6Entries)
		r.Entries = append(r.Entries, p.entries[v4.start:v4.end]...)
		r.Entries = append(r.Entries, p.entries[v6.start:v6.end]...)
	}
	if err := r.build(); err != nil {
		return nil, err
	}
	return r, nil
}

// The entry fields, in the order of rangesParser.field.
var entryFields = [4]string{"", "service", "region", "network_border_group"}

// array reads prefixes or ipv6_prefixes (name), whose entries carry their
// prefix under pfxKey. Syntax errors stop the parse at once; other problems
// are kept in a.err.
func (p *rangesParser) array(a *rangesArray, name, pfxKey string, want4 bool) error {
	*a = rangesArray{seen: true, start: len(p.entries), end: len(p.entries)}
	if p.s.peek() != '[' {
		a.err = fmt.Errorf("%s: want an array", name)
		return p.s.skip()
	}
	err := p.s.array(func(i int) error {
		if p.s.peek() != '{' {
			if a.err == nil {
				a.err = fmt.Errorf("%s[%d]: want an object", name, i)
			}
			return p.s.skip()
		}
		p.state = [4]uint8{}
		err := p.s.object(func(key []byte) error {
			f := -1
			switch string(key) {
			case pfxKey:
				f = 0
			case "service":
				f = 1
			case "region":
				f = 2
			case "network_border_group":
				f = 3
			default:
				return p.s.skip()
			}
			if p.s.peek() != '"' {
				p.state[f] = wrongType
				return p.s.skip()
			}
			v, err := p.s.str()
			if err != nil {
				return err
			}
			p.field[f], p.state[f] = append(p.field[f][:0], v...), present
			return nil
		})
		if err != nil || a.err != nil {
			return err
		}
		e, err := p.entry(pfxKey, want4)
		if err != nil {
			a.err = fmt.Errorf("%s[%d]%w", name, i, err)
			return nil
		}
		p.entries = append(p.entries, e)
		return nil
	})
	a.end = len(p.entries)
	return err
}

// entry checks the fields of one entry; errors start with the field, to
// follow the array index.
func (p *rangesParser) entry(pfxKey string, want4 bool) (Entry, error) {
	names := entryFields
	names[0] = pfxKey
	for f, st := range p.state {
		switch {
		case st == wrongType:
			return Entry{}, fmt.Errorf(".%s: want a string", names[f])
		case st == absent && f < 3: // network_border_group is optional
			return Entry{}, fmt.Errorf(": no %s", names[f])
		}
	}
	raw := p.field[0]
	pfx, err := netip.ParsePrefix(string(raw))
	if err != nil {
		msg := strings.TrimPrefix(err.Error(), fmt.Sprintf("netip.ParsePrefix(%q): ", raw))
		return Entry{}, fmt.Errorf(".%s %s: %s", pfxKey, quoted(raw), msg)
	}
	switch {
	case want4 && !pfx.Addr().Is4():
		return Entry{}, fmt.Errorf(".%s %s: not an IPv4 prefix", pfxKey, quoted(raw))
	case !want4 && (!pfx.Addr().Is6() || pfx.Addr().Is4In6()):
		return Entry{}, fmt.Errorf(".%s %s: not an IPv6 prefix", pfxKey, quoted(raw))
	case pfx != pfx.Masked():
		return Entry{}, fmt.Errorf(".%s %s: host bits set (want %s)", pfxKey, quoted(raw), pfx.Masked())
	}
	for f := 1; f < 4; f++ {
		if p.state[f] == present && !identifier(p.field[f]) {
			return Entry{}, fmt.Errorf(".%s %s: want letters, digits, '-', '_' or '.'", names[f], quoted(p.field[f]))
		}
	}
	e := Entry{Prefix: pfx, Service: p.internBytes(p.field[1]), Region: p.internBytes(p.field[2])}
	if p.state[3] == present {
		e.NetworkBorderGroup = p.internBytes(p.field[3])
	}
	return e, nil
}

func (p *rangesParser) internBytes(b []byte) string {
	if s, ok := p.intern[string(b)]; ok {
		return s
	}
	s := string(b)
	p.intern[s] = s
	return s
}

// identifier reports whether b is a plain name such as "S3", "ap-south-1" or
// "us-west-2-lax-1". Other bytes have no business in these fields and would
// end up in reports and terminals.
func identifier(b []byte) bool {
	if len(b) == 0 || len(b) > 64 {
		return false
	}
	for _, c := range b {
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '-' || c == '_' || c == '.') {
			return false
		}
	}
	return true
}

func numeric(b []byte) bool {
	if len(b) == 0 || len(b) > 20 {
		return false
	}
	for _, c := range b {
		if c < '0' || c > '9' {
			return false
		}
	}
	return true
}

// quoted quotes b for an error message, cut to a readable length.
func quoted(b []byte) string {
	if len(b) > 64 {
		return fmt.Sprintf("%q...", b[:64])
	}
	return fmt.Sprintf("%q", b)
}

func firstLine(b []byte, n int) []byte {
	if i := bytes.IndexAny(b, "\r\n"); i >= 0 {
		b = b[:i]
	}
	if len(b) > n {
		b = b[:n]
	}
	return b
}

// build indexes r.Entries: one table slot per distinct prefix, whose Match
// already holds the union of its own services and those of all its
// supernets, so that Lookup is a single longest-prefix match. Its cost is
// linear in the number of entries: a prefix that adds no service to its
// supernet's set shares that set, and one that does is looked up by
// (supernet's set, added services) before anything is merged. A hostile
// file can still ask for a distinct large set per prefix (a supernet of
// many services over many subnets of one new service each); that is
// refused, with errServiceSets, once merging has cost more than a bound
// proportional to the file.
func (r *Ranges) build() error {
	type group struct {
		first, last int32 // chain of entries through next
	}
	index := make(map[netip.Prefix]int32, len(r.Entries)/2+1)
	groups := make([]group, 0, len(r.Entries)/2+1)
	next := make([]int32, len(r.Entries))
	for i := range r.Entries {
		next[i] = -1
		pfx := r.Entries[i].Prefix
		if g, ok := index[pfx]; ok {
			next[groups[g].last] = int32(i)
			groups[g].last = int32(i)
			continue
		}
		index[pfx] = int32(len(groups))
		groups = append(groups, group{int32(i), int32(i)})
		if pfx.Addr().Is4() {
			r.IPv4Prefixes++
		} else {
			r.IPv6Prefixes++
		}
	}

	// Supernets before subnets: a counting sort by prefix length.
	var count [129 + 1]int
	for _, g := range groups {
		count[r.Entries[g.first].Prefix.Bits()+1]++
	}
	for i := 1; i < len(count); i++ {
		count[i] += count[i-1]
	}
	order := make([]int32, len(groups))
	for gi, g := range groups {
		b := r.Entries[g.first].Prefix.Bits()
		order[count[b]] = int32(gi)
		count[b]++
	}

	sets := serviceSets{
		byContent: make(map[string]int32),
		derived:   make(map[string]int32),
		budget:    serviceSetBudget(len(r.Entries)),
	}
	setOf := make([]int32, 0, len(groups)) // match index -> index into sets.sets
	var own []string
	r.matches = make([]Match, 0, len(groups))
	for _, gi := range order {
		g := groups[gi]
		first := r.Entries[g.first]
		pfx := first.Prefix

		parent := int32(-1)
		if pfx.Bits() > 0 {
			up := netip.PrefixFrom(pfx.Addr(), pfx.Bits()-1).Masked()
			if _, pi, ok := r.table.LookupPrefixLPM(up); ok {
				parent = setOf[pi]
			}
		}
		own = own[:0]
		region, nbg, specific := first.Region, first.NetworkBorderGroup, first.Service != "AMAZON"
		for i := g.first; i >= 0; i = next[i] {
			e := r.Entries[i]
			own = append(own, e.Service)
			if !specific && e.Service != "AMAZON" {
				region, nbg, specific = e.Region, e.NetworkBorderGroup, true
			}
		}
		slices.Sort(own)
		own = slices.Compact(own)
		si, err := sets.union(parent, own)
		if err != nil {
			return fmt.Errorf("prefix %s: %w", pfx, err)
		}
		r.table.Insert(pfx, uint32(len(r.matches)))
		r.matches = append(r.matches, Match{Prefix: pfx, Services: sets.sets[si], Region: region, NetworkBorderGroup: nbg})
		setOf = append(setOf, si)
	}
	return nil
}

// serviceSetBudget bounds the names build may copy while merging service
// sets, for a file of n entries. The published file needs a few hundred
// (a few dozen services, nested at most three deep); the bound leaves two
// orders of magnitude for AWS to grow and still keeps a hostile file's
// load linear in its size.
func serviceSetBudget(n int) int { return 16*n + 1<<16 }

// errServiceSets is the refusal of a file whose nested prefixes combine
// their services in more ways than serviceSetBudget allows.
var errServiceSets = errors.New("nested prefixes combine their services into too many distinct sets (no published ip-ranges.json comes near)")

// serviceSets holds the distinct, sorted service sets of the Matches, each
// stored once and shared.
type serviceSets struct {
	sets      [][]string
	byContent map[string]int32 // names joined by NUL -> index in sets
	derived   map[string]int32 // parent index and added names -> index in sets
	work      int              // names copied so far
	budget    int
	extra     []string
	key       []byte
}

// union returns the index of the set that holds the services of set parent
// (-1 for none) and own (sorted, without duplicates).
func (s *serviceSets) union(parent int32, own []string) (int32, error) {
	var base []string
	extra := own
	if parent >= 0 {
		base = s.sets[parent]
		extra = s.extra[:0]
		for _, name := range own {
			if _, found := slices.BinarySearch(base, name); !found {
				extra = append(extra, name)
			}
		}
		s.extra = extra
		if len(extra) == 0 {
			return parent, nil
		}
	}
	key := binary.LittleEndian.AppendUint32(s.key[:0], uint32(parent))
	for _, name := range extra {
		key = append(append(key, name...), 0)
	}
	s.key = key
	if i, ok := s.derived[string(key)]; ok {
		return i, nil
	}
	s.work += 2*len(base) + 2*len(extra) // the merge and its content key
	if s.work > s.budget {
		return -1, errServiceSets
	}
	merged := make([]string, 0, len(base)+len(extra))
	i, j := 0, 0
	for i < len(base) || j < len(extra) {
		if j == len(extra) || i < len(base) && base[i] < extra[j] {
			merged = append(merged, base[i])
			i++
		} else {
			merged = append(merged, extra[j])
			j++
		}
	}
	var content []byte
	for _, name := range merged {
		content = append(append(content, name...), 0)
	}
	si, ok := s.byContent[string(content)]
	if !ok {
		si = int32(len(s.sets))
		s.sets = append(s.sets, merged)
		s.byContent[string(content)] = si
	}
	s.derived[string(key)] = si
	return si, nil
}
