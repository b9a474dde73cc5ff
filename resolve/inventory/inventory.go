package inventory

import (
	"bytes"
	"cmp"
	"encoding/json"
	"errors"
	"fmt"
	"net/netip"
	"reflect"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"github.com/vpce-verify/vpce-verify/resolve/s3name"
)

// Inventory is what the AWS CLI said about a VPC's endpoints, their network
// interfaces, route tables and prefix lists, gathered from one or more JSON
// files. Each list is sorted by ID and holds one element per ID.
type Inventory struct {
	Sources           []string // the names given to Parse, in order
	Endpoints         []Endpoint
	NetworkInterfaces []NetworkInterface
	RouteTables       []RouteTable
	PrefixLists       []PrefixList
	// Warnings says what could not be tied together, e.g. prefix-list
	// entries whose list is unknown, or an S3 interface endpoint whose
	// addresses are unknown while another's are known.
	Warnings []string

	files []inventoryFile // what Check needs to know of each file, in order
}

// inventoryFile is what Check needs to know of one file: its shape and
// what it listed.
type inventoryFile struct {
	name        string
	endpoints   bool     // describe-vpc-endpoints output (VpcEndpoints)
	interfaces  bool     // describe-network-interfaces output (NetworkInterfaces)
	s3Endpoints int      // S3 endpoints it lists, of any type
	others      []string // services of the first few other endpoints it lists
	otherCount  int      // endpoints of other services
	eniIDs      []string // the network interfaces it lists
}

// Endpoint is one element of `aws ec2 describe-vpc-endpoints`.
type Endpoint struct {
	ID      string // VpcEndpointId
	Type    string // VpcEndpointType: "Interface", "Gateway", "GatewayLoadBalancer", ...
	VPC     string // VpcId
	Service string // ServiceName, e.g. "com.amazonaws.ap-south-1.s3"
	State   string // "available", "pending", ...

	PrivateDNSEnabled bool // PrivateDnsEnabled
	// PrivateDNSOnlyForInboundResolverEndpoint is DnsOptions'
	// PrivateDnsOnlyForInboundResolverEndpoint, nil when the JSON does not
	// say. When true, hosts inside the VPC still get public S3 answers.
	PrivateDNSOnlyForInboundResolverEndpoint *bool
	DNSRecordIPType                          string // DnsOptions.DnsRecordIpType
	IPAddressType                            string // IpAddressType: "ipv4", "dualstack", "ipv6"

	DNSNames            []string // DnsEntries[].DnsName
	NetworkInterfaceIDs []string
	RouteTableIDs       []string
	SubnetIDs           []string

	// Addresses are the addresses of the endpoint's network interfaces,
	// known only when describe-network-interfaces output was given too.
	Addresses []netip.Addr
	Source    string // the file it came from
}

// IsS3 reports whether e is an endpoint of Amazon S3: the regional service
// (com.amazonaws.REGION.s3, cn.com.amazonaws.REGION.s3 in China), S3 Express
// One Zone's directory buckets (com.amazonaws.REGION.s3express) or
// Multi-Region Access Points (com.amazonaws.s3-global.accesspoint), of any
// endpoint type.
func (e Endpoint) IsS3() bool {
	if e.Service == "com.amazonaws.s3-global.accesspoint" {
		return true
	}
	_, service, ok := ServiceOf(e.Service)
	return ok && (service == "s3" || service == "s3express")
}

// isInterface reports whether e is an interface endpoint, whose network
// interfaces' addresses are the service's addresses in the VPC.
func (e Endpoint) isInterface() bool { return strings.EqualFold(e.Type, "Interface") }

// NetworkInterface is one element of `aws ec2 describe-network-interfaces`.
type NetworkInterface struct {
	ID               string // NetworkInterfaceId
	Type             string // InterfaceType: "vpc_endpoint" for endpoint interfaces
	Description      string
	SubnetID         string
	VPC              string
	AvailabilityZone string
	RequesterManaged bool
	// Addresses holds the private IPv4 addresses (primary first) and the
	// IPv6 addresses.
	Addresses []netip.Addr

	// IsEndpoint is set when Type is vpc_endpoint or an interface endpoint
	// lists this interface in its NetworkInterfaceIds.
	IsEndpoint bool
	// EndpointID is the endpoint the interface belongs to, from an
	// endpoint's NetworkInterfaceIds or else from the Description ("VPC
	// Endpoint Interface vpce-...").
	EndpointID string
	Source     string
}

// RouteTable is one element of `aws ec2 describe-route-tables`.
type RouteTable struct {
	ID      string
	VPC     string
	Main    bool     // the VPC's main table: it applies to subnets without an explicit association
	Subnets []string // Associations[].SubnetId
	Routes  []Route
	Source  string
}

// Route is one route of a route table.
type Route struct {
	Destination  netip.Prefix // DestinationCidrBlock or DestinationIpv6CidrBlock; zero for a prefix-list route
	PrefixListID string       // DestinationPrefixListId
	Target       string       // GatewayId ("vpce-..." for a gateway endpoint, "igw-...", "local"), NatGatewayId, ...
	State        string       // "active", "blackhole", "filtered"
}

// GatewayEndpoint reports whether r is an active route that sends a prefix
// list to a gateway endpoint: the only route-table evidence of the gateway path.
func (r Route) GatewayEndpoint() bool {
	return r.PrefixListID != "" && strings.HasPrefix(r.Target, "vpce-") && r.State == "active"
}

// PrefixList is a managed prefix list (`describe-managed-prefix-lists`,
// `describe-prefix-lists`) with the entries that are known for it
// (`get-managed-prefix-list-entries`, or the Cidrs of describe-prefix-lists).
type PrefixList struct {
	ID            string // PrefixListId; empty for entries whose list could not be told
	Name          string // PrefixListName, e.g. "com.amazonaws.ap-south-1.s3"
	AddressFamily string // "IPv4" or "IPv6"
	CIDRs         []netip.Prefix
	Source        string
}

// ErrUnknownShape is returned (wrapped) for JSON that is not one of the AWS
// CLI outputs Parse knows.
var ErrUnknownShape = errors.New("not an AWS CLI output this tool reads")

// inventoryKeys are the top-level keys Parse reads.
var inventoryKeys = []string{"VpcEndpoints", "NetworkInterfaces", "RouteTables", "PrefixLists", "Entries"}

// JSON as the AWS CLI prints it; only the members used here.
type (
	cliEndpoint struct {
		VpcEndpointId     string
		VpcEndpointType   string
		VpcId             string
		ServiceName       string
		State             string
		PrivateDnsEnabled bool
		DnsOptions        *struct {
			DnsRecordIpType                          string
			PrivateDnsOnlyForInboundResolverEndpoint *bool
		}
		IpAddressType       string
		DnsEntries          []struct{ DnsName string }
		NetworkInterfaceIds []string
		RouteTableIds       []string
		SubnetIds           []string
	}
	cliInterface struct {
		NetworkInterfaceId string
		InterfaceType      string
		Description        string
		SubnetId           string
		VpcId              string
		AvailabilityZone   string
		RequesterManaged   bool
		PrivateIpAddress   string
		PrivateIpAddresses []struct{ PrivateIpAddress string }
		Ipv6Address        string
		Ipv6Addresses      []struct{ Ipv6Address string }
	}
	cliRouteTable struct {
		RouteTableId string
		VpcId        string
		Associations []struct {
			SubnetId string
			Main     bool
		}
		Routes []struct {
			DestinationCidrBlock        string
			DestinationIpv6CidrBlock    string
			DestinationPrefixListId     string
			GatewayId                   string
			NatGatewayId                string
			TransitGatewayId            string
			VpcPeeringConnectionId      string
			NetworkInterfaceId          string
			InstanceId                  string
			EgressOnlyInternetGatewayId string
			LocalGatewayId              string
			CarrierGatewayId            string
			CoreNetworkArn              string
			State                       string
		}
	}
	cliPrefixList struct {
		PrefixListId   string
		PrefixListName string
		AddressFamily  string
		Cidrs          []string
	}
	cliEntry struct{ Cidr string }
)

// prefixListIDInName finds the list ID in a file name such as
// "pl-63a5400a.json" (8 or 17 hex digits), because
// get-managed-prefix-list-entries does not repeat the ID it was asked for.
var prefixListIDInName = regexp.MustCompile(`(?:^|[^0-9A-Za-z])(pl-[0-9a-f]{8}(?:[0-9a-f]{9})?)(?:$|[^0-9A-Za-z])`)

// Parse reads one JSON file printed by the AWS CLI (name is used in
// errors and as the source of what it holds). The shape is told by the
// top-level key: VpcEndpoints (describe-vpc-endpoints), NetworkInterfaces
// (describe-network-interfaces), RouteTables (describe-route-tables),
// PrefixLists (describe-managed-prefix-lists, describe-prefix-lists) or
// Entries (get-managed-prefix-list-entries; the list ID is taken from the
// file name when it holds one). Unknown members are ignored.
func Parse(name string, data []byte) (*Inventory, error) {
	inv, err := parseInventory(name, data)
	if err != nil {
		return nil, fmt.Errorf("inventory: %s: %w", name, err)
	}
	inv.link()
	return inv, nil
}

func parseInventory(name string, data []byte) (*Inventory, error) {
	data = bytes.TrimPrefix(data, []byte("\xef\xbb\xbf")) // PowerShell writes a BOM
	if len(bytes.TrimSpace(data)) == 0 {
		return nil, errors.New("empty file")
	}
	var top map[string]json.RawMessage
	if err := json.Unmarshal(data, &top); err != nil {
		return nil, jsonError(err)
	}
	found := false
	for _, k := range inventoryKeys {
		if _, ok := top[k]; ok {
			found = true
		}
	}
	if !found {
		keys := make([]string, 0, len(top))
		for k := range top {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		seen := "no keys"
		if len(keys) > 0 {
			seen = "keys " + strings.Join(keys, ", ")
		}
		return nil, fmt.Errorf("%w: top-level %s; want one of %s", ErrUnknownShape, seen, strings.Join(inventoryKeys, ", "))
	}

	inv := &Inventory{Sources: []string{name}}
	f := inventoryFile{name: name}
	if raw, ok := top["VpcEndpoints"]; ok {
		f.endpoints = true
		var eps []cliEndpoint
		if err := decodeMember(raw, "VpcEndpoints", &eps); err != nil {
			return nil, err
		}
		inv.Endpoints = make([]Endpoint, 0, len(eps))
		for i, e := range eps {
			if !strings.HasPrefix(e.VpcEndpointId, "vpce-") {
				return nil, fmt.Errorf("VpcEndpoints[%d].VpcEndpointId %q: want vpce-...", i, e.VpcEndpointId)
			}
			ep := Endpoint{
				ID: e.VpcEndpointId, Type: e.VpcEndpointType, VPC: e.VpcId, Service: e.ServiceName, State: e.State,
				PrivateDNSEnabled: e.PrivateDnsEnabled, IPAddressType: e.IpAddressType,
				NetworkInterfaceIDs: e.NetworkInterfaceIds, RouteTableIDs: e.RouteTableIds, SubnetIDs: e.SubnetIds,
				Source: name,
			}
			if e.DnsOptions != nil {
				ep.DNSRecordIPType = e.DnsOptions.DnsRecordIpType
				ep.PrivateDNSOnlyForInboundResolverEndpoint = e.DnsOptions.PrivateDnsOnlyForInboundResolverEndpoint
			}
			for _, d := range e.DnsEntries {
				ep.DNSNames = append(ep.DNSNames, d.DnsName)
			}
			if ep.IsS3() {
				f.s3Endpoints++
			} else {
				if f.otherCount < 3 {
					f.others = append(f.others, ep.Service)
				}
				f.otherCount++
			}
			inv.Endpoints = append(inv.Endpoints, ep)
		}
	}
	if raw, ok := top["NetworkInterfaces"]; ok {
		f.interfaces = true
		var enis []cliInterface
		if err := decodeMember(raw, "NetworkInterfaces", &enis); err != nil {
			return nil, err
		}
		inv.NetworkInterfaces = make([]NetworkInterface, 0, len(enis))
		for i, e := range enis {
			if e.NetworkInterfaceId == "" {
				return nil, fmt.Errorf("NetworkInterfaces[%d]: no NetworkInterfaceId", i)
			}
			ni := NetworkInterface{
				ID: e.NetworkInterfaceId, Type: e.InterfaceType, Description: e.Description, SubnetID: e.SubnetId,
				VPC: e.VpcId, AvailabilityZone: e.AvailabilityZone, RequesterManaged: e.RequesterManaged, Source: name,
			}
			// field is formatted with j only for an error: an interface
			// may list many addresses.
			add := func(field string, j int, s string, want4 bool) error {
				if s == "" {
					return nil
				}
				a, err := netip.ParseAddr(s)
				if err == nil && a.Is4() != want4 {
					err = errors.New("wrong address family")
				}
				if err != nil {
					if j >= 0 {
						field = fmt.Sprintf(field, j)
					}
					return fmt.Errorf("NetworkInterfaces[%d].%s %q: %w", i, field, s, err)
				}
				ni.Addresses = append(ni.Addresses, a)
				return nil
			}
			if err := add("PrivateIpAddress", -1, e.PrivateIpAddress, true); err != nil {
				return nil, err
			}
			for j, p := range e.PrivateIpAddresses {
				if err := add("PrivateIpAddresses[%d].PrivateIpAddress", j, p.PrivateIpAddress, true); err != nil {
					return nil, err
				}
			}
			if err := add("Ipv6Address", -1, e.Ipv6Address, false); err != nil {
				return nil, err
			}
			for j, p := range e.Ipv6Addresses {
				if err := add("Ipv6Addresses[%d].Ipv6Address", j, p.Ipv6Address, false); err != nil {
					return nil, err
				}
			}
			// PrivateIpAddress repeats the primary of PrivateIpAddresses.
			ni.Addresses = uniqueAddrs(ni.Addresses)
			inv.NetworkInterfaces = append(inv.NetworkInterfaces, ni)
			f.eniIDs = append(f.eniIDs, ni.ID)
		}
	}
	if raw, ok := top["RouteTables"]; ok {
		var rts []cliRouteTable
		if err := decodeMember(raw, "RouteTables", &rts); err != nil {
			return nil, err
		}
		inv.RouteTables = make([]RouteTable, 0, len(rts))
		for i, t := range rts {
			if t.RouteTableId == "" {
				return nil, fmt.Errorf("RouteTables[%d]: no RouteTableId", i)
			}
			rt := RouteTable{ID: t.RouteTableId, VPC: t.VpcId, Source: name}
			for _, a := range t.Associations {
				rt.Main = rt.Main || a.Main
				if a.SubnetId != "" {
					rt.Subnets = append(rt.Subnets, a.SubnetId)
				}
			}
			for j, r := range t.Routes {
				route := Route{PrefixListID: r.DestinationPrefixListId, State: r.State}
				for _, target := range []string{r.GatewayId, r.NatGatewayId, r.TransitGatewayId, r.VpcPeeringConnectionId,
					r.NetworkInterfaceId, r.InstanceId, r.EgressOnlyInternetGatewayId, r.LocalGatewayId,
					r.CarrierGatewayId, r.CoreNetworkArn} {
					if target != "" {
						route.Target = target
						break
					}
				}
				for _, d := range []struct{ field, v string }{
					{"DestinationCidrBlock", r.DestinationCidrBlock},
					{"DestinationIpv6CidrBlock", r.DestinationIpv6CidrBlock},
				} {
					if d.v == "" {
						continue
					}
					p, err := netip.ParsePrefix(d.v)
					if err != nil {
						return nil, fmt.Errorf("RouteTables[%d].Routes[%d].%s %q: %w", i, j, d.field, d.v, err)
					}
					route.Destination = p.Masked()
				}
				rt.Routes = append(rt.Routes, route)
			}
			inv.RouteTables = append(inv.RouteTables, rt)
		}
	}
	if raw, ok := top["PrefixLists"]; ok {
		var pls []cliPrefixList
		if err := decodeMember(raw, "PrefixLists", &pls); err != nil {
			return nil, err
		}
		for i, p := range pls {
			if !strings.HasPrefix(p.PrefixListId, "pl-") {
				return nil, fmt.Errorf("PrefixLists[%d].PrefixListId %q: want pl-...", i, p.PrefixListId)
			}
			pl := PrefixList{ID: p.PrefixListId, Name: p.PrefixListName, AddressFamily: p.AddressFamily, Source: name}
			for j, c := range p.Cidrs {
				pfx, err := netip.ParsePrefix(c)
				if err != nil {
					return nil, fmt.Errorf("PrefixLists[%d].Cidrs[%d] %q: %w", i, j, c, err)
				}
				pl.CIDRs = append(pl.CIDRs, pfx.Masked())
			}
			inv.PrefixLists = append(inv.PrefixLists, pl)
		}
	}
	if raw, ok := top["Entries"]; ok {
		var entries []cliEntry
		if err := decodeMember(raw, "Entries", &entries); err != nil {
			return nil, err
		}
		pl := PrefixList{Source: name}
		if m := prefixListIDInName.FindStringSubmatch(name); m != nil {
			pl.ID = m[1]
		}
		for j, e := range entries {
			pfx, err := netip.ParsePrefix(e.Cidr)
			if err != nil {
				return nil, fmt.Errorf("Entries[%d].Cidr %q: %w", j, e.Cidr, err)
			}
			pl.CIDRs = append(pl.CIDRs, pfx.Masked())
		}
		inv.PrefixLists = append(inv.PrefixLists, pl)
	}
	inv.files = []inventoryFile{f}
	return inv, nil
}

func decodeMember(raw json.RawMessage, key string, v any) error {
	if err := json.Unmarshal(raw, v); err != nil {
		return fmt.Errorf("%s: %w", key, jsonError(err))
	}
	return nil
}

// jsonError rewords encoding/json's errors to say where the problem is.
func jsonError(err error) error {
	var syn *json.SyntaxError
	var typ *json.UnmarshalTypeError
	switch {
	case errors.As(err, &syn):
		// Offset counts the bytes read, the bad one included; say where the
		// bad byte is, as the ip-ranges reader does.
		off := syn.Offset
		if off > 0 && syn.Error() != "unexpected end of JSON input" {
			off--
		}
		return fmt.Errorf("byte %d: %w", off, err)
	case errors.As(err, &typ):
		if typ.Field != "" {
			return fmt.Errorf("%s: want %s, found a JSON %s", typ.Field, jsonKind(typ.Type), typ.Value)
		}
		return fmt.Errorf("want %s, found a JSON %s", jsonKind(typ.Type), typ.Value)
	}
	return err
}

// jsonKind names what a Go type decodes from in JSON's words: the user
// wrote JSON, not map[string]json.RawMessage.
func jsonKind(t reflect.Type) string {
	switch t.Kind() {
	case reflect.Map, reflect.Struct:
		return "an object"
	case reflect.Slice, reflect.Array:
		return "an array"
	case reflect.String:
		return "a string"
	case reflect.Bool:
		return "true or false"
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Float32, reflect.Float64:
		return "a number"
	}
	return t.String()
}

// Merge adds what others hold to inv. An element whose ID is already known
// fills in what inv lacked: prefix-list entries join the list's name, for
// instance. Merging many files is best done in one call: each call links
// everything again.
func (inv *Inventory) Merge(others ...*Inventory) {
	for _, other := range others {
		if other == nil {
			continue
		}
		inv.Sources = append(inv.Sources, other.Sources...)
		inv.Endpoints = append(inv.Endpoints, other.Endpoints...)
		inv.NetworkInterfaces = append(inv.NetworkInterfaces, other.NetworkInterfaces...)
		inv.RouteTables = append(inv.RouteTables, other.RouteTables...)
		inv.PrefixLists = append(inv.PrefixLists, other.PrefixLists...)
		inv.files = append(inv.files, other.files...)
	}
	inv.link()
}

// link merges elements with the same ID and recomputes what is derived from
// several files: which interfaces belong to endpoints, the endpoints'
// addresses, and which list anonymous prefix-list entries belong to. Apart
// from the sorts by ID, its cost is linear: every cross-reference goes
// through a map.
func (inv *Inventory) link() {
	inv.Warnings = nil
	// The same file merged twice says the same thing once.
	warned := make(map[string]bool)
	warn := func(w string) {
		if !warned[w] {
			warned[w] = true
			inv.Warnings = append(inv.Warnings, w)
		}
	}
	inv.Endpoints = dedupe(inv.Endpoints, func(e Endpoint) string { return e.ID }, func(a, b Endpoint) Endpoint { return b })
	inv.NetworkInterfaces = dedupe(inv.NetworkInterfaces, func(n NetworkInterface) string { return n.ID }, func(a, b NetworkInterface) NetworkInterface { return b })
	inv.RouteTables = dedupe(inv.RouteTables, func(r RouteTable) string { return r.ID }, func(a, b RouteTable) RouteTable { return b })

	// Entries without a list ID belong to the one list that a
	// gateway-endpoint route uses and whose entries are not known yet; if
	// there is no such single list they stay apart, with a warning.
	var anonymous []PrefixList
	named := inv.PrefixLists[:0]
	for _, pl := range inv.PrefixLists {
		if pl.ID == "" {
			anonymous = append(anonymous, pl)
		} else {
			named = append(named, pl)
		}
	}
	inv.PrefixLists = dedupe(named, func(p PrefixList) string { return p.ID }, mergePrefixLists)
	if len(anonymous) > 0 {
		wanted := make(map[string]bool)
		var only string
		for _, rt := range inv.RouteTables {
			for _, r := range rt.Routes {
				if !r.GatewayEndpoint() || wanted[r.PrefixListID] {
					continue
				}
				if i, ok := inv.prefixList(r.PrefixListID); !ok || len(inv.PrefixLists[i].CIDRs) == 0 {
					wanted[r.PrefixListID], only = true, r.PrefixListID
				}
			}
		}
		if len(anonymous) == 1 && len(wanted) == 1 {
			pl := anonymous[0]
			pl.ID = only
			inv.PrefixLists = dedupe(append(inv.PrefixLists, pl), func(p PrefixList) string { return p.ID }, mergePrefixLists)
		} else {
			for _, pl := range anonymous {
				warn(fmt.Sprintf("%s: prefix-list entries without a list ID (name the file after the list, e.g. pl-0123abcd.json); not used", pl.Source))
			}
			inv.PrefixLists = append(anonymous, inv.PrefixLists...)
		}
	}

	// Which interfaces belong to which endpoint: the endpoint's own list
	// is authoritative, the Description a fallback.
	owner := make(map[string]string)
	for _, e := range inv.Endpoints {
		if e.Type == "GatewayLoadBalancer" {
			continue // its interfaces are route targets, not service addresses
		}
		for _, id := range e.NetworkInterfaceIDs {
			owner[id] = e.ID
		}
	}
	addrs := make(map[string][]netip.Addr) // endpoint ID -> its interfaces' addresses
	for i := range inv.NetworkInterfaces {
		n := &inv.NetworkInterfaces[i]
		n.EndpointID, n.IsEndpoint = owner[n.ID], false
		if n.EndpointID != "" || n.Type == "vpc_endpoint" {
			n.IsEndpoint = true
		}
		if n.EndpointID == "" && n.IsEndpoint {
			if id, ok := strings.CutPrefix(n.Description, "VPC Endpoint Interface "); ok && strings.HasPrefix(id, "vpce-") {
				n.EndpointID = id
			}
		}
		if n.EndpointID != "" {
			addrs[n.EndpointID] = append(addrs[n.EndpointID], n.Addresses...)
		}
	}
	for i := range inv.Endpoints {
		e := &inv.Endpoints[i]
		e.Addresses = addrs[e.ID]
		slices.SortFunc(e.Addresses, netip.Addr.Compare)
		e.Addresses = slices.Compact(e.Addresses)
	}

	// When no S3 interface endpoint has known addresses, Check makes that
	// an error; when some have, the others are a warning: traffic to them
	// would not be recognised.
	if inv.s3AddressKnown() {
		for _, g := range bySource(inv.unknownS3Interfaces()) {
			warn(fmt.Sprintf("%s: the addresses of S3 interface endpoint %s are unknown, so traffic to them is not recognised; add the output of %s",
				g[0].Source, endpointIDs(g), describeInterfaces(g)))
		}
	}
}

// bySource groups endpoints by the file they came from, in the order of
// first appearance.
func bySource(eps []Endpoint) [][]Endpoint {
	at := make(map[string]int)
	var out [][]Endpoint
	for _, e := range eps {
		i, ok := at[e.Source]
		if !ok {
			i = len(out)
			at[e.Source] = i
			out = append(out, nil)
		}
		out[i] = append(out[i], e)
	}
	return out
}

func endpointIDs(eps []Endpoint) string {
	ids := make([]string, len(eps))
	for i, e := range eps {
		ids[i] = e.ID
	}
	return listIDs(ids)
}

// s3AddressKnown reports whether an address of an S3 interface endpoint is
// known: that of an endpoint interface whose endpoint is an S3 interface
// endpoint, or is not in the inventory (describe-network-interfaces alone
// does not say the service).
func (inv *Inventory) s3AddressKnown() bool {
	for _, n := range inv.NetworkInterfaces {
		if !n.IsEndpoint || len(n.Addresses) == 0 {
			continue
		}
		if e, ok := inv.Endpoint(n.EndpointID); !ok || e.IsS3() && e.isInterface() {
			return true
		}
	}
	return false
}

// unknownS3Interfaces lists the S3 interface endpoints that have network
// interfaces but no known address: describe-network-interfaces of those
// interfaces was not given.
func (inv *Inventory) unknownS3Interfaces() []Endpoint {
	var out []Endpoint
	for _, e := range inv.Endpoints {
		if e.IsS3() && e.isInterface() && len(e.Addresses) == 0 && len(e.NetworkInterfaceIDs) > 0 {
			out = append(out, e)
		}
	}
	return out
}

// describeInterfaces is the AWS CLI command that prints the network
// interfaces of endpoints, at most maxListed of them.
func describeInterfaces(eps []Endpoint) string {
	var ids []string
	for _, e := range eps {
		ids = append(ids, e.NetworkInterfaceIDs...)
	}
	return "aws ec2 describe-network-interfaces --network-interface-ids " + listIDs(ids)
}

// maxListed bounds the IDs an error or warning lists: a hostile file must
// not turn one line into megabytes.
const maxListed = 32

// listIDs joins IDs with spaces for a command line, at most maxListed.
func listIDs(ids []string) string {
	var b strings.Builder
	for i, id := range ids {
		if i == maxListed {
			fmt.Fprintf(&b, " ... (%d more)", len(ids)-i)
			break
		}
		if i > 0 {
			b.WriteByte(' ')
		}
		b.WriteString(plain(id))
	}
	return b.String()
}

// plain returns an ID as it is when it is made of the letters, digits and
// punctuation of AWS IDs and names, else quoted: what a file says ends up
// on a terminal.
func plain(s string) string {
	if s == "" || len(s) > 128 || strings.IndexFunc(s, func(r rune) bool {
		return !('a' <= r && r <= 'z' || 'A' <= r && r <= 'Z' || '0' <= r && r <= '9' || strings.ContainsRune("-_.:/", r))
	}) >= 0 {
		return strconv.QuoteToASCII(s)
	}
	return s
}

// The kinds of Check's errors.
var (
	// ErrNoS3Endpoint: the files hold no S3 endpoint, or a file that
	// should hold endpoints or their interfaces holds none (the output of
	// another region or account).
	ErrNoS3Endpoint = errors.New("no S3 endpoint")
	// ErrEndpointAddressesUnknown: S3 interface endpoints are listed but
	// the addresses of none of them are known.
	ErrEndpointAddressesUnknown = errors.New("S3 interface endpoint addresses unknown")
)

type checkError struct {
	msg  string
	kind error
}

func (e *checkError) Error() string { return e.msg }
func (e *checkError) Unwrap() error { return e.kind }

// Check says whether inv can be taken for the truth about the VPC's S3
// endpoints, which it must be: with an inventory given, a private address it
// does not list is not an endpoint. Errors start with the files at fault
// and wrap ErrNoS3Endpoint or ErrEndpointAddressesUnknown:
//
//   - a describe-vpc-endpoints output that lists no S3 endpoint, or a
//     describe-network-interfaces output that lists no endpoint interface,
//     is the output of the wrong region or profile;
//   - S3 interface endpoints none of whose addresses are known (no
//     describe-network-interfaces of their interfaces) leave the verdict to
//     chance, unless the addresses are given otherwise (haveEndpointIPs,
//     for --endpoint-ip);
//   - files that together give neither an S3 interface endpoint address nor
//     a route to a gateway endpoint (route tables and prefix lists alone may
//     rightly hold no endpoint; together they must prove something) are the
//     wrong files.
func (inv *Inventory) Check(haveEndpointIPs bool) error {
	if inv == nil || len(inv.files) == 0 {
		return nil
	}
	endpointENI := make(map[string]bool)
	for _, n := range inv.NetworkInterfaces {
		if n.IsEndpoint {
			endpointENI[n.ID] = true
		}
	}
	for _, f := range inv.files {
		if !f.endpoints && !f.interfaces || f.s3Endpoints > 0 ||
			slices.ContainsFunc(f.eniIDs, func(id string) bool { return endpointENI[id] }) {
			continue
		}
		var what string
		switch {
		case f.otherCount > 0:
			what = fmt.Sprintf("describe-vpc-endpoints lists no S3 endpoint, only %d of other services (%s", f.otherCount, plain(f.others[0]))
			if f.otherCount == 1 {
				what = fmt.Sprintf("describe-vpc-endpoints lists no S3 endpoint, only one of another service (%s", plain(f.others[0]))
			}
			for _, o := range f.others[1:] {
				what += ", " + plain(o)
			}
			if f.otherCount > len(f.others) {
				what += ", ..."
			}
			what += ")"
		case f.endpoints && len(f.eniIDs) == 0:
			what = "describe-vpc-endpoints lists no endpoint at all"
		case len(f.eniIDs) == 0:
			what = "describe-network-interfaces lists no network interface at all"
		default:
			what = fmt.Sprintf("describe-network-interfaces lists %d network interface%s, none of a VPC endpoint", len(f.eniIDs), plural(len(f.eniIDs)))
		}
		return &checkError{fmt.Sprintf("%s: %s (wrong region or profile?)", f.name, what), ErrNoS3Endpoint}
	}
	if inv.s3AddressKnown() {
		return nil
	}
	if unknown := inv.unknownS3Interfaces(); len(unknown) > 0 {
		if haveEndpointIPs {
			return nil
		}
		var files []string
		for _, g := range bySource(unknown) {
			files = append(files, g[0].Source)
		}
		return &checkError{fmt.Sprintf("%s: the addresses of S3 interface endpoint %s are unknown; add the output of %s (or give --endpoint-ip)",
			strings.Join(files, ", "), endpointIDs(unknown), describeInterfaces(unknown)), ErrEndpointAddressesUnknown}
	}
	if inv.gatewayRouted() {
		return nil
	}
	msg := fmt.Sprintf("%s: no S3 interface endpoint address and no route to a gateway endpoint (wrong region or profile?)", strings.Join(inv.sourceNames(), ", "))
	var tables []string
	for _, e := range inv.Endpoints {
		if e.IsS3() && strings.EqualFold(e.Type, "Gateway") {
			tables = append(tables, e.RouteTableIDs...)
		}
	}
	if len(tables) > 0 {
		msg += "; the S3 gateway endpoint's routes are in the output of aws ec2 describe-route-tables --route-table-ids " + listIDs(tables)
	}
	return &checkError{msg, ErrNoS3Endpoint}
}

// gatewayRouted reports whether a route table sends a prefix list to a
// gateway endpoint, unless the list or the endpoint is known to be another
// service's.
func (inv *Inventory) gatewayRouted() bool {
	for _, rt := range inv.RouteTables {
		for _, r := range rt.Routes {
			if !r.GatewayEndpoint() {
				continue
			}
			if i, ok := inv.prefixList(r.PrefixListID); ok {
				if _, service, ok := ServiceOf(inv.PrefixLists[i].Name); ok && service != "s3" && service != "s3express" {
					continue
				}
			}
			if e, ok := inv.Endpoint(r.Target); ok && !e.IsS3() {
				continue
			}
			return true
		}
	}
	return false
}

func plural(n int) string {
	if n == 1 {
		return ""
	}
	return "s"
}

// sourceNames lists the files once each, in the order given.
func (inv *Inventory) sourceNames() []string {
	seen := make(map[string]bool, len(inv.Sources))
	var out []string
	for _, s := range inv.Sources {
		if !seen[s] {
			seen[s] = true
			out = append(out, s)
		}
	}
	return out
}

// uniqueAddrs drops repeated addresses from s, keeping the first of each.
func uniqueAddrs(s []netip.Addr) []netip.Addr {
	if len(s) < 2 {
		return s
	}
	seen := make(map[netip.Addr]bool, len(s))
	out := s[:0]
	for _, a := range s {
		if !seen[a] {
			seen[a] = true
			out = append(out, a)
		}
	}
	return out
}

// dedupe folds elements with the same ID with merge(old, new), in the order
// given, and sorts the result by ID. A map finds the earlier element, so
// the only superlinear step is one sort of distinct IDs.
func dedupe[T any](s []T, id func(T) string, merge func(a, b T) T) []T {
	at := make(map[string]int, len(s))
	out := s[:0]
	for _, v := range s {
		if i, ok := at[id(v)]; ok {
			out[i] = merge(out[i], v)
			continue
		}
		at[id(v)] = len(out)
		out = append(out, v)
	}
	slices.SortFunc(out, func(a, b T) int { return cmp.Compare(id(a), id(b)) })
	return out
}

func mergePrefixLists(a, b PrefixList) PrefixList {
	out := a
	if b.Name != "" {
		out.Name = b.Name
	}
	if b.AddressFamily != "" {
		out.AddressFamily = b.AddressFamily
	}
	if len(b.CIDRs) > 0 {
		out.CIDRs = slices.Concat(a.CIDRs, b.CIDRs)
		slices.SortFunc(out.CIDRs, netip.Prefix.Compare)
		out.CIDRs = slices.Compact(out.CIDRs)
	}
	if a.Source != b.Source && a.Source != "" && b.Source != "" {
		out.Source = a.Source + ", " + b.Source
	}
	return out
}

// Endpoint returns the endpoint with this ID (vpce-...), if inv has it.
// Endpoints are kept sorted by ID (see link).
func (inv *Inventory) Endpoint(id string) (*Endpoint, bool) {
	if inv == nil {
		return nil, false
	}
	i, ok := slices.BinarySearchFunc(inv.Endpoints, id, func(e Endpoint, id string) int { return cmp.Compare(e.ID, id) })
	if !ok {
		return nil, false
	}
	return &inv.Endpoints[i], true
}

func (inv *Inventory) prefixList(id string) (int, bool) {
	return slices.BinarySearchFunc(inv.PrefixLists, id, func(p PrefixList, id string) int { return cmp.Compare(p.ID, id) })
}

// LookupPrefixList returns the prefix list with ID id, as the inventory
// knows it (its entries may be unknown).
func (inv *Inventory) LookupPrefixList(id string) (PrefixList, bool) {
	if inv == nil {
		return PrefixList{}, false
	}
	if i, ok := inv.prefixList(id); ok {
		return inv.PrefixLists[i], true
	}
	return PrefixList{}, false
}

// ServiceOf splits an AWS service or prefix-list name such as
// "com.amazonaws.ap-south-1.s3" into region and service ("ap-south-1", "s3").
func ServiceOf(name string) (region, service string, ok bool) {
	rest, ok := strings.CutPrefix(name, "com.amazonaws.")
	if !ok {
		if rest, ok = strings.CutPrefix(name, "cn.com.amazonaws."); !ok {
			return "", "", false
		}
	}
	region, service, ok = strings.Cut(rest, ".")
	if !ok || !s3name.IsRegion(region) || service == "" {
		return "", "", false
	}
	return region, service, true
}
