package resolve

import (
	"net/netip"
	"path/filepath"
	"slices"
	"testing"

	"github.com/vpce-verify/vpce-verify/resolve/inventory"
	"github.com/vpce-verify/vpce-verify/resolve/ipranges"
)

const (
	s3Interface = "vpce-0a1b2c3d4e5f67890"
	s3Gateway   = "vpce-032a826a"
	s3Route     = "rtb-3d560345: pl-0b1c2d3e -> vpce-032a826a"
)

type classCase struct {
	addr     string
	path     Path
	basis    string
	endpoint string
	route    string
	inAWS    bool
	services []string // checked when not nil
}

func runClassCases(t *testing.T, c *Classifier, cases []classCase) {
	t.Helper()
	for _, tt := range cases {
		t.Run(tt.addr, func(t *testing.T) {
			got := c.Classify(netip.MustParseAddr(tt.addr))
			if got.Path != tt.path || got.Basis != tt.basis || got.Endpoint != tt.endpoint || got.Route != tt.route || got.InAWS != tt.inAWS {
				t.Fatalf("got %+v\nwant path %s basis %s endpoint %q route %q inAWS %v", got, tt.path, tt.basis, tt.endpoint, tt.route, tt.inAWS)
			}
			if got.InAWS != got.AWS.Prefix.IsValid() {
				t.Errorf("InAWS %v but AWS %+v", got.InAWS, got.AWS)
			}
			if tt.services != nil && !slices.Equal(got.AWS.Services, tt.services) {
				t.Errorf("services %v, want %v", got.AWS.Services, tt.services)
			}
		})
	}
}

func TestClassifyWithFullInventory(t *testing.T) {
	inv := mergeFixtures(t, "vpc-endpoints.json", "network-interfaces.json", "route-tables.json",
		"managed-prefix-lists.json", "pl-0b1c2d3e-entries.json")
	c := NewClassifier(ipranges.Embedded(), inv, addrs("10.0.3.7", "10.0.2.50"), prefixes("10.0.0.0/16", "198.18.0.0/16"))
	runClassCases(t, c, []classCase{
		{"10.0.1.25", PathInterfaceEndpoint, BasisEndpointENI, s3Interface, "", false, nil},
		{"::ffff:10.0.1.25", PathInterfaceEndpoint, BasisEndpointENI, s3Interface, "", false, nil},
		// given with --endpoint-ip and known from the inventory: the flag
		// is the basis, the inventory names the endpoint
		{"10.0.2.50", PathInterfaceEndpoint, BasisEndpointIP, s3Interface, "", false, nil},
		{"10.0.3.7", PathInterfaceEndpoint, BasisEndpointIP, "", "", false, nil},
		// an endpoint's IPv6 address inside an EC2 range is still the endpoint
		{"2406:da1a:8e0:2c01::25", PathInterfaceEndpoint, BasisEndpointENI, s3Interface, "", true, []string{"AMAZON", "EC2"}},
		// in the S3 prefix list that rtb-3d560345 sends to the gateway endpoint
		{"52.219.64.10", PathGatewayEndpoint, BasisRouteTable, s3Gateway, s3Route, true, []string{"AMAZON", "S3"}},
		{"3.5.208.1", PathGatewayEndpoint, BasisRouteTable, s3Gateway, s3Route, true, []string{"AMAZON", "EC2", "S3"}},
		// an ap-south-1 S3 address that is not among the known entries
		{"3.5.212.1", PathPublicAWS, BasisIPRanges, "", "", true, []string{"AMAZON", "EC2", "S3"}},
		{"52.216.25.1", PathPublicAWS, BasisIPRanges, "", "", true, []string{"AMAZON", "S3"}},
		{"18.196.145.224", PathPublicAWS, BasisIPRanges, "", "", true, []string{"AMAZON", "EC2"}},
		{"10.0.1.10", PathPrivateOther, BasisVPCCIDR, "", "", false, nil},
		{"198.18.5.5", PathPrivateOther, BasisVPCCIDR, "", "", false, nil},
		{"10.9.9.9", PathPrivateOther, BasisPrivateRange, "", "", false, nil},
		{"8.8.8.8", PathPublicNonAWS, BasisNone, "", "", false, nil},
	})
}

func TestClassifyGatewayEvidence(t *testing.T) {
	t.Run("list name without entries: the region's S3 ranges", func(t *testing.T) {
		c := NewClassifier(ipranges.Embedded(), mergeFixtures(t, "route-tables.json", "managed-prefix-lists.json"), nil, nil)
		runClassCases(t, c, []classCase{
			{"3.5.212.1", PathGatewayEndpoint, BasisRouteTable, s3Gateway, s3Route, true, nil},
			{"2406:daf9:a000::1", PathGatewayEndpoint, BasisRouteTable, s3Gateway, s3Route, true, nil},
			// 3.5.212.1 through NAT64: the NAT gateway's route table, not
			// the host's, takes it on.
			{"64:ff9b::305:d401", PathPublicAWS, BasisIPRanges, "", "", true, nil},
			{"52.216.25.1", PathPublicAWS, BasisIPRanges, "", "", true, nil},    // S3, but us-east-1
			{"65.1.103.1", PathPublicAWS, BasisIPRanges, "", "", true, nil},     // ap-south-1, but not S3
			{"18.196.145.224", PathPublicAWS, BasisIPRanges, "", "", true, nil}, // neither
		})
	})
	t.Run("gateway endpoint's service without the list", func(t *testing.T) {
		c := NewClassifier(ipranges.Embedded(), mergeFixtures(t, "route-tables.json", "vpc-endpoints.json"), nil, nil)
		runClassCases(t, c, []classCase{
			{"3.5.212.1", PathGatewayEndpoint, BasisRouteTable, s3Gateway, s3Route, true, nil},
			{"52.216.25.1", PathPublicAWS, BasisIPRanges, "", "", true, nil},
		})
	})
	t.Run("route without anything known about the list", func(t *testing.T) {
		c := NewClassifier(ipranges.Embedded(), mergeFixtures(t, "route-tables.json"), nil, nil)
		runClassCases(t, c, []classCase{{"3.5.212.1", PathPublicAWS, BasisIPRanges, "", "", true, nil}})
	})
	t.Run("no route tables: never a gateway endpoint", func(t *testing.T) {
		c := NewClassifier(ipranges.Embedded(), mergeFixtures(t, "vpc-endpoints.json", "network-interfaces.json", "managed-prefix-lists.json", "pl-0b1c2d3e-entries.json"), nil, nil)
		runClassCases(t, c, []classCase{{"52.219.64.10", PathPublicAWS, BasisIPRanges, "", "", true, nil}})
	})
	t.Run("blackhole route is no evidence", func(t *testing.T) {
		inv := mergeFixtures(t, "route-tables.json")
		entries, err := inventory.Parse("pl-0a9b8c7d.json", []byte(`{"Entries": [{"Cidr": "52.216.0.0/15"}]}`))
		if err != nil {
			t.Fatal(err)
		}
		inv.Merge(entries)
		c := NewClassifier(ipranges.Embedded(), inv, nil, nil)
		runClassCases(t, c, []classCase{{"52.216.25.1", PathPublicAWS, BasisIPRanges, "", "", true, nil}})
	})
	t.Run("entries outside ip-ranges still count", func(t *testing.T) {
		inv := mergeFixtures(t, "route-tables.json")
		entries, err := inventory.Parse("pl-0b1c2d3e.json", []byte(`{"Entries": [{"Cidr": "203.0.113.0/24"}]}`))
		if err != nil {
			t.Fatal(err)
		}
		inv.Merge(entries)
		c := NewClassifier(ipranges.Embedded(), inv, nil, nil)
		runClassCases(t, c, []classCase{{"203.0.113.9", PathGatewayEndpoint, BasisRouteTable, s3Gateway, s3Route, false, nil}})
	})
}

func TestClassifyWithoutInventory(t *testing.T) {
	c := NewClassifier(ipranges.Embedded(), nil, nil, nil)
	runClassCases(t, c, []classCase{
		{"52.219.64.10", PathPublicAWS, BasisIPRanges, "", "", true, []string{"AMAZON", "S3"}},
		{"::ffff:52.219.64.10", PathPublicAWS, BasisIPRanges, "", "", true, []string{"AMAZON", "S3"}},
		{"64:ff9b::34db:400a", PathPublicAWS, BasisIPRanges, "", "", true, []string{"AMAZON", "S3"}}, // NAT64 of 52.219.64.10
		{"64:ff9b::a00:119", PathPrivateOther, BasisPrivateRange, "", "", false, nil},                // NAT64 of 10.0.1.25
		{"64:ff9b:1::34db:400a", PathPublicNonAWS, BasisNone, "", "", false, nil},                    // not the well-known prefix
		{"2406:da1a:8e0:2c01::25", PathPublicAWS, BasisIPRanges, "", "", true, []string{"AMAZON", "EC2"}},
		{"10.0.1.25", PathPrivateOther, BasisPrivateRange, "", "", false, nil},
		{"172.16.0.1", PathPrivateOther, BasisPrivateRange, "", "", false, nil},
		{"172.31.255.255", PathPrivateOther, BasisPrivateRange, "", "", false, nil},
		{"192.168.1.1", PathPrivateOther, BasisPrivateRange, "", "", false, nil},
		{"100.64.0.1", PathPrivateOther, BasisPrivateRange, "", "", false, nil},
		{"100.127.255.254", PathPrivateOther, BasisPrivateRange, "", "", false, nil},
		{"169.254.169.253", PathPrivateOther, BasisPrivateRange, "", "", false, nil},
		{"fd00:ec2::253", PathPrivateOther, BasisPrivateRange, "", "", false, nil},
		{"fe80::1", PathPrivateOther, BasisPrivateRange, "", "", false, nil},
		{"127.0.0.53", PathPrivateOther, BasisPrivateRange, "", "", false, nil},
		{"::1", PathPrivateOther, BasisPrivateRange, "", "", false, nil},
		{"172.32.0.1", PathPublicNonAWS, BasisNone, "", "", false, nil},
		{"100.128.0.1", PathPublicNonAWS, BasisNone, "", "", false, nil},
		{"198.18.5.5", PathPublicNonAWS, BasisNone, "", "", false, nil},
		{"2001:4860:4860::8888", PathPublicNonAWS, BasisNone, "", "", false, nil},
	})
	t.Run("no ranges", func(t *testing.T) {
		runClassCases(t, NewClassifier(nil, nil, nil, nil), []classCase{
			{"52.216.25.1", PathPublicNonAWS, BasisNone, "", "", false, nil},
		})
	})
	t.Run("zero address", func(t *testing.T) {
		if got := c.Classify(netip.Addr{}); got.Path != PathPublicNonAWS || got.Basis != BasisNone {
			t.Fatalf("got %+v", got)
		}
	})
}

func TestClassifyDoesNotAllocate(t *testing.T) {
	inv := mergeFixtures(t, "vpc-endpoints.json", "network-interfaces.json", "route-tables.json", "managed-prefix-lists.json")
	c := NewClassifier(ipranges.Embedded(), inv, nil, prefixes("10.0.0.0/16"))
	for _, s := range classifyMix {
		a := netip.MustParseAddr(s)
		if n := testing.AllocsPerRun(100, func() { c.Classify(a) }); n != 0 {
			t.Errorf("Classify(%s) allocates %v times", s, n)
		}
	}
}

var classifyMix = []string{
	"10.0.1.25", "2406:da1a:8e0:2c01::25", // endpoint
	"52.219.64.10", "3.5.212.1", // gateway by name
	"52.216.25.1", "18.196.145.224", "2406:daf9:a000::1", // public AWS
	"10.0.1.10", "192.168.1.1", "fd00:ec2::253", // private
	"8.8.8.8", "2001:4860:4860::8888", // not AWS
}

func BenchmarkClassify(b *testing.B) {
	inv := &inventory.Inventory{}
	for _, n := range []string{"vpc-endpoints.json", "network-interfaces.json", "route-tables.json", "managed-prefix-lists.json"} {
		path := filepath.Join(fixtures, n)
		one, err := inventory.Parse(path, readTestdata(b, path))
		if err != nil {
			b.Fatal(err)
		}
		inv.Merge(one)
	}
	c := NewClassifier(ipranges.Embedded(), inv, nil, prefixes("10.0.0.0/16"))
	as := addrs(classifyMix...)
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		c.Classify(as[i%len(as)])
		i++
	}
}
