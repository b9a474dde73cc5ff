package ipranges

import (
	"cmp"
	"slices"
)

// Diff is what changed from one ip-ranges.json to another. An entry
// is its prefix, service, region and network border group together: a
// prefix that moved to another region is removed and added.
type Diff struct {
	Old, New       *Ranges
	Added, Removed []Entry // sorted by prefix (IPv4 first), then service, region and border group
}

// Compare compares two snapshots. keep, when not nil, selects the
// entries compared (a service, a region).
func Compare(old, new *Ranges, keep func(Entry) bool) Diff {
	d := Diff{Old: old, New: new}
	d.Added = onlyIn(new.Entries, old.Entries, keep)
	d.Removed = onlyIn(old.Entries, new.Entries, keep)
	return d
}

// onlyIn returns the entries of a that b does not have, each once.
func onlyIn(a, b []Entry, keep func(Entry) bool) []Entry {
	inB := make(map[Entry]bool, len(b))
	for _, e := range b {
		inB[e] = true
	}
	var out []Entry
	for _, e := range a {
		if (keep == nil || keep(e)) && !inB[e] {
			inB[e] = true // each once, even when a lists it twice
			out = append(out, e)
		}
	}
	slices.SortFunc(out, compareEntry)
	return out
}

func compareEntry(x, y Entry) int {
	if c := x.Prefix.Compare(y.Prefix); c != 0 {
		return c
	}
	return cmp.Or(cmp.Compare(x.Service, y.Service), cmp.Compare(x.Region, y.Region), cmp.Compare(x.NetworkBorderGroup, y.NetworkBorderGroup))
}
