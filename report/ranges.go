package report

import (
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/vpce-verify/vpce-verify/resolve/ipranges"
)

// Schemas of the ranges subcommands' JSON.
const (
	RangesInfoSchema = "vpce-verify/ranges-info/v1"
	RangesDiffSchema = "vpce-verify/ranges-diff/v1"
)

// RangesInfo says which ip-ranges.json is in use and what the others are.
type RangesInfo struct {
	Schema string `json:"schema"`
	// InUse is "file" (--ip-ranges), "cache" or "embedded".
	InUse    string   `json:"in_use"`
	Snapshot Snapshot `json:"snapshot"`
	Embedded IPRanges `json:"embedded"`
	Cache    Cache    `json:"cache"`
	Warnings []string `json:"warnings"`
	// WarningsDetail are the same warnings with their stable codes.
	WarningsDetail []Warning `json:"warnings_detail"`
}

// Snapshot is an ip-ranges.json with its counts per address family.
type Snapshot struct {
	IPRanges
	IPv4 Family `json:"ipv4"`
	IPv6 Family `json:"ipv6"`
}

// Family counts the entries (one per prefix and service) and the distinct
// prefixes of an address family.
type Family struct {
	Entries  int `json:"entries"`
	Prefixes int `json:"prefixes"`
}

// Cache is the state of the copy `ranges update` keeps.
type Cache struct {
	Path string `json:"path"`
	// State is "absent", "in-use", "not-used" (not newer than the
	// embedded snapshot, or --ip-ranges was given) or "unusable" (Error
	// says why).
	State     string `json:"state"`
	SyncToken string `json:"sync_token,omitempty"`
	Error     string `json:"error,omitempty"`
}

// NewRangesInfo describes inUse (of kind "file", "cache" or "embedded")
// and the cache at now.
func NewRangesInfo(inUse *ipranges.Ranges, kind string, cache Cache, now time.Time) *RangesInfo {
	r := &RangesInfo{
		Schema: RangesInfoSchema, InUse: kind,
		Snapshot: Snapshot{
			IPRanges: ipRanges(inUse, now),
			IPv4:     Family{inUse.IPv4Entries, inUse.IPv4Prefixes},
			IPv6:     Family{inUse.IPv6Entries, inUse.IPv6Prefixes},
		},
		Embedded:       ipRanges(ipranges.Embedded(), now),
		Cache:          cache,
		WarningsDetail: []Warning{},
	}
	if w := StaleRanges(inUse, now); w != "" {
		r.WarningsDetail = append(r.WarningsDetail, Warning{"ip-ranges-stale", w})
	}
	if cache.Error != "" {
		r.WarningsDetail = append(r.WarningsDetail, Warning{"ip-ranges-cache-unusable", "the cached ip-ranges.json is unusable: " + cache.Error})
	}
	r.Warnings = messages(r.WarningsDetail)
	return r
}

// WriteJSON writes the description as indented JSON.
func (r *RangesInfo) WriteJSON(w io.Writer) error { return writeJSON(w, r) }

// WriteText writes the description for people.
func (r *RangesInfo) WriteText(w io.Writer) error {
	ew := &errWriter{w: w}
	s := r.Snapshot
	switch r.InUse {
	case "embedded":
		ew.printf("ip-ranges.json in use: the snapshot embedded in this binary\n")
	case "cache":
		ew.printf("ip-ranges.json in use: %s (cached by ranges update or import)\n", s.Source)
	default:
		ew.printf("ip-ranges.json in use: %s (--ip-ranges)\n", s.Source)
	}
	ew.printf("  syncToken   %s\n", s.SyncToken)
	if s.future {
		ew.printf("  createDate  %s (after this host's clock: %s)\n", s.CreateDate, s.AgeAt)
	} else {
		ew.printf("  createDate  %s (%d days old)\n", s.CreateDate, s.AgeDays)
	}
	ew.printf("  IPv4        %s, %s\n", countNoun(s.IPv4.Entries, "entry"), countNoun(s.IPv4.Prefixes, "prefix"))
	ew.printf("  IPv6        %s, %s\n", countNoun(s.IPv6.Entries, "entry"), countNoun(s.IPv6.Prefixes, "prefix"))
	ew.printf("  SHA-256     %s\n", s.SHA256)
	ew.printf("embedded snapshot: createDate %s, syncToken %s\n", r.Embedded.CreateDate, r.Embedded.SyncToken)
	ew.printf("cache: %s (%s)\n", r.Cache.Path, r.Cache.State)
	for _, w := range r.Warnings {
		ew.printf("warning: %s\n", w)
	}
	return ew.err
}

// RangesDiff is what changed from one ip-ranges.json to another.
type RangesDiff struct {
	Schema  string       `json:"schema"`
	Old     IPRanges     `json:"old"`
	New     IPRanges     `json:"new"`
	Service string       `json:"service,omitempty"`
	Region  string       `json:"region,omitempty"`
	Added   []RangeEntry `json:"added"`
	Removed []RangeEntry `json:"removed"`
}

// RangeEntry is one entry of ip-ranges.json.
type RangeEntry struct {
	Prefix             string `json:"prefix"`
	Service            string `json:"service"`
	Region             string `json:"region"`
	NetworkBorderGroup string `json:"network_border_group"`
}

// NewRangesDiff renders d, which was restricted to service and region
// (empty for all).
func NewRangesDiff(d ipranges.Diff, service, region string, now time.Time) *RangesDiff {
	conv := func(es []ipranges.Entry) []RangeEntry {
		out := []RangeEntry{}
		for _, e := range es {
			out = append(out, RangeEntry{e.Prefix.String(), e.Service, e.Region, e.NetworkBorderGroup})
		}
		return out
	}
	return &RangesDiff{
		Schema: RangesDiffSchema, Old: ipRanges(d.Old, now), New: ipRanges(d.New, now),
		Service: service, Region: region, Added: conv(d.Added), Removed: conv(d.Removed),
	}
}

// WriteJSON writes the difference as indented JSON.
func (d *RangesDiff) WriteJSON(w io.Writer) error { return writeJSON(w, d) }

// WriteText writes a summary line, then one line per entry: + added,
// - removed.
func (d *RangesDiff) WriteText(w io.Writer) error {
	ew := &errWriter{w: w}
	ew.printf("old: %s (createDate %s, syncToken %s)\n", d.Old.Source, d.Old.CreateDate, d.Old.SyncToken)
	ew.printf("new: %s (createDate %s, syncToken %s)\n", d.New.Source, d.New.CreateDate, d.New.SyncToken)
	if d.Service != "" || d.Region != "" {
		ew.printf("only service %s, region %s\n", orAny(d.Service), orAny(d.Region))
	}
	ew.printf("added %s, removed %s\n", familyCounts(d.Added), familyCounts(d.Removed))
	tw := tabwriter.NewWriter(ew, 0, 0, 2, ' ', 0)
	for _, list := range []struct {
		sign    string
		entries []RangeEntry
	}{{"+", d.Added}, {"-", d.Removed}} {
		for _, e := range list.entries {
			fmt.Fprintf(tw, "%s %s\t%s\t%s\t%s\n", list.sign, e.Prefix, e.Service, e.Region, e.NetworkBorderGroup)
		}
	}
	tw.Flush()
	return ew.err
}

func orAny(s string) string {
	if s == "" {
		return "any"
	}
	return s
}

// familyCounts says "82 (IPv4 82, IPv6 0)".
func familyCounts(es []RangeEntry) string {
	v6 := 0
	for _, e := range es {
		if strings.Contains(e.Prefix, ":") {
			v6++
		}
	}
	return fmt.Sprintf("%d (IPv4 %d, IPv6 %d)", len(es), len(es)-v6, v6)
}

func writeJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}
