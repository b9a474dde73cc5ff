package resolve

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
	"strings"

	"github.com/vpce-verify/vpce-verify/resolve/s3name"
)

// Inventory is what the AWS CLI said about a VPC's endpoints, their network
// interfaces, route tables and prefix lists, gathered from one or more JSON
// files. Each list is sorted by ID and holds one element per ID.
type Inventory struct {
	Sources           []string // the names given to ParseInventory, in order
	Endpoints         []Endpoint
	NetworkInterfaces []NetworkInterface
	RouteTables       []RouteTable
	PrefixLists       []PrefixList
	// Warnings says what could not be tied together, e.g. prefix-list
	// entries whose list is unknown.
	Warnings []string
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

// gatewayEndpoint reports whether r is an active route that sends a prefix
// list to a gateway endpoint: the only route-table evidence of the gateway path.
func (r Route) gatewayEndpoint() bool {
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
// CLI outputs ParseInventory knows.
var ErrUnknownShape = errors.New("not an AWS CLI output this tool reads")

// inventoryKeys are the top-level keys ParseInventory reads.
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

// ParseInventory reads one JSON file printed by the AWS CLI (name is used in
// errors and as the source of what it holds). The shape is told by the
// top-level key: VpcEndpoints (describe-vpc-endpoints), NetworkInterfaces
// (describe-network-interfaces), RouteTables (describe-route-tables),
// PrefixLists (describe-managed-prefix-lists, describe-prefix-lists) or
// Entries (get-managed-prefix-list-entries; the list ID is taken from the
// file name when it holds one). Unknown members are ignored.
func ParseInventory(name string, data []byte) (*Inventory, error) {
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
	if raw, ok := top["VpcEndpoints"]; ok {
		var eps []cliEndpoint
		if err := decodeMember(raw, "VpcEndpoints", &eps); err != nil {
			return nil, err
		}
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
			inv.Endpoints = append(inv.Endpoints, ep)
		}
	}
	if raw, ok := top["NetworkInterfaces"]; ok {
		var enis []cliInterface
		if err := decodeMember(raw, "NetworkInterfaces", &enis); err != nil {
			return nil, err
		}
		for i, e := range enis {
			if e.NetworkInterfaceId == "" {
				return nil, fmt.Errorf("NetworkInterfaces[%d]: no NetworkInterfaceId", i)
			}
			ni := NetworkInterface{
				ID: e.NetworkInterfaceId, Type: e.InterfaceType, Description: e.Description, SubnetID: e.SubnetId,
				VPC: e.VpcId, AvailabilityZone: e.AvailabilityZone, RequesterManaged: e.RequesterManaged, Source: name,
			}
			add := func(field, s string, want4 bool) error {
				if s == "" {
					return nil
				}
				a, err := netip.ParseAddr(s)
				if err == nil && a.Is4() != want4 {
					err = errors.New("wrong address family")
				}
				if err != nil {
					return fmt.Errorf("NetworkInterfaces[%d].%s %q: %w", i, field, s, err)
				}
				if !slices.Contains(ni.Addresses, a) {
					ni.Addresses = append(ni.Addresses, a)
				}
				return nil
			}
			if err := add("PrivateIpAddress", e.PrivateIpAddress, true); err != nil {
				return nil, err
			}
			for j, p := range e.PrivateIpAddresses {
				if err := add(fmt.Sprintf("PrivateIpAddresses[%d].PrivateIpAddress", j), p.PrivateIpAddress, true); err != nil {
					return nil, err
				}
			}
			if err := add("Ipv6Address", e.Ipv6Address, false); err != nil {
				return nil, err
			}
			for j, p := range e.Ipv6Addresses {
				if err := add(fmt.Sprintf("Ipv6Addresses[%d].Ipv6Address", j), p.Ipv6Address, false); err != nil {
					return nil, err
				}
			}
			inv.NetworkInterfaces = append(inv.NetworkInterfaces, ni)
		}
	}
	if raw, ok := top["RouteTables"]; ok {
		var rts []cliRouteTable
		if err := decodeMember(raw, "RouteTables", &rts); err != nil {
			return nil, err
		}
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

// Merge adds what other holds to inv. An element whose ID is already known
// fills in what inv lacked: prefix-list entries join the list's name, for
// instance.
func (inv *Inventory) Merge(other *Inventory) {
	if other == nil {
		return
	}
	inv.Sources = append(inv.Sources, other.Sources...)
	inv.Endpoints = append(inv.Endpoints, other.Endpoints...)
	inv.NetworkInterfaces = append(inv.NetworkInterfaces, other.NetworkInterfaces...)
	inv.RouteTables = append(inv.RouteTables, other.RouteTables...)
	inv.PrefixLists = append(inv.PrefixLists, other.PrefixLists...)
	inv.link()
}

// link merges elements with the same ID and recomputes what is derived from
// several files: which interfaces belong to endpoints, the endpoints'
// addresses, and which list anonymous prefix-list entries belong to.
func (inv *Inventory) link() {
	inv.Warnings = nil
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
		var wanted []string
		for _, rt := range inv.RouteTables {
			for _, r := range rt.Routes {
				if !r.gatewayEndpoint() || slices.Contains(wanted, r.PrefixListID) {
					continue
				}
				if i, ok := inv.prefixList(r.PrefixListID); !ok || len(inv.PrefixLists[i].CIDRs) == 0 {
					wanted = append(wanted, r.PrefixListID)
				}
			}
		}
		if len(anonymous) == 1 && len(wanted) == 1 {
			pl := anonymous[0]
			pl.ID = wanted[0]
			inv.PrefixLists = dedupe(append(inv.PrefixLists, pl), func(p PrefixList) string { return p.ID }, mergePrefixLists)
		} else {
			for _, pl := range anonymous {
				inv.Warnings = append(inv.Warnings, fmt.Sprintf(
					"%s: prefix-list entries without a list ID (name the file after the list, e.g. pl-0123abcd.json); not used", pl.Source))
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
	}
	for i := range inv.Endpoints {
		e := &inv.Endpoints[i]
		e.Addresses = nil
		for _, n := range inv.NetworkInterfaces {
			if n.EndpointID == e.ID {
				e.Addresses = append(e.Addresses, n.Addresses...)
			}
		}
		slices.SortFunc(e.Addresses, netip.Addr.Compare)
		e.Addresses = slices.Compact(e.Addresses)
	}
}

// dedupe sorts s by ID and folds elements with the same ID with merge(old, new).
func dedupe[T any](s []T, id func(T) string, merge func(a, b T) T) []T {
	slices.SortStableFunc(s, func(a, b T) int { return cmp.Compare(id(a), id(b)) })
	out := s[:0]
	for _, v := range s {
		if n := len(out); n > 0 && id(out[n-1]) == id(v) {
			out[n-1] = merge(out[n-1], v)
			continue
		}
		out = append(out, v)
	}
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

// serviceOf splits an AWS service or prefix-list name such as
// "com.amazonaws.ap-south-1.s3" into region and service ("ap-south-1", "s3").
func serviceOf(name string) (region, service string, ok bool) {
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
