package ipranges

import (
	"slices"
	"testing"
)

// The expected counts are those published with the shared snapshots ("Differences
// older -> newest"), computed there with Python over
// (prefix, region, service, network_border_group) tuples.
func TestDiffRanges(t *testing.T) {
	older, err := Parse(readTestdata(t, "testdata/ip-ranges-older.json"), "older")
	if err != nil {
		t.Fatal(err)
	}
	v4 := func(e Entry) bool { return e.Prefix.Addr().Is4() }
	v6 := func(e Entry) bool { return !e.Prefix.Addr().Is4() }
	s3 := func(e Entry) bool { return e.Service == "S3" }
	and := func(a, b func(Entry) bool) func(Entry) bool { return func(e Entry) bool { return a(e) && b(e) } }
	apSouth1 := func(e Entry) bool { return e.Region == "ap-south-1" }
	tests := []struct {
		name           string
		keep           func(Entry) bool
		added, removed int
		addedPrefixes  []string // when given, exactly these, in order
	}{
		{"all IPv4", v4, 1386, 181, nil},
		{"all IPv6", v6, 1822, 114, nil},
		{"S3 IPv4", and(s3, v4), 82, 0, nil},
		{"S3 IPv6", and(s3, v6), 184, 6, nil},
		{"S3 ap-south-1 IPv4", and(and(s3, v4), apSouth1), 1, 0, []string{"3.2.69.0/24"}},
		{"S3 ap-south-1 IPv6", and(and(s3, v6), apSouth1), 3, 0, []string{"2406:da61:a000::/40", "2406:daef:a000::/40", "2600:f0f0:6105::/48"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			d := Compare(older, Embedded(), tc.keep)
			if len(d.Added) != tc.added || len(d.Removed) != tc.removed {
				t.Errorf("+%d -%d, want +%d -%d", len(d.Added), len(d.Removed), tc.added, tc.removed)
			}
			if tc.addedPrefixes != nil {
				var got []string
				for _, e := range d.Added {
					got = append(got, e.Prefix.String())
					if e.Service != "S3" || e.Region != "ap-south-1" || e.NetworkBorderGroup != "ap-south-1" {
						t.Errorf("entry %+v", e)
					}
				}
				if !slices.Equal(got, tc.addedPrefixes) {
					t.Errorf("added %v, want %v", got, tc.addedPrefixes)
				}
			}
			if !slices.IsSortedFunc(d.Added, compareEntry) || !slices.IsSortedFunc(d.Removed, compareEntry) {
				t.Errorf("not sorted")
			}
		})
	}
	// Reversed, added and removed swap.
	d := Compare(Embedded(), older, s3)
	if len(d.Added) != 6 || len(d.Removed) != 266 {
		t.Errorf("newest -> older S3: +%d -%d, want +6 -266", len(d.Added), len(d.Removed))
	}
	if d := Compare(older, older, nil); len(d.Added)+len(d.Removed) != 0 {
		t.Errorf("a file against itself: +%d -%d", len(d.Added), len(d.Removed))
	}
}
