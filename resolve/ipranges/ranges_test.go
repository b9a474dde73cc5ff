package ipranges

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"net/netip"
	"os"
	"runtime"
	"slices"
	"strings"
	"testing"
	"time"
)

func readTestdata(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(name)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// The facts below are those published with the shared snapshots (testenv.Shared(t, "data")), computed there with
// Python's json and ipaddress modules.
func TestSnapshotFacts(t *testing.T) {
	older, err := Parse(readTestdata(t, "testdata/ip-ranges-older.json"), "testdata/ip-ranges-older.json")
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name                       string
		r                          *Ranges
		source, syncToken, sha256  string
		createDate                 time.Time
		v4, v6, v4Distinct, v6Dist int
		s3v4, s3v6, services       int
	}{
		{"embedded", Embedded(), "embedded", "1787411825", "752894ac9db21ac9e4c274246f43f3c4b0257eb0b098b0420160db10e756c965",
			time.Date(2026, 8, 22, 15, 17, 5, 0, time.UTC), 10668, 6160, 7905, 3108, 441, 513, 28},
		{"older", older, "testdata/ip-ranges-older.json", "1763162320", "fc07caacdd037e40f7173b2e69511832b97f8ddf7b721a853f335c3a9ec4a371",
			time.Date(2025, 11, 14, 23, 18, 40, 0, time.UTC), 9463, 4452, 7142, 2302, 359, 335, 26},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := tt.r
			if r.Source != tt.source || r.SyncToken != tt.syncToken || r.SHA256 != tt.sha256 || !r.CreateDate.Equal(tt.createDate) || r.CreateDate.Location() != time.UTC {
				t.Errorf("got source %q syncToken %q sha256 %s createDate %v", r.Source, r.SyncToken, r.SHA256, r.CreateDate)
			}
			if r.IPv4Entries != tt.v4 || r.IPv6Entries != tt.v6 || r.IPv4Prefixes != tt.v4Distinct || r.IPv6Prefixes != tt.v6Dist {
				t.Errorf("entries %d+%d, distinct %d+%d; want %d+%d, %d+%d",
					r.IPv4Entries, r.IPv6Entries, r.IPv4Prefixes, r.IPv6Prefixes, tt.v4, tt.v6, tt.v4Distinct, tt.v6Dist)
			}
			if len(r.Entries) != tt.v4+tt.v6 {
				t.Errorf("len(Entries) = %d", len(r.Entries))
			}
			var s3v4, s3v6 int
			services := map[string]bool{}
			for i, e := range r.Entries {
				services[e.Service] = true
				if e.Prefix.Addr().Is4() != (i < tt.v4) {
					t.Fatalf("Entries[%d] = %v: IPv4 entries must come first", i, e.Prefix)
				}
				if e.Service == "S3" {
					if e.Prefix.Addr().Is4() {
						s3v4++
					} else {
						s3v6++
					}
				}
			}
			if s3v4 != tt.s3v4 || s3v6 != tt.s3v6 || len(services) != tt.services {
				t.Errorf("S3 entries %d+%d, %d services; want %d+%d, %d", s3v4, s3v6, len(services), tt.s3v4, tt.s3v6, tt.services)
			}
		})
	}
}

func TestLookup(t *testing.T) {
	r := Embedded()
	tests := []struct {
		addr     string
		prefix   string // "" for no match
		services []string
		region   string
	}{
		{"52.216.25.1", "52.216.0.0/15", []string{"AMAZON", "S3"}, "us-east-1"},
		{"3.5.208.1", "3.5.208.0/22", []string{"AMAZON", "EC2", "S3"}, "ap-south-1"},
		{"3.5.211.255", "3.5.208.0/22", []string{"AMAZON", "EC2", "S3"}, "ap-south-1"},
		{"18.196.145.224", "18.196.0.0/15", []string{"AMAZON", "EC2"}, "eu-central-1"},
		{"52.200.36.167", "52.200.0.0/13", []string{"AMAZON", "EC2"}, "us-east-1"},
		{"52.218.224.193", "52.218.128.0/17", []string{"AMAZON", "S3"}, "us-west-2"},
		{"::ffff:52.216.25.1", "52.216.0.0/15", []string{"AMAZON", "S3"}, "us-east-1"},
		{"2406:daf9:a000::1", "2406:daf9:a000::/40", nil, "ap-south-1"},
		{"8.8.8.8", "", nil, ""},
		{"10.0.1.25", "", nil, ""},
		{"2001:db8::1", "", nil, ""},
	}
	for _, tt := range tests {
		t.Run(tt.addr, func(t *testing.T) {
			m, ok := r.Lookup(netip.MustParseAddr(tt.addr))
			if tt.prefix == "" {
				if ok {
					t.Fatalf("matched %+v, want no match", m)
				}
				return
			}
			if !ok || m.Prefix != netip.MustParsePrefix(tt.prefix) || m.Region != tt.region {
				t.Fatalf("got %+v %v, want %s in %s", m, ok, tt.prefix, tt.region)
			}
			if tt.services != nil && !slices.Equal(m.Services, tt.services) {
				t.Errorf("services %v, want %v", m.Services, tt.services)
			}
			if !m.Has("AMAZON") || m.Has("CLOUDFRONT") {
				t.Errorf("Has: services %v", m.Services)
			}
		})
	}
	if _, ok := r.Lookup(netip.Addr{}); ok {
		t.Error("the zero Addr matched")
	}
}

func TestAPSouth1S3(t *testing.T) {
	want4 := strings.Split("1.178.88.0/24 3.2.69.0/24 3.5.208.0/22 3.5.212.0/23 16.12.3.0/24 16.12.36.0/22 16.12.40.0/23 "+
		"52.219.62.0/23 52.219.64.0/22 52.219.156.0/22 52.219.160.0/23 65.1.103.208/28 65.1.103.224/28", " ")
	want6 := strings.Split("2406:da60:a000::/40 2406:da61:a000::/40 2406:daa0:a000::/40 2406:dab9:a000::/40 "+
		"2406:daef:a000::/40 2406:daf0:a000::/40 2406:daf4:a000::/40 2406:daf8:a000::/40 "+
		"2406:daf9:a000::/40 2406:dafa:a000::/40 2600:f0f0:6105::/48 2600:f0f2:701a::/48", " ")
	r := Embedded()
	var got4, got6 []string
	for _, e := range r.Entries {
		if e.Service == "S3" && e.Region == "ap-south-1" {
			if e.NetworkBorderGroup != "ap-south-1" {
				t.Errorf("%v: border group %q", e.Prefix, e.NetworkBorderGroup)
			}
			if e.Prefix.Addr().Is4() {
				got4 = append(got4, e.Prefix.String())
			} else {
				got6 = append(got6, e.Prefix.String())
			}
		}
	}
	for _, tt := range []struct {
		name      string
		got, want []string
	}{{"ipv4", got4, want4}, {"ipv6", got6, want6}} {
		t.Run(tt.name, func(t *testing.T) {
			slices.Sort(tt.got)
			slices.Sort(tt.want)
			if !slices.Equal(tt.got, tt.want) {
				t.Fatalf("got %v\nwant %v", tt.got, tt.want)
			}
			for _, s := range tt.want {
				p := netip.MustParsePrefix(s)
				for _, a := range []netip.Addr{p.Addr(), lastAddr(p)} {
					m, ok := r.Lookup(a)
					if !ok || !m.Has("S3") || !m.Prefix.Overlaps(p) || m.Prefix.Bits() < p.Bits() {
						t.Errorf("Lookup(%v) = %+v, %v; want S3 within %v", a, m, ok, p)
					}
				}
			}
		})
	}
}

func lastAddr(p netip.Prefix) netip.Addr {
	b := p.Addr().AsSlice()
	for i := p.Bits(); i < len(b)*8; i++ {
		b[i/8] |= 0x80 >> (i % 8)
	}
	a, _ := netip.AddrFromSlice(b)
	return a
}

// naiveLookup is the specification of Lookup, written as plainly as
// possible: every covering entry, the longest prefix, its first entry with a
// specific service (else its first entry).
func naiveLookup(entries []Entry, a netip.Addr) (Match, bool) {
	var m Match
	found := false
	for _, e := range entries {
		if !e.Prefix.Contains(a) {
			continue
		}
		found = true
		if !slices.Contains(m.Services, e.Service) {
			m.Services = append(m.Services, e.Service)
		}
		if e.Prefix.Bits() > m.Prefix.Bits() || !m.Prefix.IsValid() {
			m.Prefix = e.Prefix
		}
	}
	if !found {
		return Match{}, false
	}
	slices.Sort(m.Services)
	for _, e := range entries {
		if e.Prefix == m.Prefix && e.Service != "AMAZON" {
			m.Region, m.NetworkBorderGroup = e.Region, e.NetworkBorderGroup
			return m, true
		}
	}
	for _, e := range entries {
		if e.Prefix == m.Prefix {
			m.Region, m.NetworkBorderGroup = e.Region, e.NetworkBorderGroup
			break
		}
	}
	return m, true
}

func TestLookupAgreesWithLinearScan(t *testing.T) {
	r := Embedded()
	rng := rand.New(rand.NewPCG(1, 2))
	var addrs []netip.Addr
	for i := 0; i < 600; i++ {
		// the edges of a listed prefix and the addresses just outside it
		p := r.Entries[rng.IntN(len(r.Entries))].Prefix
		first, last := p.Addr(), lastAddr(p)
		addrs = append(addrs, first, last, first.Prev(), last.Next())
	}
	for i := 0; i < 1500; i++ {
		var b4 [4]byte
		var b16 [16]byte
		for j := range b4 {
			b4[j] = byte(rng.Uint32())
		}
		for j := range b16 {
			b16[j] = byte(rng.Uint32())
		}
		b16[0], b16[1] = 0x24, 0x06 // 2406::/16 holds many AWS prefixes
		addrs = append(addrs, netip.AddrFrom4(b4), netip.AddrFrom16(b16))
	}
	hits := 0
	for _, a := range addrs {
		if !a.IsValid() {
			continue
		}
		got, gotOK := r.Lookup(a)
		want, wantOK := naiveLookup(r.Entries, a)
		if gotOK != wantOK || got.Prefix != want.Prefix || !slices.Equal(got.Services, want.Services) ||
			got.Region != want.Region || got.NetworkBorderGroup != want.NetworkBorderGroup {
			t.Fatalf("Lookup(%v) = %+v, %v; linear scan says %+v, %v", a, got, gotOK, want, wantOK)
		}
		if gotOK {
			hits++
		}
	}
	if hits < len(addrs)/4 {
		t.Fatalf("only %d of %d addresses matched: the test does not exercise lookups", hits, len(addrs))
	}
}

func TestLookupRegionPrefersSpecificService(t *testing.T) {
	doc := `{"syncToken":"1","createDate":"2026-01-02-03-04-05","prefixes":[
		{"ip_prefix":"10.0.0.0/8","region":"us-east-1","service":"AMAZON","network_border_group":"us-east-1"},
		{"ip_prefix":"10.1.0.0/16","region":"GLOBAL","service":"AMAZON","network_border_group":"GLOBAL"},
		{"ip_prefix":"10.1.0.0/16","region":"eu-west-1","service":"S3","network_border_group":"eu-west-1"},
		{"ip_prefix":"10.1.2.0/24","region":"eu-west-1","service":"EC2"}],
		"ipv6_prefixes":[]}`
	r, err := Parse([]byte(doc), "test")
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		addr, prefix, region string
		services             []string
	}{
		{"10.1.0.1", "10.1.0.0/16", "eu-west-1", []string{"AMAZON", "S3"}},
		{"10.1.2.3", "10.1.2.0/24", "eu-west-1", []string{"AMAZON", "EC2", "S3"}},
		{"10.2.0.1", "10.0.0.0/8", "us-east-1", []string{"AMAZON"}},
	}
	for _, tt := range tests {
		t.Run(tt.addr, func(t *testing.T) {
			m, ok := r.Lookup(netip.MustParseAddr(tt.addr))
			if !ok || m.Prefix.String() != tt.prefix || m.Region != tt.region || !slices.Equal(m.Services, tt.services) {
				t.Fatalf("got %+v", m)
			}
		})
	}
}

func TestLookupDoesNotAllocate(t *testing.T) {
	r := Embedded()
	a := netip.MustParseAddr("::ffff:52.216.25.1")
	if n := testing.AllocsPerRun(1000, func() { r.Lookup(a) }); n != 0 {
		t.Fatalf("Lookup allocates %v times", n)
	}
}

func TestParseRangesErrors(t *testing.T) {
	const head = `"syncToken":"1787411825","createDate":"2026-08-22-15-17-05"`
	entry := func(pfx string) string {
		return `{"ip_prefix":"` + pfx + `","region":"ap-south-1","service":"S3","network_border_group":"ap-south-1"}`
	}
	good := make([]string, 17)
	for i := range good {
		good[i] = entry(fmt.Sprintf("52.219.%d.0/24", i))
	}
	tests := []struct {
		name, doc, want string
	}{
		{"html", "\n<!DOCTYPE html>\n<html><body>Access denied</body></html>", `not JSON: starts with "<!DOCTYPE html>" (an HTML`},
		{"empty", " \n", "empty input"},
		{"truncated", `{` + head + `,"prefixes":[` + entry("3.5.208.0/22") + `,{"ip_pre`, "unexpected end of input"},
		{"trailing garbage", `{` + head + `,"prefixes":[],"ipv6_prefixes":[]} x`, `byte 95: unexpected 'x', want the end of input`},
		{"bad prefix", `{` + head + `,"prefixes":[` + strings.Join(good, ",") + `,` + entry("52.219.64.0/33") + `],"ipv6_prefixes":[]}`,
			`prefixes[17].ip_prefix "52.219.64.0/33": `},
		{"ipv6 in prefixes", `{` + head + `,"prefixes":[` + entry("2406:da60:a000::/40") + `],"ipv6_prefixes":[]}`,
			`prefixes[0].ip_prefix "2406:da60:a000::/40": not an IPv4 prefix`},
		{"host bits", `{` + head + `,"prefixes":[` + entry("52.219.64.1/22") + `],"ipv6_prefixes":[]}`,
			`host bits set (want 52.219.64.0/22)`},
		{"missing syncToken", `{"createDate":"2026-08-22-15-17-05","prefixes":[],"ipv6_prefixes":[]}`, "no syncToken"},
		{"syncToken not numeric", `{"syncToken":"17874x","createDate":"2026-08-22-15-17-05","prefixes":[],"ipv6_prefixes":[]}`,
			`syncToken "17874x": want Unix seconds`},
		{"syncToken a number", `{"syncToken":1787411825,"createDate":"2026-08-22-15-17-05","prefixes":[],"ipv6_prefixes":[]}`,
			`syncToken: want a string`},
		{"createDate iso", `{"syncToken":"1","createDate":"2026-08-22T15:17:05Z","prefixes":[],"ipv6_prefixes":[]}`,
			`createDate "2026-08-22T15:17:05Z": want 2006-01-02-15-04-05`},
		{"no ipv6_prefixes", `{` + head + `,"prefixes":[]}`, "no ipv6_prefixes"},
		{"prefixes an object", `{` + head + `,"prefixes":{},"ipv6_prefixes":[]}`, "prefixes: want an array"},
		{"entry without region", `{` + head + `,"prefixes":[{"ip_prefix":"3.5.208.0/22","service":"S3"}],"ipv6_prefixes":[]}`,
			"prefixes[0]: no region"},
		{"service with an escape code", `{` + head + `,"prefixes":[{"ip_prefix":"3.5.208.0/22","region":"x","service":"S3\u001b[31m"}],"ipv6_prefixes":[]}`,
			`prefixes[0].service "S3\x1b[31m": want letters`},
		{"bad escape", `{"syncToken":"1\q"}`, `byte 16: invalid escape 'q' in string`},
		{"control character", "{\"syncToken\":\"1\n\"}", `byte 15: control character 0x0a in string`},
		{"bad number", `{"x":01}`, `unexpected '1', want ',' or '}'`},
		{"array not object", `[]`, `byte 0: unexpected '[', want '{'`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r, err := Parse([]byte(tt.doc), "bad.json")
			if err == nil {
				t.Fatalf("parsed %d entries, want an error", len(r.Entries))
			}
			if !strings.HasPrefix(err.Error(), "ip-ranges: bad.json: ") || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("error %q, want it to contain %q", err, tt.want)
			}
		})
	}
}

func TestParseRangesDuplicateKeysLastWins(t *testing.T) {
	doc := `{"syncToken":1,"syncToken":"2","createDate":"2026-08-22-15-17-05",
		"prefixes":[{"ip_prefix":"bad","region":"x","service":"S3"}],
		"ipv6_prefixes":[],
		"prefixes":[{"ip_prefix":"3.5.208.0/22","region":5,"region":"ap-south-1","service":"S3"}]}`
	r, err := Parse([]byte(doc), "dup.json")
	if err != nil {
		t.Fatal(err)
	}
	if r.SyncToken != "2" || len(r.Entries) != 1 || r.Entries[0].Region != "ap-south-1" || r.IPv4Entries != 1 {
		t.Fatalf("got %+v", r)
	}
}

// referenceRanges reads an ip-ranges.json document with encoding/json and
// applies the checks Parse documents. It shares no code with the
// scanner.
func referenceRanges(data []byte) (syncToken string, created time.Time, entries []Entry, err error) {
	if !json.Valid(data) {
		return "", time.Time{}, nil, errors.New("invalid JSON")
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber() // a number too large for float64 is still valid JSON
	var doc any
	if err := dec.Decode(&doc); err != nil {
		return "", time.Time{}, nil, err
	}
	top, ok := doc.(map[string]any)
	if !ok {
		return "", time.Time{}, nil, errors.New("not an object")
	}
	syncToken, ok = top["syncToken"].(string)
	if !ok || syncToken == "" || len(syncToken) > 20 || strings.Trim(syncToken, "0123456789") != "" {
		return "", time.Time{}, nil, errors.New("syncToken")
	}
	date, ok := top["createDate"].(string)
	if !ok {
		return "", time.Time{}, nil, errors.New("createDate")
	}
	if created, err = time.Parse("2006-01-02-15-04-05", date); err != nil {
		return "", time.Time{}, nil, err
	}
	ident := func(s string) bool {
		return s != "" && len(s) <= 64 && strings.Trim(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_.") == ""
	}
	for _, fam := range []struct{ key, pfxKey string }{{"prefixes", "ip_prefix"}, {"ipv6_prefixes", "ipv6_prefix"}} {
		list, ok := top[fam.key].([]any)
		if !ok {
			return "", time.Time{}, nil, errors.New(fam.key)
		}
		for _, el := range list {
			obj, ok := el.(map[string]any)
			if !ok {
				return "", time.Time{}, nil, errors.New("entry")
			}
			var e Entry
			pfx, ok1 := obj[fam.pfxKey].(string)
			svc, ok2 := obj["service"].(string)
			region, ok3 := obj["region"].(string)
			if !ok1 || !ok2 || !ok3 || !ident(svc) || !ident(region) {
				return "", time.Time{}, nil, errors.New("entry fields")
			}
			if nbg, ok := obj["network_border_group"]; ok {
				s, ok := nbg.(string)
				if !ok || !ident(s) {
					return "", time.Time{}, nil, errors.New("network_border_group")
				}
				e.NetworkBorderGroup = s
			}
			if e.Prefix, err = netip.ParsePrefix(pfx); err != nil {
				return "", time.Time{}, nil, err
			}
			a := e.Prefix.Addr()
			if (fam.key == "prefixes") != a.Is4() || a.Is4In6() || e.Prefix.Masked() != e.Prefix {
				return "", time.Time{}, nil, errors.New("prefix family or host bits")
			}
			e.Service, e.Region = svc, region
			entries = append(entries, e)
		}
	}
	return syncToken, created, entries, nil
}

// checkAgainstReference fails t when Parse and referenceRanges
// disagree about data.
func checkAgainstReference(t *testing.T, data []byte) {
	t.Helper()
	r, err := Parse(data, "input")
	sync, created, entries, refErr := referenceRanges(data)
	if (err == nil) != (refErr == nil) {
		t.Fatalf("ParseRanges error %v, encoding/json reference error %v", err, refErr)
	}
	if err != nil {
		return
	}
	if r.SyncToken != sync || !r.CreateDate.Equal(created) || !slices.Equal(r.Entries, entries) ||
		r.IPv4Entries+r.IPv6Entries != len(entries) {
		t.Fatalf("ParseRanges and the reference disagree: %q %v %d entries vs %q %v %d entries",
			r.SyncToken, r.CreateDate, len(r.Entries), sync, created, len(entries))
	}
}

func TestParseRangesAgreesWithEncodingJSON(t *testing.T) {
	for _, name := range []string{"ip-ranges.json", "testdata/ip-ranges-older.json"} {
		t.Run(name, func(t *testing.T) { checkAgainstReference(t, readTestdata(t, name)) })
	}
}

func FuzzParseRanges(f *testing.F) {
	f.Add([]byte(`{"syncToken":"1","createDate":"2026-08-22-15-17-05","prefixes":[{"ip_prefix":"3.5.208.0/22","region":"ap-south-1","service":"S3","network_border_group":"ap-south-1"}],"ipv6_prefixes":[{"ipv6_prefix":"2406:da60:a000::/40","region":"ap-south-1","service":"S3"}]}`))
	f.Add([]byte(`{"syncToken":"1","createDate":"2026-08-22-15-17-05","x":[1.5e3,-0,true,null,{"a":"\u00e9\ud83d\ude00\n"}],"prefixes":[],"ipv6_prefixes":[]}`))
	f.Add([]byte(`{"syncT\u006fken":"1","createDate":"2026-08-22-15-17-05","prefixes":[],"prefixes":[{"ip_prefix":"1.2.3.0/24","region":"a","service":"b"}],"ipv6_prefixes":[]}`))
	f.Add(embeddedJSON[:4000])
	f.Fuzz(func(t *testing.T, data []byte) {
		checkAgainstReference(t, data)
		if r, err := Parse(data, "fuzz"); err == nil {
			for _, e := range r.Entries {
				if m, ok := r.Lookup(e.Prefix.Addr()); !ok || !m.Has(e.Service) {
					t.Fatalf("Lookup(%v) = %+v, %v; want a match with %s", e.Prefix.Addr(), m, ok, e.Service)
				}
			}
		}
	})
}

func BenchmarkParseEmbedded(b *testing.B) {
	b.ReportAllocs()
	b.SetBytes(int64(len(embeddedJSON)))
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	for b.Loop() {
		if _, err := Parse(embeddedJSON, "embedded"); err != nil {
			b.Fatal(err)
		}
	}
	runtime.ReadMemStats(&after)
	b.ReportMetric(float64(after.TotalAlloc-before.TotalAlloc)/float64(b.N)/1e6, "MB-allocated/op")
}

// lookupMix is a realistic mix of addresses: in S3 ranges, in AMAZON or
// EC2 only, IPv6, IPv4-mapped, and outside AWS.
var lookupMix = []string{
	"52.216.25.1", "3.5.208.1", "52.219.64.10", "16.12.36.5", // S3
	"18.196.145.224", "52.200.36.167", "54.239.0.1", // EC2 / AMAZON
	"2406:daf9:a000::1", "2406:da1a:8e0:2c01::25", "2600:f0f0:6105::7", // IPv6 in AWS
	"::ffff:52.219.62.1",                                            // mapped
	"8.8.8.8", "1.1.1.1", "10.0.1.25", "192.168.1.1", "2001:db8::1", // not AWS
}

func BenchmarkLookup(b *testing.B) {
	r := Embedded()
	addrs := make([]netip.Addr, len(lookupMix))
	for i, s := range lookupMix {
		addrs[i] = netip.MustParseAddr(s)
	}
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		r.Lookup(addrs[i%len(addrs)])
		i++
	}
}

// nestedDoc is an ip-ranges.json whose 10.0.0.0/8 is listed under n
// services and holds n /32s, the i-th listed under child(i): the shape a
// hostile mirror would serve to make a quadratic loader hang.
func nestedDoc(n int, child func(i int) string) []byte {
	var b bytes.Buffer
	b.WriteString(`{"syncToken":"1","createDate":"2026-01-02-03-04-05","prefixes":[`)
	for i := range n {
		fmt.Fprintf(&b, `{"ip_prefix":"10.0.0.0/8","region":"us-east-1","service":"SVC%d"},`, i)
	}
	for i := range n {
		if i > 0 {
			b.WriteByte(',')
		}
		fmt.Fprintf(&b, `{"ip_prefix":"10.%d.%d.%d/32","region":"eu-west-1","service":%q}`, i>>16&255, i>>8&255, i&255, child(i))
	}
	b.WriteString(`],"ipv6_prefixes":[]}`)
	return b.Bytes()
}

// Before the service sets were shared, each /32 copied, sorted and keyed
// its supernet's 40,000 services: about 30 s for this file. Now it loads
// in a fraction of a second, with the same answers.
func TestParseRangesManyServicesOverManySubnets(t *testing.T) {
	const n = 40000
	r, err := Parse(nestedDoc(n, func(int) string { return "S3" }), "nested.json")
	if err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		addr, prefix, region string
		services             int
		s3                   bool
	}{
		{"10.0.0.0", "10.0.0.0/32", "eu-west-1", n + 1, true},
		{"10.0.156.63", "10.0.156.63/32", "eu-west-1", n + 1, true}, // the last /32
		{"10.0.156.64", "10.0.0.0/8", "us-east-1", n, false},
		{"10.255.0.1", "10.0.0.0/8", "us-east-1", n, false},
	} {
		m, ok := r.Lookup(netip.MustParseAddr(tt.addr))
		if !ok || m.Prefix.String() != tt.prefix || m.Region != tt.region || len(m.Services) != tt.services ||
			m.Has("S3") != tt.s3 || !m.Has("SVC0") || !m.Has(fmt.Sprintf("SVC%d", n-1)) || !slices.IsSorted(m.Services) {
			t.Errorf("Lookup(%s) = %s %s, %d services (S3 %v), %v", tt.addr, m.Prefix, m.Region, len(m.Services), m.Has("S3"), ok)
		}
	}
}

// A supernet of 40,000 services over 40,000 /32s that each add a service
// of their own asks for 40,000 distinct sets of 40,001 names (25 GB): the
// file is refused, quickly, instead.
func TestParseRangesRefusesExplodingServiceSets(t *testing.T) {
	const n = 40000
	_, err := Parse(nestedDoc(n, func(i int) string { return fmt.Sprintf("NEW%d", i) }), "hostile.json")
	if err == nil || !errors.Is(err, errServiceSets) ||
		!strings.HasPrefix(err.Error(), "ip-ranges: hostile.json: prefix 10.") {
		t.Fatalf("error %v; want the file and a prefix named, and errServiceSets", err)
	}
}

// Random nesting over a small vocabulary exercises every way a prefix's
// set is found (its supernet's, a derived one seen before, a new one), and
// the answers must be those of the plain linear scan.
func TestLookupAgreesWithLinearScanNested(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	services := []string{"AMAZON", "EC2", "S3", "ROUTE53", "CLOUDFRONT", "DYNAMODB"}
	var b bytes.Buffer
	b.WriteString(`{"syncToken":"1","createDate":"2026-01-02-03-04-05","prefixes":[`)
	var listed []netip.Prefix
	for i := range 3000 {
		if i > 0 {
			b.WriteByte(',')
		}
		var p netip.Prefix
		if len(listed) > 0 && rng.IntN(3) == 0 {
			p = listed[rng.IntN(len(listed))] // listed again, maybe in another region
		} else {
			a := netip.AddrFrom4([4]byte{10, byte(rng.IntN(4)), byte(rng.IntN(256)), byte(rng.IntN(256))})
			p = netip.PrefixFrom(a, 8+rng.IntN(25)).Masked()
			listed = append(listed, p)
		}
		fmt.Fprintf(&b, `{"ip_prefix":%q,"region":"r%d","service":%q,"network_border_group":"g%d"}`,
			p, rng.IntN(3), services[rng.IntN(len(services))], rng.IntN(3))
	}
	b.WriteString(`],"ipv6_prefixes":[]}`)
	r, err := Parse(b.Bytes(), "random.json")
	if err != nil {
		t.Fatal(err)
	}
	for range 5000 {
		var a netip.Addr
		if rng.IntN(2) == 0 {
			p := listed[rng.IntN(len(listed))]
			a = p.Addr()
			if rng.IntN(2) == 0 {
				a = lastAddr(p)
			}
		} else {
			a = netip.AddrFrom4([4]byte{10, byte(rng.IntN(5)), byte(rng.IntN(256)), byte(rng.IntN(256))})
		}
		got, gotOK := r.Lookup(a)
		want, wantOK := naiveLookup(r.Entries, a)
		if gotOK != wantOK || got.Prefix != want.Prefix || !slices.Equal(got.Services, want.Services) ||
			got.Region != want.Region || got.NetworkBorderGroup != want.NetworkBorderGroup {
			t.Fatalf("Lookup(%v) = %+v, %v; linear scan says %+v, %v", a, got, gotOK, want, wantOK)
		}
	}
}

// BenchmarkParseNested loads the hostile shape of
// TestParseRangesManyServicesOverManySubnets at a size the quadratic
// loader could still finish (it took about 1.2 s per load).
func BenchmarkParseNested(b *testing.B) {
	doc := nestedDoc(10000, func(int) string { return "S3" })
	b.ReportAllocs()
	b.SetBytes(int64(len(doc)))
	for b.Loop() {
		if _, err := Parse(doc, "nested.json"); err != nil {
			b.Fatal(err)
		}
	}
}
