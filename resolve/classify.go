package resolve

import (
	"fmt"
	"net/netip"
	"slices"
	"strings"

	"github.com/gaissmai/bart"
	"github.com/vpce-verify/vpce-verify/resolve/inventory"
	"github.com/vpce-verify/vpce-verify/resolve/ipranges"
)

// Path is where traffic to an address goes, as far as the evidence shows.
type Path string

// The paths, in the words of the JSON report.
const (
	PathInterfaceEndpoint Path = "interface-endpoint" // an address of a VPC interface endpoint
	PathGatewayEndpoint   Path = "gateway-endpoint"   // a public AWS address that a route sends to a gateway endpoint
	PathPublicAWS         Path = "public-aws"         // in ip-ranges.json, reached by whatever route (IGW, NAT, or an unproven gateway endpoint)
	PathPublicNonAWS      Path = "public-non-aws"     // anything else
	PathPrivateOther      Path = "private-other"      // private or in the VPC, but not a known endpoint
)

// The bases of a Class: why an address got its path. The words are stable;
// the report prints them.
const (
	BasisEndpointIP   = "endpoint-ip"   // given as an endpoint address (--endpoint-ip)
	BasisEndpointENI  = "endpoint-eni"  // an endpoint network interface in the inventory
	BasisRouteTable   = "route-table"   // an active prefix-list route to a gateway endpoint covers it
	BasisIPRanges     = "ip-ranges"     // listed in ip-ranges.json
	BasisVPCCIDR      = "vpc-cidr"      // inside a --vpc-cidr
	BasisPrivateRange = "private-range" // RFC 1918, RFC 6598, ULA, link-local or loopback
	BasisNone         = "none"          // no evidence of anything
)

// Class is the classification of one address.
type Class struct {
	Path     Path
	Basis    string // one of the Basis constants
	Endpoint string // the vpce- ID, when known
	// AWS is what ip-ranges.json says about the address, whenever it is
	// inside it (also for an endpoint's IPv6 address that lies inside an
	// EC2 range: informative only).
	AWS   ipranges.Match
	InAWS bool
	// Route is the route-table evidence for PathGatewayEndpoint, e.g.
	// "rtb-3d560345: pl-63a5400a -> vpce-032a826a".
	Route string
}

// Classifier classifies addresses against ip-ranges.json and what is known
// about the VPC. It is read-only after NewClassifier and safe for
// concurrent use.
type Classifier struct {
	ranges    *ipranges.Ranges
	endpoints map[netip.Addr]endpointAddr
	gateway   bart.Table[int32] // prefix-list entry -> index into routes
	byName    []gatewayByName
	routes    []gatewayRoute
	vpc       []netip.Prefix
}

type endpointAddr struct{ id, basis string }

type gatewayRoute struct{ endpoint, text string }

// gatewayByName stands for a prefix-list route whose entries are unknown but
// whose list is known to be a service's list for a region
// (com.amazonaws.REGION.s3): the service's ranges for that region in
// ip-ranges.json stand in for the entries.
type gatewayByName struct {
	region, service string
	route           int32
}

var sharedAddressSpace = netip.MustParsePrefix("100.64.0.0/10") // RFC 6598

// nat64 is the well-known NAT64 prefix (RFC 6052): in an IPv6-only subnet,
// DNS64 (Route 53 Resolver) answers an IPv4-only name with the IPv4 address
// embedded in it, and a NAT gateway translates the connection to that IPv4
// address.
var nat64 = netip.MustParsePrefix("64:ff9b::/96")

// nat64Embedded returns the IPv4 address a NAT64 address (64:ff9b::/96)
// reaches.
func nat64Embedded(a netip.Addr) (netip.Addr, bool) {
	if !a.Is6() || !nat64.Contains(a) {
		return netip.Addr{}, false
	}
	b := a.As16()
	return netip.AddrFrom4([4]byte(b[12:])), true
}

// NewClassifier prepares a classifier. r may be nil (nothing is in AWS), inv
// may be nil. endpointIPs are addresses the user says are interface
// endpoint addresses; vpcCIDRs are the VPC's own ranges.
//
// Route-table evidence: an active route whose destination is a prefix list
// and whose target is a gateway endpoint (vpce-) makes every address in that
// list's entries a gateway-endpoint address. When the entries are not in the
// inventory but the list's name (com.amazonaws.REGION.SERVICE), or the
// service of the gateway endpoint the route points to, is known, the
// service's ip-ranges.json prefixes in REGION stand in for them. The
// classifier does not know which subnet the host is in: give it the route
// tables that apply to the host's subnet.
func NewClassifier(r *ipranges.Ranges, inv *inventory.Inventory, endpointIPs []netip.Addr, vpcCIDRs []netip.Prefix) *Classifier {
	c := &Classifier{ranges: r, endpoints: make(map[netip.Addr]endpointAddr)}
	if inv != nil {
		for _, n := range inv.NetworkInterfaces {
			if !n.IsEndpoint {
				continue
			}
			for _, a := range n.Addresses {
				c.endpoints[a.Unmap()] = endpointAddr{id: n.EndpointID, basis: BasisEndpointENI}
			}
		}
		c.addRoutes(inv)
	}
	for _, a := range endpointIPs {
		a = a.Unmap()
		c.endpoints[a] = endpointAddr{id: c.endpoints[a].id, basis: BasisEndpointIP}
	}
	for _, p := range vpcCIDRs {
		c.vpc = append(c.vpc, p.Masked())
	}
	return c
}

func (c *Classifier) addRoutes(inv *inventory.Inventory) {
	tables := slices.Clone(inv.RouteTables)
	slices.SortFunc(tables, func(a, b inventory.RouteTable) int { return strings.Compare(a.ID, b.ID) })
	for _, rt := range tables {
		for _, r := range rt.Routes {
			if !r.GatewayEndpoint() {
				continue
			}
			ri := int32(len(c.routes))
			c.routes = append(c.routes, gatewayRoute{
				endpoint: r.Target,
				text:     fmt.Sprintf("%s: %s -> %s", rt.ID, r.PrefixListID, r.Target),
			})
			pl, _ := inv.LookupPrefixList(r.PrefixListID)
			if len(pl.CIDRs) > 0 {
				for _, p := range pl.CIDRs {
					if _, ok := c.gateway.Get(p); !ok {
						c.gateway.Insert(p, ri)
					}
				}
				continue
			}
			region, service, ok := inventory.ServiceOf(pl.Name)
			if e, found := inv.Endpoint(r.Target); !ok && found && e.Type == "Gateway" {
				region, service, ok = inventory.ServiceOf(e.Service)
			}
			if ok {
				c.byName = append(c.byName, gatewayByName{region: region, service: strings.ToUpper(service), route: ri})
			}
		}
	}
}

// Classify says what a is, in this order (README.md, "How the verdict is reached"): a known endpoint
// address first (an endpoint's IPv6 address can lie inside an EC2 range),
// then ip-ranges.json (a gateway endpoint only with route-table evidence),
// then private ranges and the VPC's CIDRs, then public-non-aws. An address
// of the NAT64 prefix 64:ff9b::/96 is classified as the IPv4 address it
// embeds, which the connection reaches through the NAT gateway (never a
// gateway endpoint: the route tables given are the host's). It does not
// allocate.
func (c *Classifier) Classify(a netip.Addr) Class {
	a = a.Unmap()
	if !a.IsValid() {
		return Class{Path: PathPublicNonAWS, Basis: BasisNone}
	}
	if v4, ok := nat64Embedded(a); ok {
		if _, listed := c.endpoints[a]; !listed {
			cl := c.Classify(v4)
			if cl.Path == PathGatewayEndpoint {
				// The NAT gateway's subnet routes the IPv4 connection, and
				// the route tables given are the host's: no evidence.
				cl.Path, cl.Basis, cl.Endpoint, cl.Route = PathPublicAWS, BasisIPRanges, "", ""
				if !cl.InAWS {
					cl.Path, cl.Basis = PathPublicNonAWS, BasisNone
				}
			}
			return cl
		}
	}
	var cl Class
	if c.ranges != nil {
		cl.AWS, cl.InAWS = c.ranges.Lookup(a)
	}
	if ep, ok := c.endpoints[a]; ok {
		cl.Path, cl.Basis, cl.Endpoint = PathInterfaceEndpoint, ep.basis, ep.id
		return cl
	}
	if ri, ok := c.gateway.Lookup(a); ok {
		return c.viaGateway(cl, ri)
	}
	if cl.InAWS {
		for _, g := range c.byName {
			if cl.AWS.Region == g.region && cl.AWS.Has(g.service) {
				return c.viaGateway(cl, g.route)
			}
		}
		cl.Path, cl.Basis = PathPublicAWS, BasisIPRanges
		return cl
	}
	for _, p := range c.vpc {
		if p.Contains(a) {
			cl.Path, cl.Basis = PathPrivateOther, BasisVPCCIDR
			return cl
		}
	}
	if a.IsPrivate() || a.IsLoopback() || a.IsLinkLocalUnicast() || sharedAddressSpace.Contains(a) {
		cl.Path, cl.Basis = PathPrivateOther, BasisPrivateRange
		return cl
	}
	cl.Path, cl.Basis = PathPublicNonAWS, BasisNone
	return cl
}

func (c *Classifier) viaGateway(cl Class, ri int32) Class {
	r := c.routes[ri]
	cl.Path, cl.Basis, cl.Endpoint, cl.Route = PathGatewayEndpoint, BasisRouteTable, r.endpoint, r.text
	return cl
}
