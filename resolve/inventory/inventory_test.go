package inventory

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
)

func parseFixture(t *testing.T, name string) *Inventory {
	t.Helper()
	path := filepath.Join("testdata", "aws", name)
	inv, err := Parse(path, readTestdata(t, path))
	if err != nil {
		t.Fatal(err)
	}
	return inv
}

func mergeFixtures(t *testing.T, names ...string) *Inventory {
	t.Helper()
	inv := &Inventory{}
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

func TestParseInventoryEndpoints(t *testing.T) {
	inv := parseFixture(t, "vpc-endpoints.json")
	if len(inv.Endpoints) != 2 {
		t.Fatalf("%d endpoints, want 2", len(inv.Endpoints))
	}
	gw, ifc := inv.Endpoints[0], inv.Endpoints[1]
	t.Run("interface", func(t *testing.T) {
		if ifc.ID != "vpce-0a1b2c3d4e5f67890" || ifc.Type != "Interface" || ifc.Service != "com.amazonaws.ap-south-1.s3" ||
			ifc.State != "available" || ifc.VPC != "vpc-0123456789abcdef0" {
			t.Fatalf("got %+v", ifc)
		}
		if !ifc.PrivateDNSEnabled || ifc.PrivateDNSOnlyForInboundResolverEndpoint == nil || !*ifc.PrivateDNSOnlyForInboundResolverEndpoint {
			t.Errorf("private DNS %v, only for inbound resolver %v; want true, true", ifc.PrivateDNSEnabled, ifc.PrivateDNSOnlyForInboundResolverEndpoint)
		}
		if ifc.DNSRecordIPType != "dualstack" || ifc.IPAddressType != "dualstack" {
			t.Errorf("DNS record type %q, address type %q", ifc.DNSRecordIPType, ifc.IPAddressType)
		}
		if len(ifc.DNSNames) != 3 || ifc.DNSNames[1] != "*.vpce-0a1b2c3d4e5f67890-9hnenorg-ap-south-1a.s3.ap-south-1.vpce.amazonaws.com" {
			t.Errorf("DNS names %q", ifc.DNSNames)
		}
		if !slices.Equal(ifc.NetworkInterfaceIDs, []string{"eni-0aaa1111bbbb2222c", "eni-0ddd3333eeee4444f"}) ||
			!slices.Equal(ifc.SubnetIDs, []string{"subnet-0aaa1111bbbb2222c", "subnet-0ddd3333eeee4444f"}) {
			t.Errorf("interfaces %q subnets %q", ifc.NetworkInterfaceIDs, ifc.SubnetIDs)
		}
		if ifc.Addresses != nil {
			t.Errorf("addresses %v without describe-network-interfaces", ifc.Addresses)
		}
		if ifc.Source != "testdata/aws/vpc-endpoints.json" {
			t.Errorf("source %q", ifc.Source)
		}
	})
	t.Run("gateway", func(t *testing.T) {
		if gw.ID != "vpce-032a826a" || gw.Type != "Gateway" || !slices.Equal(gw.RouteTableIDs, []string{"rtb-3d560345"}) || gw.PrivateDNSEnabled {
			t.Fatalf("got %+v", gw)
		}
		if gw.PrivateDNSOnlyForInboundResolverEndpoint != nil {
			t.Errorf("inbound-only switch %v, want unknown (nil): the JSON has no DnsOptions", *gw.PrivateDNSOnlyForInboundResolverEndpoint)
		}
	})
	t.Run("no DnsOptions", func(t *testing.T) {
		inv := parseFixture(t, "vpc-endpoints-no-dnsoptions.json")
		if e := inv.Endpoints[0]; e.PrivateDNSOnlyForInboundResolverEndpoint != nil || e.DNSRecordIPType != "" || e.IPAddressType != "" {
			t.Fatalf("got %+v; want the switch unknown, not false", e)
		}
	})
}

func TestParseInventoryNetworkInterfaces(t *testing.T) {
	inv := parseFixture(t, "network-interfaces.json")
	tests := []struct {
		id         string
		isEndpoint bool
		endpoint   string
		addrs      []netip.Addr
		zone       string
	}{
		{"eni-0aaa1111bbbb2222c", true, "vpce-0a1b2c3d4e5f67890", addrs("10.0.1.25"), "ap-south-1a"},
		{"eni-0bbb5555cccc6666d", false, "", addrs("10.0.1.10"), "ap-south-1a"},
		{"eni-0ddd3333eeee4444f", true, "vpce-0a1b2c3d4e5f67890", addrs("10.0.2.50", "2406:da1a:8e0:2c01::25"), "ap-south-1b"},
	}
	if len(inv.NetworkInterfaces) != len(tests) {
		t.Fatalf("%d interfaces, want %d", len(inv.NetworkInterfaces), len(tests))
	}
	for i, tt := range tests {
		t.Run(tt.id, func(t *testing.T) {
			n := inv.NetworkInterfaces[i]
			if n.ID != tt.id || n.IsEndpoint != tt.isEndpoint || n.EndpointID != tt.endpoint ||
				!slices.Equal(n.Addresses, tt.addrs) || n.AvailabilityZone != tt.zone || n.RequesterManaged != tt.isEndpoint {
				t.Fatalf("got %+v", n)
			}
		})
	}
}

func TestParseInventoryRoutesAndPrefixLists(t *testing.T) {
	t.Run("route tables", func(t *testing.T) {
		inv := parseFixture(t, "route-tables.json")
		if len(inv.RouteTables) != 2 {
			t.Fatalf("%d tables", len(inv.RouteTables))
		}
		main, rt := inv.RouteTables[0], inv.RouteTables[1]
		if main.ID != "rtb-0f9e8d7c" || !main.Main || len(main.Subnets) != 0 || len(main.Routes) != 4 {
			t.Errorf("main table %+v", main)
		}
		if main.Routes[1].Destination != netip.MustParsePrefix("2406:da1a:8e0:2c00::/56") || main.Routes[2].State != "blackhole" {
			t.Errorf("main routes %+v", main.Routes)
		}
		if rt.ID != "rtb-3d560345" || rt.Main || !slices.Equal(rt.Subnets, []string{"subnet-0aaa1111bbbb2222c"}) {
			t.Errorf("table %+v", rt)
		}
		want := []Route{
			{Destination: netip.MustParsePrefix("10.0.0.0/16"), Target: "local", State: "active"},
			{PrefixListID: "pl-0b1c2d3e", Target: "vpce-032a826a", State: "active"},
			{Destination: netip.MustParsePrefix("0.0.0.0/0"), Target: "nat-06c018cbd8EXAMPLE", State: "active"},
		}
		if !slices.Equal(rt.Routes, want) {
			t.Errorf("routes %+v\nwant %+v", rt.Routes, want)
		}
	})
	s3 := prefixes("3.5.208.0/22", "52.219.62.0/23", "52.219.64.0/22")
	tests := []struct {
		file, id, name string
		cidrs          []netip.Prefix
	}{
		{"managed-prefix-lists.json", "pl-0b1c2d3e", "com.amazonaws.ap-south-1.s3", nil},
		{"pl-0b1c2d3e-entries.json", "pl-0b1c2d3e", "", s3},
		{"prefix-lists.json", "pl-0b1c2d3e", "com.amazonaws.ap-south-1.s3", s3},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			inv := parseFixture(t, tt.file)
			if len(inv.PrefixLists) != 1 {
				t.Fatalf("got %+v", inv.PrefixLists)
			}
			pl := inv.PrefixLists[0]
			if pl.ID != tt.id || pl.Name != tt.name || !slices.Equal(pl.CIDRs, tt.cidrs) {
				t.Fatalf("got %+v", pl)
			}
		})
	}
}

func TestInventoryMerge(t *testing.T) {
	inv := mergeFixtures(t, "pl-0b1c2d3e-entries.json", "vpc-endpoints.json", "network-interfaces.json",
		"route-tables.json", "managed-prefix-lists.json")
	if len(inv.Sources) != 5 || inv.Sources[0] != "testdata/aws/pl-0b1c2d3e-entries.json" {
		t.Errorf("sources %q", inv.Sources)
	}
	ifc := inv.Endpoints[1]
	if want := addrs("10.0.1.25", "10.0.2.50", "2406:da1a:8e0:2c01::25"); !slices.Equal(ifc.Addresses, want) {
		t.Errorf("endpoint addresses %v, want %v", ifc.Addresses, want)
	}
	if len(inv.PrefixLists) != 1 {
		t.Fatalf("prefix lists %+v", inv.PrefixLists)
	}
	pl := inv.PrefixLists[0]
	if pl.Name != "com.amazonaws.ap-south-1.s3" || len(pl.CIDRs) != 3 || pl.AddressFamily != "IPv4" {
		t.Errorf("merged prefix list %+v", pl)
	}
	if len(inv.Warnings) != 0 {
		t.Errorf("warnings %q", inv.Warnings)
	}

	// Merging the same files again changes nothing but the sources.
	again := mergeFixtures(t, "vpc-endpoints.json", "network-interfaces.json")
	again.Merge(inv)
	if len(again.Endpoints) != 2 || len(again.NetworkInterfaces) != 3 || len(again.PrefixLists) != 1 ||
		!slices.Equal(again.Endpoints[1].Addresses, ifc.Addresses) {
		t.Errorf("merging twice: %d endpoints, %d interfaces, %d lists", len(again.Endpoints), len(again.NetworkInterfaces), len(again.PrefixLists))
	}

	inv.Merge(nil) // must not panic
}

func TestInventoryEntriesWithoutListID(t *testing.T) {
	entries := readTestdata(t, "testdata/aws/pl-0b1c2d3e-entries.json")
	t.Run("one gateway route: entries join its list", func(t *testing.T) {
		inv := mergeFixtures(t, "route-tables.json", "managed-prefix-lists.json")
		anon, err := Parse("entries.json", entries)
		if err != nil {
			t.Fatal(err)
		}
		inv.Merge(anon)
		if len(inv.PrefixLists) != 1 || inv.PrefixLists[0].ID != "pl-0b1c2d3e" || len(inv.PrefixLists[0].CIDRs) != 3 || len(inv.Warnings) != 0 {
			t.Fatalf("lists %+v, warnings %q", inv.PrefixLists, inv.Warnings)
		}
	})
	t.Run("no route: a warning", func(t *testing.T) {
		inv, err := Parse("entries.json", entries)
		if err != nil {
			t.Fatal(err)
		}
		if len(inv.Warnings) != 1 || !strings.Contains(inv.Warnings[0], "entries.json: prefix-list entries without a list ID") {
			t.Fatalf("warnings %q", inv.Warnings)
		}
		// The same file given twice is warned about once.
		again, err := Parse("entries.json", entries)
		if err != nil {
			t.Fatal(err)
		}
		inv.Merge(again)
		if len(inv.Warnings) != 1 {
			t.Fatalf("warnings %q after the file came twice; want one", inv.Warnings)
		}
	})
	t.Run("file name with a look-alike", func(t *testing.T) {
		inv, err := Parse("sample-pl-entries.json", entries)
		if err != nil {
			t.Fatal(err)
		}
		if inv.PrefixLists[0].ID != "" {
			t.Fatalf("took %q from the file name", inv.PrefixLists[0].ID)
		}
	})
}

// What aws --query cuts out of an output (a list, or one element) reads as
// the whole output does.
func TestParseQueried(t *testing.T) {
	for _, tc := range []struct{ file, key string }{
		{"testdata/aws/vpc-endpoints.json", "VpcEndpoints"},
		{"testdata/aws/vpc-endpoints-no-dnsoptions.json", "VpcEndpoints"},
		{"testdata/aws/network-interfaces.json", "NetworkInterfaces"},
		{"testdata/aws/route-tables.json", "RouteTables"},
		{"testdata/aws/prefix-lists.json", "PrefixLists"},
		{"testdata/aws/pl-0b1c2d3e-entries.json", "Entries"},
	} {
		whole := readTestdata(t, tc.file)
		want, err := Parse("in.json", whole)
		if err != nil {
			t.Fatal(err)
		}
		var top map[string][]json.RawMessage
		if err := json.Unmarshal(whole, &top); err != nil || len(top[tc.key]) == 0 {
			t.Fatalf("%s: %v, no %s", tc.file, err, tc.key)
		}
		list, _ := json.MarshalIndent(top[tc.key], "", "  ")
		forms := map[string][]byte{"--query " + tc.key: list}
		if len(top[tc.key]) == 1 {
			forms["--query "+tc.key+"[0]"] = top[tc.key][0]
		}
		for form, data := range forms {
			got, err := Parse("in.json", data)
			if err != nil {
				t.Errorf("%s %s: %v", tc.file, form, err)
				continue
			}
			if !reflect.DeepEqual(got, want) {
				t.Errorf("%s %s: parsed\n%+v\nwant\n%+v", tc.file, form, got, want)
			}
		}
	}
}

func TestParseInventoryErrors(t *testing.T) {
	tests := []struct {
		name, doc, want string
	}{
		{"unknown shape", string(readTestdata(t, "testdata/aws/subnets.json")),
			"inventory: in.json: not an AWS CLI output this tool reads: top-level keys NextToken, Subnets; want one of VpcEndpoints, NetworkInterfaces"},
		{"empty object", `{}`, "top-level no keys"},
		{"empty", "  ", "inventory: in.json: empty file"},
		{"not JSON", `{"VpcEndpoints": [`, "inventory: in.json: byte 18: unexpected end of JSON input"},
		{"syntax", `{"VpcEndpoints": [}`, "inventory: in.json: byte 18: invalid character '}'"},
		{"a list of something else", `[{"SubnetId": "subnet-1"}]`, "inventory: in.json: not an AWS CLI output this tool reads: a list whose first element has none of VpcEndpointId, NetworkInterfaceId, RouteTableId, PrefixListId, Cidr"},
		{"an empty list", `[]`, "inventory: in.json: not an AWS CLI output this tool reads: an empty list (did the --query find nothing?)"},
		{"a broken list", `[{"VpcEndpointId": "vpce-1"},`, "inventory: in.json: byte 29: unexpected end of JSON input"},
		{"YAML", "VpcEndpoints:\n- VpcEndpointId: vpce-1\n", "inventory: in.json: YAML: use --output json"},
		{"a YAML list", "- VpcEndpointId: vpce-1\n", "inventory: in.json: YAML: use --output json"},
		{"an element with a bad member", `{"VpcEndpointId": "vpce-1", "PrivateDnsEnabled": "yes"}`, "VpcEndpoints: PrivateDnsEnabled: want true or false"},
		{"wrong type", `{"VpcEndpoints": [{"VpcEndpointId": "vpce-1", "PrivateDnsEnabled": "yes"}]}`,
			"VpcEndpoints: PrivateDnsEnabled: want true or false, found a JSON string"},
		{"object where a list belongs", `{"VpcEndpoints": {"VpcEndpointId": "vpce-1"}}`, "inventory: in.json: VpcEndpoints: want an array, found a JSON object"},
		{"string where a list belongs", `{"VpcEndpoints": [{"VpcEndpointId": "vpce-1", "NetworkInterfaceIds": "eni-1"}]}`,
			"VpcEndpoints: NetworkInterfaceIds: want an array, found a JSON string"},
		{"endpoint without ID", `{"VpcEndpoints": [{"VpcEndpointType": "Interface"}]}`, `VpcEndpoints[0].VpcEndpointId "": want vpce-...`},
		{"bad address", `{"NetworkInterfaces": [{"NetworkInterfaceId": "eni-1", "PrivateIpAddresses": [{"PrivateIpAddress": "10.0.1.999"}]}]}`,
			`NetworkInterfaces[0].PrivateIpAddresses[0].PrivateIpAddress "10.0.1.999": `},
		{"IPv6 where IPv4 belongs", `{"NetworkInterfaces": [{"NetworkInterfaceId": "eni-1", "PrivateIpAddress": "2406:da1a::1"}]}`,
			`NetworkInterfaces[0].PrivateIpAddress "2406:da1a::1": wrong address family`},
		{"bad route", `{"RouteTables": [{"RouteTableId": "rtb-1", "Routes": [{"DestinationCidrBlock": "10.0.0.0/33"}]}]}`,
			`RouteTables[0].Routes[0].DestinationCidrBlock "10.0.0.0/33": `},
		{"bad entry", `{"Entries": [{"Cidr": "3.5.208.0/22"}, {"Cidr": "3.5.208.0"}]}`, `Entries[1].Cidr "3.5.208.0": `},
		{"bad list ID", `{"PrefixLists": [{"PrefixListName": "com.amazonaws.ap-south-1.s3"}]}`, `PrefixLists[0].PrefixListId "": want pl-...`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			inv, err := Parse("in.json", []byte(tt.doc))
			if err == nil {
				t.Fatalf("parsed %+v, want an error", inv)
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("error %q\nwant it to contain %q", err, tt.want)
			}
		})
	}
	_, err := Parse("in.json", []byte(`{"Vpcs": []}`))
	if !errors.Is(err, ErrUnknownShape) {
		t.Errorf("unknown shape error %v is not ErrUnknownShape", err)
	}
}

func FuzzParseInventory(f *testing.F) {
	for _, name := range []string{"vpc-endpoints.json", "network-interfaces.json", "route-tables.json",
		"managed-prefix-lists.json", "pl-0b1c2d3e-entries.json", "prefix-lists.json", "subnets.json"} {
		f.Add(readTestdata(f, filepath.Join("testdata", "aws", name)))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		inv, err := Parse("fuzz-pl-0123abcd.json", data)
		if err != nil {
			if !strings.HasPrefix(err.Error(), "inventory: fuzz-pl-0123abcd.json: ") {
				t.Fatalf("error %q does not name the file", err)
			}
			return
		}
		check := func(what string, n int, id func(int) string) {
			for i := 1; i < n; i++ {
				if id(i-1) >= id(i) {
					t.Fatalf("%s not sorted by unique ID: %q then %q", what, id(i-1), id(i))
				}
			}
		}
		check("endpoints", len(inv.Endpoints), func(i int) string { return inv.Endpoints[i].ID })
		check("interfaces", len(inv.NetworkInterfaces), func(i int) string { return inv.NetworkInterfaces[i].ID })
		check("route tables", len(inv.RouteTables), func(i int) string { return inv.RouteTables[i].ID })
		for _, n := range inv.NetworkInterfaces {
			for _, a := range n.Addresses {
				if !a.IsValid() {
					t.Fatalf("interface %s has an invalid address", n.ID)
				}
			}
		}
		// Merging a file with itself adds nothing.
		endpoints, enis, lists := len(inv.Endpoints), len(inv.NetworkInterfaces), len(inv.PrefixLists)
		twice, _ := Parse("fuzz-pl-0123abcd.json", data)
		inv.Merge(twice)
		if len(inv.Endpoints) != endpoints || len(inv.NetworkInterfaces) != enis || len(inv.PrefixLists) != lists {
			t.Fatalf("merging a file with itself changed the counts")
		}
		inv.Check(false) // any verdict, but no panic
	})
}

// scaleInventory is n interface endpoints, each with one network
// interface, as describe-vpc-endpoints and describe-network-interfaces
// print them.
func scaleInventory(n int) (endpoints, interfaces []byte) {
	var eps, enis strings.Builder
	eps.WriteString(`{"VpcEndpoints": [`)
	enis.WriteString(`{"NetworkInterfaces": [`)
	for i := range n {
		if i > 0 {
			eps.WriteByte(',')
			enis.WriteByte(',')
		}
		fmt.Fprintf(&eps, `{"VpcEndpointId": "vpce-%017x", "VpcEndpointType": "Interface", "ServiceName": "com.amazonaws.us-east-1.s3", "NetworkInterfaceIds": ["eni-%017x"]}`, i, i)
		fmt.Fprintf(&enis, `{"NetworkInterfaceId": "eni-%017x", "InterfaceType": "vpc_endpoint", "PrivateIpAddress": "10.%d.%d.%d"}`, i, i>>16&255, i>>8&255, i&255)
	}
	eps.WriteString(`]}`)
	enis.WriteString(`]}`)
	return []byte(eps.String()), []byte(enis.String())
}

// Each shape below took seconds to minutes when link scanned every
// interface for every endpoint and deduplicated with slices.Contains; the
// sizes are chosen so that it would show.
func TestInventoryAtScale(t *testing.T) {
	t.Run("40k endpoints and 40k interfaces", func(t *testing.T) {
		const n = 40000 // 75 s before
		eps, enis := scaleInventory(n)
		a, err := Parse("endpoints.json", eps)
		if err != nil {
			t.Fatal(err)
		}
		b, err := Parse("enis.json", enis)
		if err != nil {
			t.Fatal(err)
		}
		a.Merge(b)
		if len(a.Endpoints) != n || len(a.NetworkInterfaces) != n {
			t.Fatalf("%d endpoints, %d interfaces", len(a.Endpoints), len(a.NetworkInterfaces))
		}
		for i, e := range a.Endpoints {
			want := netip.AddrFrom4([4]byte{10, byte(i >> 16), byte(i >> 8), byte(i)})
			if len(e.Addresses) != 1 || e.Addresses[0] != want || a.NetworkInterfaces[i].EndpointID != e.ID {
				t.Fatalf("endpoint %s: addresses %v, want [%v]; its interface belongs to %q", e.ID, e.Addresses, want, a.NetworkInterfaces[i].EndpointID)
			}
		}
	})
	t.Run("one interface with 100k addresses", func(t *testing.T) {
		var b strings.Builder
		b.WriteString(`{"NetworkInterfaces": [{"NetworkInterfaceId": "eni-1", "InterfaceType": "vpc_endpoint", "PrivateIpAddress": "10.0.0.0", "PrivateIpAddresses": [`)
		for i := range 100000 {
			fmt.Fprintf(&b, `{"PrivateIpAddress": "10.0.%d.%d"},`, i>>8&255, i&255) // every address 1.5 times
		}
		b.WriteString(`{"PrivateIpAddress": "10.1.0.0"}]}]}`)
		inv, err := Parse("enis.json", []byte(b.String()))
		if err != nil {
			t.Fatal(err)
		}
		got := inv.NetworkInterfaces[0].Addresses
		if len(got) != 65537 || got[0] != netip.MustParseAddr("10.0.0.0") || got[1] != netip.MustParseAddr("10.0.0.1") ||
			got[65536] != netip.MustParseAddr("10.1.0.0") {
			t.Fatalf("%d addresses (%v %v ... %v); want the 65,537 distinct ones in file order", len(got), got[0], got[1], got[len(got)-1])
		}
	})
	t.Run("40k gateway routes and anonymous entries", func(t *testing.T) {
		var b strings.Builder
		b.WriteString(`{"RouteTables": [{"RouteTableId": "rtb-1", "Routes": [`)
		for i := range 40000 {
			if i > 0 {
				b.WriteByte(',')
			}
			fmt.Fprintf(&b, `{"DestinationPrefixListId": "pl-%08x", "GatewayId": "vpce-1", "State": "active"}`, i)
		}
		b.WriteString(`]}]}`)
		inv, err := Parse("routes.json", []byte(b.String()))
		if err != nil {
			t.Fatal(err)
		}
		anon, err := Parse("entries.json", readTestdata(t, "testdata/aws/pl-0b1c2d3e-entries.json"))
		if err != nil {
			t.Fatal(err)
		}
		inv.Merge(anon)
		if len(inv.Warnings) != 1 || !strings.Contains(inv.Warnings[0], "entries.json: prefix-list entries without a list ID") {
			t.Fatalf("warnings %q; want the entries not tied to one of 40,000 lists", inv.Warnings)
		}
	})
}

func BenchmarkInventoryMerge(b *testing.B) {
	eps, enis := scaleInventory(10000)
	b.ReportAllocs()
	b.SetBytes(int64(len(eps) + len(enis)))
	for b.Loop() {
		inv, err := Parse("endpoints.json", eps)
		if err != nil {
			b.Fatal(err)
		}
		other, err := Parse("enis.json", enis)
		if err != nil {
			b.Fatal(err)
		}
		inv.Merge(other)
	}
}

func TestEndpointIsS3(t *testing.T) {
	tests := []struct {
		service string
		want    bool
	}{
		{"com.amazonaws.ap-south-1.s3", true},
		{"cn.com.amazonaws.cn-north-1.s3", true},
		{"com.amazonaws.us-west-2.s3express", true},         // S3 Express One Zone: not ".s3"
		{"com.amazonaws.s3-global.accesspoint", true},       // Multi-Region Access Points
		{"com.amazonaws.ap-south-1.sqs", false},             // another service
		{"com.amazonaws.ap-south-1.dynamodb", false},        // another gateway service
		{"com.amazonaws.s3-global.accesspoint.evil", false}, // look-alikes
		{"com.example.ap-south-1.s3", false},
		{"s3", false},
		{"", false},
	}
	for _, tt := range tests {
		for _, typ := range []string{"Interface", "Gateway"} {
			if got := (Endpoint{Service: tt.service, Type: typ}).IsS3(); got != tt.want {
				t.Errorf("%s endpoint of %q: IsS3 %v, want %v", typ, tt.service, got, tt.want)
			}
		}
	}
}

// inventoryOf parses and merges inline documents; names ending in .json
// are read from testdata/aws instead.
func inventoryOf(t *testing.T, docs ...string) *Inventory {
	t.Helper()
	var invs []*Inventory
	for i, d := range docs {
		name, data := fmt.Sprintf("in%d.json", i), []byte(d)
		if strings.HasSuffix(d, ".json") {
			name = filepath.Join("testdata", "aws", d)
			data = readTestdata(t, name)
		}
		inv, err := Parse(name, data)
		if err != nil {
			t.Fatal(err)
		}
		invs = append(invs, inv)
	}
	invs[0].Merge(invs[1:]...)
	return invs[0]
}

func TestInventoryCheck(t *testing.T) {
	const (
		sqs       = `{"VpcEndpoints": [{"VpcEndpointId": "vpce-1", "VpcEndpointType": "Interface", "ServiceName": "com.amazonaws.eu-west-1.sqs", "NetworkInterfaceIds": ["eni-1"]}]}`
		express   = `{"VpcEndpoints": [{"VpcEndpointId": "vpce-2", "VpcEndpointType": "Interface", "ServiceName": "com.amazonaws.ap-south-1.s3express", "NetworkInterfaceIds": ["eni-2", "eni-3"]}]}`
		mrapENI   = `{"NetworkInterfaces": [{"NetworkInterfaceId": "eni-9", "InterfaceType": "vpc_endpoint", "Description": "VPC Endpoint Interface vpce-9", "PrivateIpAddress": "10.0.5.9"}]}`
		mrap      = `{"VpcEndpoints": [{"VpcEndpointId": "vpce-9", "VpcEndpointType": "Interface", "ServiceName": "com.amazonaws.s3-global.accesspoint", "NetworkInterfaceIds": ["eni-9"]}]}`
		instance  = `{"NetworkInterfaces": [{"NetworkInterfaceId": "eni-5", "InterfaceType": "interface", "PrivateIpAddress": "10.0.1.10"}]}`
		natRoutes = `{"RouteTables": [{"RouteTableId": "rtb-1", "Routes": [{"DestinationCidrBlock": "0.0.0.0/0", "NatGatewayId": "nat-1", "State": "active"}]}]}`
		ddbRoutes = `{"RouteTables": [{"RouteTableId": "rtb-2", "Routes": [{"DestinationPrefixListId": "pl-0aaa1111", "GatewayId": "vpce-7", "State": "active"}]}]}`
		ddbList   = `{"PrefixLists": [{"PrefixListId": "pl-0aaa1111", "PrefixListName": "com.amazonaws.ap-south-1.dynamodb", "Cidrs": ["3.218.182.0/24"]}]}`
	)
	tests := []struct {
		name     string
		docs     []string
		ips      bool
		kind     error  // nil: the inventory is accepted
		contains string // in the error
	}{
		{"endpoints and their interfaces", []string{"vpc-endpoints.json", "network-interfaces.json"}, false, nil, ""},
		{"interfaces alone", []string{"network-interfaces.json"}, false, nil, ""},
		{"route tables and prefix lists: a gateway endpoint, no interface endpoint", []string{"route-tables.json", "managed-prefix-lists.json"}, false, nil, ""},
		{"endpoints without interfaces, but --endpoint-ip", []string{"vpc-endpoints.json"}, true, nil, ""},
		{"S3 Express and Multi-Region Access Point endpoints", []string{express, mrap, mrapENI}, false, nil, ""},

		{"empty VpcEndpoints", []string{`{"VpcEndpoints": []}`, "network-interfaces.json"}, false, ErrNoS3Endpoint,
			"in0.json: describe-vpc-endpoints lists no endpoint at all (wrong region or profile?)"},
		{"endpoints of another service only", []string{sqs}, false, ErrNoS3Endpoint,
			"in0.json: describe-vpc-endpoints lists no S3 endpoint, only one of another service (com.amazonaws.eu-west-1.sqs) (wrong region or profile?)"},
		{"empty NetworkInterfaces", []string{"vpc-endpoints.json", `{"NetworkInterfaces": []}`}, false, ErrNoS3Endpoint,
			"in1.json: describe-network-interfaces lists no network interface at all (wrong region or profile?)"},
		{"an instance's interface", []string{"vpc-endpoints.json", instance}, false, ErrNoS3Endpoint,
			"in1.json: describe-network-interfaces lists 1 network interface, none of a VPC endpoint (wrong region or profile?)"},
		{"endpoints without their interfaces", []string{"vpc-endpoints.json"}, false, ErrEndpointAddressesUnknown,
			"testdata/aws/vpc-endpoints.json: the addresses of S3 interface endpoint vpce-0a1b2c3d4e5f67890 are unknown; add the output of aws ec2 describe-network-interfaces --network-interface-ids eni-0aaa1111bbbb2222c eni-0ddd3333eeee4444f (or give --endpoint-ip)"},
		{"S3 Express endpoint without its interfaces", []string{express}, false, ErrEndpointAddressesUnknown,
			"--network-interface-ids eni-2 eni-3 (or give --endpoint-ip)"},
		{"only the interfaces of another service's endpoint", []string{sqs, `{"NetworkInterfaces": [{"NetworkInterfaceId": "eni-1", "InterfaceType": "vpc_endpoint", "PrivateIpAddress": "10.0.7.7"}]}`, "route-tables.json"}, false, ErrNoS3Endpoint,
			"in0.json: describe-vpc-endpoints lists no S3 endpoint"},
		{"route tables without a gateway route", []string{natRoutes}, false, ErrNoS3Endpoint,
			"in0.json: no S3 interface endpoint address and no route to a gateway endpoint (wrong region or profile?)"},
		{"a route to another service's gateway endpoint", []string{ddbRoutes, ddbList}, true, ErrNoS3Endpoint,
			"in0.json, in1.json: no S3 interface endpoint address and no route to a gateway endpoint"},
		{"an S3 gateway endpoint without its route tables", []string{`{"VpcEndpoints": [{"VpcEndpointId": "vpce-032a826a", "VpcEndpointType": "Gateway", "ServiceName": "com.amazonaws.ap-south-1.s3", "RouteTableIds": ["rtb-3d560345", "rtb-0f9e8d7c"]}]}`}, false, ErrNoS3Endpoint,
			"the S3 gateway endpoint's routes are in the output of aws ec2 describe-route-tables --route-table-ids rtb-3d560345 rtb-0f9e8d7c"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := inventoryOf(t, tt.docs...).Check(tt.ips)
			switch {
			case tt.kind == nil && err != nil:
				t.Fatalf("error %v; want the inventory accepted", err)
			case tt.kind != nil && (!errors.Is(err, tt.kind) || !strings.Contains(err.Error(), tt.contains)):
				t.Fatalf("error %v\nwant %v saying %q", err, tt.kind, tt.contains)
			}
		})
	}
	if err := (*Inventory)(nil).Check(false); err != nil {
		t.Errorf("no inventory: %v", err)
	}
}

// When one S3 interface endpoint's addresses are known and another's are
// not, the inventory stands, with a warning that says which command fills
// the gap; the same file merged twice warns once.
func TestInventoryWarnsOfEndpointsWithoutAddresses(t *testing.T) {
	second := `{"VpcEndpoints": [{"VpcEndpointId": "vpce-0b2c", "VpcEndpointType": "Interface", "ServiceName": "com.amazonaws.ap-south-1.s3", "NetworkInterfaceIds": ["eni-0f00", "eni-0f01"]}]}`
	inv := inventoryOf(t, "vpc-endpoints.json", "network-interfaces.json", second, second)
	if err := inv.Check(false); err != nil {
		t.Fatal(err)
	}
	want := "in2.json: the addresses of S3 interface endpoint vpce-0b2c are unknown, so traffic to them is not recognised; add the output of aws ec2 describe-network-interfaces --network-interface-ids eni-0f00 eni-0f01"
	if in3 := strings.ReplaceAll(want, "in2.json", "in3.json"); len(inv.Warnings) != 1 || inv.Warnings[0] != want && inv.Warnings[0] != in3 {
		t.Fatalf("warnings %q\nwant one: %q", inv.Warnings, want)
	}
	inv = inventoryOf(t, "vpc-endpoints.json", "network-interfaces.json")
	if len(inv.Warnings) != 0 {
		t.Fatalf("warnings %q with every address known", inv.Warnings)
	}
}

// An ID that is not an AWS ID is quoted, and a hostile list is cut: an
// error is one readable line.
func TestInventoryCheckMessagesStayOneLine(t *testing.T) {
	var ids []string
	for i := range 1000 {
		ids = append(ids, fmt.Sprintf("%q", fmt.Sprintf("eni-%d", i)))
	}
	ids[0] = `"eni-1\n\u001b[31mred"`
	doc := `{"VpcEndpoints": [{"VpcEndpointId": "vpce-1", "VpcEndpointType": "Interface", "ServiceName": "com.amazonaws.ap-south-1.s3", "NetworkInterfaceIds": [` + strings.Join(ids, ",") + `]}]}`
	err := inventoryOf(t, doc).Check(false)
	if err == nil || strings.ContainsAny(err.Error(), "\n\x1b") || len(err.Error()) > 1000 ||
		!strings.Contains(err.Error(), `"eni-1\n\x1b[31mred" eni-1 eni-2`) || !strings.Contains(err.Error(), "eni-31 ... (968 more)") {
		t.Fatalf("error %q", err)
	}
}

func readTestdata(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(name)
	if err != nil {
		t.Fatal(err)
	}
	return b
}
