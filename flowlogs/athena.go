package flowlogs

import (
	"fmt"
	"net/netip"
	"strings"
	"time"

	"github.com/vpce-verify/vpce-verify/resolve"
	"github.com/vpce-verify/vpce-verify/resolve/ipranges"
)

// Athena describes the table and the query of the athena command.
type Athena struct {
	Table string
	// Location is the S3 delivery's folder of one account and region:
	// s3://BUCKET/PREFIX/AWSLogs/ACCOUNT/vpcflowlogs/REGION/.
	Location string
	Parquet  bool
	// Format is the text files' field order (their header line); Parquet
	// columns are found by name, and the table declares every field.
	Format       *Format
	Since, Until time.Time
	GroupBy      GroupBy
	Policy       string
	// Known are the addresses the query classifies: endpoint addresses
	// and S3 prefixes (KnownPrefixes makes them).
	Known []Known
	Note  string // what the known addresses came from, for the query's comment
}

// Known is one CIDR the query knows: an interface endpoint address
// (a /32 or /128), an S3 prefix, through a gateway endpoint by the route
// tables or not, or a private range.
type Known struct {
	Prefix netip.Prefix
	Kind   string // "endpoint", "s3", "s3-gateway" or "private"
}

// privateRanges are the ranges resolve calls private: RFC 1918, unique
// local, loopback, link-local and the shared address space of RFC 6598.
var privateRanges = []string{"10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "100.64.0.0/10", "127.0.0.0/8",
	"169.254.0.0/16", "fc00::/7", "fe80::/10", "::1/128"}

// KnownPrefixes lists the endpoint addresses, every S3 prefix of r, each
// marked s3-gateway when the classifier's route tables send its first
// address to a gateway endpoint, and the private ranges and the VPC's
// CIDRs (--vpc-cidr) (an address there
// that pkt-dst-aws-service calls S3 is no known endpoint: its group
// cannot pass).
func KnownPrefixes(endpoints []netip.Addr, vpcCIDRs []netip.Prefix, r *ipranges.Ranges, c *resolve.Classifier) []Known {
	var out []Known
	seen := map[netip.Prefix]bool{}
	for _, a := range endpoints {
		p := netip.PrefixFrom(a.Unmap(), a.Unmap().BitLen())
		if !seen[p] {
			seen[p] = true
			out = append(out, Known{p, "endpoint"})
		}
	}
	for _, s := range privateRanges {
		out = append(out, Known{netip.MustParsePrefix(s), "private"})
	}
	for _, p := range vpcCIDRs {
		out = append(out, Known{p.Masked(), "private"})
	}
	if r == nil {
		return out
	}
	for _, e := range r.Entries {
		if e.Service != "S3" || seen[e.Prefix] {
			continue
		}
		seen[e.Prefix] = true
		kind := "s3"
		if c != nil && c.Classify(e.Prefix.Addr()).Path == resolve.PathGatewayEndpoint {
			kind = "s3-gateway"
		}
		out = append(out, Known{e.Prefix, kind})
	}
	return out
}

var columnTypes = map[Field]string{
	FieldVersion: "int", FieldSrcPort: "int", FieldDstPort: "int", FieldProtocol: "bigint",
	FieldPackets: "bigint", FieldBytes: "bigint", FieldStart: "bigint", FieldEnd: "bigint",
	FieldTCPFlags: "int", FieldTrafficPath: "int",
}

func (q *Athena) format() *Format {
	if q.Parquet || q.Format == nil {
		if q.Parquet {
			return AllFields()
		}
		return DefaultFormat()
	}
	return q.Format
}

// Column is one column of the table: its name and Athena (Hive) type.
type Column struct{ Name, Type string }

// Columns are the table's columns: those of the format (text) or every
// field (Parquet), with the types of AWS's Athena examples.
func (q *Athena) Columns() []Column {
	f := q.format()
	out := make([]Column, len(f.Names))
	for i, name := range f.Names {
		typ := columnTypes[f.Fields[i]]
		if typ == "" {
			typ = "string"
		}
		out[i] = Column{strings.ReplaceAll(name, "-", "_"), typ}
	}
	return out
}

// DDL returns the CREATE TABLE statement: the columns of the format (text)
// or of every field (Parquet), partitioned by day with partition
// projection on the S3 delivery's YYYY/MM/DD folders, so that no partition
// has to be added by hand.
func (q *Athena) DDL() string {
	var b strings.Builder
	fmt.Fprintf(&b, "CREATE EXTERNAL TABLE IF NOT EXISTS `%s` (\n", q.Table)
	cols := q.Columns()
	for i, c := range cols {
		sep := ","
		if i == len(cols)-1 {
			sep = ""
		}
		fmt.Fprintf(&b, "  `%s` %s%s\n", c.Name, c.Type, sep)
	}
	b.WriteString(")\nPARTITIONED BY (`day` string)\n")
	if q.Parquet {
		b.WriteString("STORED AS PARQUET\n")
	} else {
		b.WriteString("ROW FORMAT DELIMITED FIELDS TERMINATED BY ' '\n")
	}
	start := "2020/01/01"
	if !q.Since.IsZero() {
		start = q.Since.UTC().AddDate(0, 0, -1).Format("2006/01/02")
	}
	fmt.Fprintf(&b, "LOCATION '%s'\nTBLPROPERTIES (\n", q.Location)
	if !q.Parquet {
		b.WriteString("  'skip.header.line.count' = '1',\n")
	}
	fmt.Fprintf(&b, `  'projection.enabled' = 'true',
  'projection.day.type' = 'date',
  'projection.day.format' = 'yyyy/MM/dd',
  'projection.day.range' = '%s,NOW',
  'projection.day.interval' = '1',
  'projection.day.interval.unit' = 'DAYS',
  'storage.location.template' = '%s${day}'
);
`, start, q.Location)
	return b.String()
}

// Query returns the query that gives, per group, what the flowlogs command
// gives: S3 records and bytes to the interface endpoint, through the
// gateway endpoint, and on public paths, rejected records, the first and
// last times, and the verdict. Its only function outside standard SQL is
// Athena's contains(cidr, CAST(address AS IPADDRESS)).
func (q *Athena) Query() string {
	f := q.format()
	// Columns are quoted: end is a reserved word.
	col := func(x Field, otherwise string) string {
		if f.Has(x) {
			return `"` + x.Column() + `"`
		}
		return otherwise
	}
	str := func(x Field) string {
		if f.Has(x) {
			return fmt.Sprintf("nullif(%s, '-')", col(x, ""))
		}
		return "CAST(NULL AS varchar)"
	}
	addr := func(pkt, eni Field) string {
		if f.Has(pkt) {
			return fmt.Sprintf("coalesce(%s, %s)", str(pkt), str(eni))
		}
		return str(eni)
	}
	var b strings.Builder
	fmt.Fprintf(&b, "-- vpce-verify flowlogs athena: where each %s's S3 traffic went, by the rules of\n", q.GroupBy)
	fmt.Fprintf(&b, "-- vpce-verify flowlogs (policy %s). %s\n", q.Policy, q.Note)
	b.WriteString("WITH known (cidr, kind) AS (\n  VALUES\n")
	for i, k := range q.Known {
		sep := ","
		if i == len(q.Known)-1 {
			sep = ""
		}
		fmt.Fprintf(&b, "    ('%s', '%s')%s\n", k.Prefix, k.Kind, sep)
	}
	if len(q.Known) == 0 {
		b.WriteString("    ('0.0.0.0/32', 'none')\n")
	}
	b.WriteString("),\n")
	dst, src := col(FieldDstPort, "CAST(NULL AS integer)"), col(FieldSrcPort, "CAST(NULL AS integer)")
	fmt.Fprintf(&b, `web AS (
  SELECT
    coalesce(%s, '-') AS group_key,
    coalesce(%s, 'ACCEPT') AS action,
    %s AS packets,
    %s AS bytes,
    %s AS first_start,
    %s AS last_end,
    %s AS traffic_path,
    CASE WHEN %s IN (80, 443) THEN %s WHEN %s IN (80, 443) THEN %s END AS server,
    CASE WHEN %s IN (80, 443) THEN %s WHEN %s IN (80, 443) THEN %s END AS server_service
  FROM %s
  WHERE (%s IN (80, 443) OR %s IN (80, 443))
`, str(groupFields[q.GroupBy]), str(FieldAction), col(FieldPackets, "0"), col(FieldBytes, "0"),
		col(FieldStart, "CAST(NULL AS bigint)"), col(FieldEnd, "CAST(NULL AS bigint)"), col(FieldTrafficPath, "CAST(NULL AS integer)"),
		dst, addr(FieldPktDstAddr, FieldDstAddr), src, addr(FieldPktSrcAddr, FieldSrcAddr),
		dst, str(FieldPktDstAWSService), src, str(FieldPktSrcAWSService),
		q.Table, dst, src)
	if f.Has(FieldLogStatus) {
		b.WriteString("    AND (\"log_status\" IS NULL OR \"log_status\" NOT IN ('NODATA', 'SKIPDATA'))\n")
	}
	if f.Has(FieldProtocol) {
		b.WriteString("    AND (\"protocol\" IS NULL OR \"protocol\" = 6)\n")
	}
	if !q.Since.IsZero() {
		fmt.Fprintf(&b, "    AND day >= '%s'\n", q.Since.UTC().AddDate(0, 0, -1).Format("2006/01/02"))
		if f.Has(FieldEnd) {
			fmt.Fprintf(&b, "    AND (\"end\" IS NULL OR \"end\" >= %d)\n", q.Since.Unix())
		}
	}
	if !q.Until.IsZero() {
		fmt.Fprintf(&b, "    AND day <= '%s'\n", q.Until.UTC().AddDate(0, 0, 1).Format("2006/01/02"))
		if f.Has(FieldStart) {
			fmt.Fprintf(&b, "    AND (\"start\" IS NULL OR \"start\" <= %d)\n", q.Until.Unix())
		}
	}
	leak := "'public-aws'"
	allowed := "'interface-endpoint'"
	if q.Policy == PolicyPrivate {
		allowed += ", 'gateway-endpoint'"
	} else {
		leak += ", 'gateway-endpoint'"
	}
	fmt.Fprintf(&b, `),
servers AS (
  SELECT DISTINCT server FROM web WHERE server IS NOT NULL
),
matched AS (
  SELECT s.server,
    bool_or(k.kind = 'endpoint') AS endpoint,
    bool_or(k.kind = 's3-gateway') AS gateway,
    bool_or(k.kind IN ('s3', 's3-gateway')) AS s3,
    bool_or(k.kind = 'private') AS private
  FROM servers s JOIN known k ON contains(k.cidr, CAST(s.server AS IPADDRESS))
  GROUP BY s.server
),
judged AS (
  SELECT w.*,
    CASE
      WHEN m.endpoint THEN 'interface-endpoint'
      WHEN NOT coalesce(m.s3, false) AND coalesce(w.server_service, '-') <> 'S3' THEN NULL
      WHEN coalesce(m.private, false) AND NOT coalesce(m.s3, false) THEN 'private-other'
      WHEN w.traffic_path = 7 THEN 'gateway-endpoint'
      WHEN w.traffic_path = 8 THEN 'public-aws'
      WHEN m.gateway THEN 'gateway-endpoint'
      ELSE 'public-aws'
    END AS path
  FROM web w LEFT JOIN matched m ON m.server = w.server
  WHERE w.server IS NOT NULL
),
grouped AS (
  SELECT group_key,
    sum(CASE WHEN action <> 'REJECT' AND path = 'interface-endpoint' THEN 1 ELSE 0 END) AS endpoint_records,
    sum(CASE WHEN action <> 'REJECT' AND path = 'interface-endpoint' THEN bytes ELSE 0 END) AS endpoint_bytes,
    sum(CASE WHEN action <> 'REJECT' AND path = 'gateway-endpoint' THEN 1 ELSE 0 END) AS gateway_records,
    sum(CASE WHEN action <> 'REJECT' AND path = 'gateway-endpoint' THEN bytes ELSE 0 END) AS gateway_bytes,
    sum(CASE WHEN action <> 'REJECT' AND path = 'public-aws' THEN 1 ELSE 0 END) AS public_records,
    sum(CASE WHEN action <> 'REJECT' AND path = 'public-aws' THEN bytes ELSE 0 END) AS public_bytes,
    sum(CASE WHEN action <> 'REJECT' AND path = 'private-other' THEN 1 ELSE 0 END) AS private_records,
    sum(CASE WHEN action = 'REJECT' THEN 1 ELSE 0 END) AS rejected_records,
    sum(CASE WHEN action <> 'REJECT' AND path IN (%s) THEN 1 ELSE 0 END) AS leak_records,
    sum(CASE WHEN action <> 'REJECT' AND path IN (%s) THEN 1 ELSE 0 END) AS allowed_records,
    min(CASE WHEN action <> 'REJECT' THEN first_start END) AS first_start,
    max(CASE WHEN action <> 'REJECT' THEN last_end END) AS last_end
  FROM judged
  WHERE path IS NOT NULL
  GROUP BY group_key
)
SELECT group_key,
  CASE WHEN leak_records > 0 THEN 'fail' WHEN private_records = 0 AND allowed_records > 0 THEN 'pass' ELSE 'inconclusive' END AS verdict,
  endpoint_records, endpoint_bytes, gateway_records, gateway_bytes, public_records, public_bytes,
  private_records, rejected_records, first_start, last_end
FROM grouped
ORDER BY CASE WHEN leak_records > 0 THEN 0 WHEN private_records = 0 AND allowed_records > 0 THEN 2 ELSE 1 END, public_bytes DESC, group_key;
`, leak, allowed)
	return b.String()
}

// ContainsCall is the one Athena-only expression of the query, as it
// appears in it: a port to another engine replaces this text.
const ContainsCall = "contains(k.cidr, CAST(s.server AS IPADDRESS))"
