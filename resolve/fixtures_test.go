package resolve

import (
	"net/netip"
	"os"
	"path/filepath"
	"testing"

	"github.com/vpce-verify/vpce-verify/resolve/inventory"
	"github.com/vpce-verify/vpce-verify/resolve/ipranges"
)

// The AWS CLI fixtures live with the inventory package that parses them.
const fixtures = "inventory/testdata/aws"

func readTestdata(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(name)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func parseFixture(t testing.TB, name string) *inventory.Inventory {
	t.Helper()
	path := filepath.Join(fixtures, name)
	inv, err := inventory.Parse(path, readTestdata(t, path))
	if err != nil {
		t.Fatal(err)
	}
	return inv
}

func mergeFixtures(t testing.TB, names ...string) *inventory.Inventory {
	t.Helper()
	inv := &inventory.Inventory{}
	for _, n := range names {
		inv.Merge(parseFixture(t, n))
	}
	return inv
}

func addrs(ss ...string) []netip.Addr {
	var out []netip.Addr
	for _, s := range ss {
		out = append(out, netip.MustParseAddr(s))
	}
	return out
}

func prefixes(ss ...string) []netip.Prefix {
	var out []netip.Prefix
	for _, s := range ss {
		out = append(out, netip.MustParsePrefix(s))
	}
	return out
}

// FuzzClassifyInventory: whatever an --endpoints file holds, a classifier
// built from it classifies without a panic.
func FuzzClassifyInventory(f *testing.F) {
	for _, name := range []string{"vpc-endpoints.json", "network-interfaces.json", "route-tables.json", "managed-prefix-lists.json"} {
		f.Add(readTestdata(f, filepath.Join(fixtures, name)))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		inv, err := inventory.Parse("fuzz.json", data)
		if err != nil {
			return
		}
		c := NewClassifier(ipranges.Embedded(), inv, nil, nil)
		for _, a := range []string{"10.0.1.25", "52.219.64.10", "fd00:10:0:2::50"} {
			c.Classify(netip.MustParseAddr(a))
		}
	})
}
