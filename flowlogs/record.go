package flowlogs

import (
	"fmt"
	"net/netip"
	"unsafe"
)

// Action is what the security groups and network ACLs did with a flow.
type Action uint8

// The actions; ActionNone when the record has none (NODATA, SKIPDATA, or
// a format without the field).
const (
	ActionNone Action = iota
	ActionAccept
	ActionReject
)

// Status is a record's log-status.
type Status uint8

// The log statuses. NODATA: no traffic in the interval. SKIPDATA: records
// were skipped in the interval (an internal capacity limit or an error):
// the log is incomplete.
const (
	StatusNone Status = iota
	StatusOK
	StatusNoData
	StatusSkipData
)

// Direction is a record's flow-direction.
type Direction uint8

// The directions, relative to the interface that logged the record.
const (
	DirectionNone Direction = iota
	DirectionIngress
	DirectionEgress
)

// Record is one flow log record. Byte slices point into the reader's
// buffer and are valid until the next record is read; absent values ("-",
// or a field the format lacks) are nil, invalid addresses, -1 for ports,
// protocol and flags, and 0 for times and traffic-path.
type Record struct {
	Version                            int
	AccountID, InterfaceID             []byte
	VPCID, SubnetID, InstanceID        []byte
	Src, Dst, PktSrc, PktDst           netip.Addr
	SrcPort, DstPort, Protocol         int32
	TCPFlags                           int32
	Packets, Bytes                     uint64
	Start, End                         int64 // Unix seconds
	Action                             Action
	Status                             Status
	Direction                          Direction
	TrafficPath                        int32
	PktSrcAWSService, PktDstAWSService []byte
	// Fields the analysis does not use, kept so that a record can be
	// written out whole (an evidence bundle's records.log.gz).
	Type, Region, AZID, SublocationType, SublocationID []byte
}

func (r *Record) reset() {
	*r = Record{SrcPort: -1, DstPort: -1, Protocol: -1, TCPFlags: -1}
}

// FieldError says which field of a record is bad and why.
type FieldError struct {
	Field Field
	Name  string // the format's name for it
	Value string // cut to a few dozen bytes
	Want  string
}

func (e *FieldError) Error() string {
	return fmt.Sprintf("%s %q: want %s", e.Name, e.Value, e.Want)
}

func badField(f Field, name string, v []byte, want string) error {
	const maxShown = 40
	s := string(v[:min(len(v), maxShown)])
	if len(v) > maxShown {
		s += "..."
	}
	return &FieldError{Field: f, Name: name, Value: s, Want: want}
}

// set stores the text value v of field f in r. v is "-" for a missing
// value.
func (r *Record) set(f Field, name string, v []byte) error {
	if len(v) == 1 && v[0] == '-' {
		return nil
	}
	var err error
	switch f {
	case FieldVersion:
		var n uint64
		if n, err = parseUint(v, 255); err == nil {
			r.Version = int(n)
		} else {
			return badField(f, name, v, "a version number")
		}
	case FieldAccountID:
		r.AccountID = v
	case FieldInterfaceID:
		r.InterfaceID = v
	case FieldVPCID:
		r.VPCID = v
	case FieldSubnetID:
		r.SubnetID = v
	case FieldInstanceID:
		r.InstanceID = v
	case FieldSrcAddr, FieldDstAddr, FieldPktSrcAddr, FieldPktDstAddr:
		a, ok := parseAddr(v)
		if !ok {
			return badField(f, name, v, "an IP address")
		}
		switch f {
		case FieldSrcAddr:
			r.Src = a
		case FieldDstAddr:
			r.Dst = a
		case FieldPktSrcAddr:
			r.PktSrc = a
		default:
			r.PktDst = a
		}
	case FieldSrcPort, FieldDstPort:
		n, err := parseUint(v, 65535)
		if err != nil {
			return badField(f, name, v, "a port")
		}
		if f == FieldSrcPort {
			r.SrcPort = int32(n)
		} else {
			r.DstPort = int32(n)
		}
	case FieldProtocol:
		n, err := parseUint(v, 255)
		if err != nil {
			return badField(f, name, v, "an IANA protocol number")
		}
		r.Protocol = int32(n)
	case FieldTCPFlags:
		n, err := parseUint(v, 255)
		if err != nil {
			return badField(f, name, v, "TCP flags (0 to 255)")
		}
		r.TCPFlags = int32(n)
	case FieldPackets, FieldBytes:
		n, err := parseUint(v, 1<<62)
		if err != nil {
			return badField(f, name, v, "a count")
		}
		if f == FieldPackets {
			r.Packets = n
		} else {
			r.Bytes = n
		}
	case FieldStart, FieldEnd:
		n, err := parseUint(v, 1<<40)
		if err != nil {
			return badField(f, name, v, "Unix seconds")
		}
		if f == FieldStart {
			r.Start = int64(n)
		} else {
			r.End = int64(n)
		}
	case FieldAction:
		switch string(v) {
		case "ACCEPT":
			r.Action = ActionAccept
		case "REJECT":
			r.Action = ActionReject
		default:
			return badField(f, name, v, "ACCEPT or REJECT")
		}
	case FieldLogStatus:
		switch string(v) {
		case "OK":
			r.Status = StatusOK
		case "NODATA":
			r.Status = StatusNoData
		case "SKIPDATA":
			r.Status = StatusSkipData
		default:
			return badField(f, name, v, "OK, NODATA or SKIPDATA")
		}
	case FieldFlowDirection:
		switch string(v) {
		case "ingress":
			r.Direction = DirectionIngress
		case "egress":
			r.Direction = DirectionEgress
		default:
			return badField(f, name, v, "ingress or egress")
		}
	case FieldTrafficPath:
		n, err := parseUint(v, 255)
		if err != nil || n == 0 {
			return badField(f, name, v, "a traffic path (1 to 8)")
		}
		r.TrafficPath = int32(n)
	case FieldPktSrcAWSService:
		r.PktSrcAWSService = v
	case FieldPktDstAWSService:
		r.PktDstAWSService = v
	case FieldType:
		r.Type = v
	case FieldRegion:
		r.Region = v
	case FieldAZID:
		r.AZID = v
	case FieldSublocationType:
		r.SublocationType = v
	case FieldSublocationID:
		r.SublocationID = v
	}
	return nil
}

var errNumber = fmt.Errorf("not a number")

// parseUint parses a decimal number of at most max without allocating.
func parseUint(b []byte, max uint64) (uint64, error) {
	if len(b) == 0 || len(b) > 20 {
		return 0, errNumber
	}
	var n uint64
	for _, c := range b {
		if c < '0' || c > '9' {
			return 0, errNumber
		}
		d := uint64(c - '0')
		if n > (max-d)/10 {
			return 0, errNumber
		}
		n = n*10 + d
	}
	return n, nil
}

// parseAddr parses an IPv4 address without allocating, and anything else
// with netip.
func parseAddr(b []byte) (netip.Addr, bool) {
	var ip [4]byte
	part, n, digits := 0, 0, 0
	for i := 0; i <= len(b); i++ {
		if i == len(b) || b[i] == '.' {
			if digits == 0 || part > 3 {
				return parseAddrSlow(b)
			}
			ip[part] = byte(n)
			part, n, digits = part+1, 0, 0
			continue
		}
		c := b[i]
		if c < '0' || c > '9' || (digits == 1 && n == 0) {
			return parseAddrSlow(b)
		}
		n = n*10 + int(c-'0')
		digits++
		if n > 255 {
			return parseAddrSlow(b) // IPv6 begins with up to four digits too
		}
	}
	if part != 4 {
		return parseAddrSlow(b)
	}
	return netip.AddrFrom4(ip), true
}

func parseAddrSlow(b []byte) (netip.Addr, bool) {
	if len(b) > 64 {
		return netip.Addr{}, false
	}
	// The string shares b's bytes: ParseAddr keeps none of it but a zone,
	// and an address with a zone is refused here.
	a, err := netip.ParseAddr(unsafe.String(unsafe.SliceData(b), len(b)))
	if err != nil || a.Zone() != "" {
		return netip.Addr{}, false
	}
	return a.Unmap(), true
}
