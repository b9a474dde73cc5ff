package flowlogs

import (
	"fmt"
	"strings"
)

// Field is one field of a flow log record, as the log format names it.
type Field uint8

// The fields of versions 2 to 5, in the order of AWS's field table; the
// default format is the version 2 fields in this order.
const (
	FieldOther Field = iota // a field this package does not use (later versions' ecs-*, reject-reason, ...)
	FieldVersion
	FieldAccountID
	FieldInterfaceID
	FieldSrcAddr
	FieldDstAddr
	FieldSrcPort
	FieldDstPort
	FieldProtocol
	FieldPackets
	FieldBytes
	FieldStart
	FieldEnd
	FieldAction
	FieldLogStatus
	FieldVPCID
	FieldSubnetID
	FieldInstanceID
	FieldTCPFlags
	FieldType
	FieldPktSrcAddr
	FieldPktDstAddr
	FieldRegion
	FieldAZID
	FieldSublocationType
	FieldSublocationID
	FieldPktSrcAWSService
	FieldPktDstAWSService
	FieldFlowDirection
	FieldTrafficPath
	numFields
)

var fieldNames = [numFields]string{
	"", "version", "account-id", "interface-id", "srcaddr", "dstaddr", "srcport", "dstport",
	"protocol", "packets", "bytes", "start", "end", "action", "log-status",
	"vpc-id", "subnet-id", "instance-id", "tcp-flags", "type", "pkt-srcaddr", "pkt-dstaddr",
	"region", "az-id", "sublocation-type", "sublocation-id",
	"pkt-src-aws-service", "pkt-dst-aws-service", "flow-direction", "traffic-path",
}

// String returns the field's name in the log format (pkt-dstaddr).
func (f Field) String() string {
	if f < numFields && f != FieldOther {
		return fieldNames[f]
	}
	return "other"
}

// Column returns the field's name as a column: the Parquet delivery and
// Athena write pkt_dstaddr for pkt-dstaddr.
func (f Field) Column() string { return strings.ReplaceAll(f.String(), "-", "_") }

// fieldByName finds a field by its format name or its column name.
func fieldByName(name string) (Field, bool) {
	for f := FieldVersion; f < numFields; f++ {
		if fieldNames[f] == name {
			return f, true
		}
	}
	if strings.Contains(name, "_") {
		return fieldByName(strings.ReplaceAll(name, "_", "-"))
	}
	return FieldOther, false
}

// Format is the order of the fields in a record.
type Format struct {
	Fields []Field
	Names  []string // as given, for messages and the Athena DDL
	has    fieldSet
	// Default is true for the version 2 default format, assumed when a
	// file has no header line.
	Default bool
}

type fieldSet uint32

func (s fieldSet) has(f Field) bool { return s&(1<<f) != 0 }

// Has reports whether the format carries f.
func (f *Format) Has(field Field) bool { return f.has.has(field) }

// DefaultFormat is the version 2 default format: its 14 fields in order.
func DefaultFormat() *Format {
	f := &Format{Default: true}
	for x := FieldVersion; x <= FieldLogStatus; x++ {
		f.add(x, fieldNames[x])
	}
	return f
}

// AllFields is every field of versions 2 to 5, in AWS's order: what the
// Parquet table of the Athena command declares.
func AllFields() *Format {
	f := &Format{}
	for x := FieldVersion; x < numFields; x++ {
		f.add(x, fieldNames[x])
	}
	return f
}

func (f *Format) add(x Field, name string) {
	f.Fields = append(f.Fields, x)
	f.Names = append(f.Names, name)
	if x != FieldOther {
		f.has |= 1 << x
	}
}

// maxFields bounds a format: the published fields number a few dozen.
const maxFields = 128

// ParseFormat reads a log format: the header line of an S3 delivery
// ("version account-id interface-id ..."), or the --log-format of
// create-flow-logs ("${version} ${vpc-id} ..."). Names this package does
// not use are kept as FieldOther; a name that is no field name at all, or
// a field named twice, is an error.
func ParseFormat(s string) (*Format, error) {
	f := &Format{}
	words := strings.Fields(s)
	if len(words) == 0 {
		return nil, fmt.Errorf("an empty log format")
	}
	if len(words) > maxFields {
		return nil, fmt.Errorf("a log format of %d fields: more than %d", len(words), maxFields)
	}
	for _, w := range words {
		name := w
		if strings.HasPrefix(w, "${") && strings.HasSuffix(w, "}") {
			name = w[2 : len(w)-1]
		}
		if !fieldName(name) {
			return nil, fmt.Errorf("%q is not a flow log field name", w)
		}
		x, _ := fieldByName(name)
		if x != FieldOther && f.Has(x) {
			return nil, fmt.Errorf("field %s is named twice", x)
		}
		f.add(x, name)
	}
	return f, nil
}

// fieldName reports whether s looks like a field name: lowercase letters,
// hyphens and underscores (later versions add names such as
// ecs-cluster-arn and reject-reason).
func fieldName[T string | []byte](s T) bool {
	if len(s) == 0 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if (c < 'a' || c > 'z') && c != '-' && c != '_' {
			return false
		}
	}
	return true
}

// isHeader reports whether a line is a header line: its first word is a
// known field name and every word looks like one. No value of a known
// field is a field name (IDs carry digits, actions and statuses are upper
// case, ingress and egress are not names), so a record is never taken for
// a header. It does not allocate.
func isHeader(line []byte) bool {
	n := 0
	for len(line) > 0 {
		var w []byte
		w, line = nextWord(line)
		if len(w) == 0 {
			break
		}
		if !fieldName(w) {
			return false
		}
		if n == 0 && !knownName(w) {
			return false
		}
		n++
	}
	return n > 0
}

func knownName(w []byte) bool {
	for f := FieldVersion; f < numFields; f++ {
		if fieldNames[f] == string(w) {
			return true
		}
	}
	return false
}

// nextWord returns the first space-separated word of b and the rest.
func nextWord(b []byte) (word, rest []byte) {
	i := 0
	for i < len(b) && (b[i] == ' ' || b[i] == '\t') {
		i++
	}
	j := i
	for j < len(b) && b[j] != ' ' && b[j] != '\t' {
		j++
	}
	return b[i:j], b[j:]
}
