package ipranges

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"testing"
	"time"
)

// The benchmark and tests in this file and library_test.go compare Parse,
// which reads JSON with the hand-written scanner of jsonscan.go, with the
// same parse done by encoding/json: json.Unmarshal into structs of the
// ip-ranges.json shape, then the checks and the index Parse makes.

// libraryDoc is ip-ranges.json as encoding/json reads it. Plain strings
// rather than pointers: an absent field reads as "", which the checks
// refuse anyway, and the file's 14 000 entries would otherwise cost an
// allocation per field.
type libraryDoc struct {
	SyncToken    string         `json:"syncToken"`
	CreateDate   string         `json:"createDate"`
	Prefixes     []libraryEntry `json:"prefixes"`
	IPv6Prefixes []libraryEntry `json:"ipv6_prefixes"`
}

type libraryEntry struct {
	IPPrefix           string `json:"ip_prefix"`
	IPv6Prefix         string `json:"ipv6_prefix"`
	Region             string `json:"region"`
	Service            string `json:"service"`
	NetworkBorderGroup string `json:"network_border_group"`
}

// libraryParse is Parse with encoding/json doing the JSON: the same
// result, and the same checks (rangesParser.entry, numeric, the createDate
// layout, build), so that only the JSON layer differs.
func libraryParse(data []byte, source string) (*Ranges, error) {
	r, err := libraryParseDoc(data)
	if err != nil {
		return nil, fmt.Errorf("ip-ranges: %s: %w", source, err)
	}
	sum := sha256.Sum256(data)
	r.SHA256 = hex.EncodeToString(sum[:])
	r.Source = source
	return r, nil
}

func libraryParseDoc(data []byte) (*Ranges, error) {
	// Parse's checks before any JSON, kept as they are.
	t := bytes.TrimSpace(data)
	if len(t) == 0 {
		return nil, fmt.Errorf("empty input")
	}
	if t[0] == '<' {
		return nil, fmt.Errorf("not JSON: starts with %q (an HTML or XML page, not ip-ranges.json)", firstLine(t, 40))
	}
	var doc libraryDoc
	if err := json.Unmarshal(data, &doc); err != nil {
		return nil, err
	}
	switch {
	case !numeric([]byte(doc.SyncToken)):
		return nil, fmt.Errorf("syncToken %s: want Unix seconds (digits only)", quoted([]byte(doc.SyncToken)))
	case doc.Prefixes == nil:
		return nil, fmt.Errorf("no prefixes")
	case doc.IPv6Prefixes == nil:
		return nil, fmt.Errorf("no ipv6_prefixes")
	}
	p := &rangesParser{
		intern:  make(map[string]string, 256),
		entries: make([]Entry, 0, len(doc.Prefixes)+len(doc.IPv6Prefixes)),
	}
	for _, fam := range []struct {
		name, pfxKey string
		list         []libraryEntry
		want4        bool
	}{
		{"prefixes", "ip_prefix", doc.Prefixes, true},
		{"ipv6_prefixes", "ipv6_prefix", doc.IPv6Prefixes, false},
	} {
		for i, le := range fam.list {
			pfx := le.IPPrefix
			if !fam.want4 {
				pfx = le.IPv6Prefix
			}
			for f, v := range [4]string{pfx, le.Service, le.Region, le.NetworkBorderGroup} {
				p.field[f], p.state[f] = append(p.field[f][:0], v...), present
				if v == "" {
					p.state[f] = absent
				}
			}
			e, err := p.entry(fam.pfxKey, fam.want4)
			if err != nil {
				return nil, fmt.Errorf("%s[%d]%w", fam.name, i, err)
			}
			p.entries = append(p.entries, e)
		}
	}
	r := &Ranges{SyncToken: doc.SyncToken, Entries: p.entries, IPv4Entries: len(doc.Prefixes), IPv6Entries: len(doc.IPv6Prefixes)}
	var err error
	if r.CreateDate, err = time.Parse(CreateDateLayout, doc.CreateDate); err != nil {
		return nil, fmt.Errorf("createDate %s: want %s: %w", quoted([]byte(doc.CreateDate)), CreateDateLayout, err)
	}
	if err := r.build(); err != nil {
		return nil, err
	}
	return r, nil
}

// BenchmarkLibrary parses the embedded ip-ranges.json (2.6 MB) with Parse
// ("ours") and with encoding/json followed by the same checks and index
// ("encoding-json"); "unmarshal-only" is json.Unmarshal alone, the part
// the scanner replaces.
//
//	go test ./resolve/ipranges -run XXX -bench Library -benchmem
func BenchmarkLibrary(b *testing.B) {
	b.Run("ours", func(b *testing.B) {
		b.ReportAllocs()
		b.SetBytes(int64(len(embeddedJSON)))
		for b.Loop() {
			if _, err := Parse(embeddedJSON, "embedded"); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("encoding-json", func(b *testing.B) {
		b.ReportAllocs()
		b.SetBytes(int64(len(embeddedJSON)))
		for b.Loop() {
			if _, err := libraryParse(embeddedJSON, "embedded"); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("unmarshal-only", func(b *testing.B) {
		b.ReportAllocs()
		b.SetBytes(int64(len(embeddedJSON)))
		for b.Loop() {
			var doc libraryDoc
			if err := json.Unmarshal(embeddedJSON, &doc); err != nil {
				b.Fatal(err)
			}
		}
	})
}
