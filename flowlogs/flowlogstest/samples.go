// Package flowlogstest writes flow log samples for tests: the same records
// as text in the default or a custom format, gzip-compressed or not, as
// Parquet with the column names and types of the S3 delivery, and as the
// JSON of aws logs filter-log-events. The fields and their values follow
// AWS's field table (flow-log-records); nothing here comes from a real
// account.
package flowlogstest

import (
	"encoding/json"
	"fmt"
	"io"
	"strconv"
	"strings"

	"github.com/parquet-go/parquet-go"
)

// Rec is one record, each field as the text format writes it ("-" or ""
// for a missing value).
type Rec map[string]string

// Names are the fields of versions 2 to 5 in AWS's order.
var Names = strings.Fields(`version account-id interface-id srcaddr dstaddr srcport dstport protocol
packets bytes start end action log-status vpc-id subnet-id instance-id tcp-flags type pkt-srcaddr
pkt-dstaddr region az-id sublocation-type sublocation-id pkt-src-aws-service pkt-dst-aws-service
flow-direction traffic-path`)

// DefaultFormat is the version 2 default format.
var DefaultFormat = Names[:14]

// CustomFormat is a custom format with version 5 fields, in an order of its
// own, as a header line names it.
var CustomFormat = strings.Fields(`version vpc-id subnet-id instance-id interface-id account-id type
srcaddr dstaddr srcport dstport pkt-srcaddr pkt-dstaddr protocol bytes packets start end action
tcp-flags log-status pkt-src-aws-service pkt-dst-aws-service flow-direction traffic-path`)

// DefaultExample is the default-format record of AWS's documentation.
const DefaultExample = "2 123456789010 eni-1235b8ca123456789 172.31.16.139 172.31.16.21 20641 22 6 20 4249 1418530010 1418530070 ACCEPT OK"

// The endpoint's addresses in the samples.
const (
	EndpointIPv4 = "10.0.2.50"
	EndpointIPv6 = "2406:da1a:8e0:2c00::50"
)

// T0 is the samples' first second: 2026-07-01T10:00:00Z.
const T0 = 1782900000

func rec(eni, inst, subnet, src, dst string, sport, dport, pkts, bytes int, start int64, action, status, pktSrc, pktDst, srcSvc, dstSvc, dir, path string) Rec {
	r := Rec{"version": "5", "account-id": "123456789010", "interface-id": eni, "srcaddr": src, "dstaddr": dst,
		"srcport": strconv.Itoa(sport), "dstport": strconv.Itoa(dport), "protocol": "6",
		"packets": strconv.Itoa(pkts), "bytes": strconv.Itoa(bytes), "start": strconv.FormatInt(start, 10),
		"end": strconv.FormatInt(start+60, 10), "action": action, "log-status": status, "vpc-id": "vpc-0123456789abcdef0",
		"subnet-id": subnet, "instance-id": inst, "tcp-flags": "19", "type": "IPv4", "pkt-srcaddr": pktSrc, "pkt-dstaddr": pktDst,
		"region": "ap-south-1", "az-id": "aps1-az1", "sublocation-type": "-", "sublocation-id": "-",
		"pkt-src-aws-service": srcSvc, "pkt-dst-aws-service": dstSvc, "flow-direction": dir, "traffic-path": path}
	if strings.Contains(src, ":") || strings.Contains(dst, ":") {
		r["type"] = "IPv6"
	}
	return r
}

// Records is the scenario every format carries:
//   - eni-0aaa (i-0aaa, subnet-a) talks to the endpoint 10.0.2.50 only: pass;
//   - eni-0bbb (i-0bbb, subnet-b) sends to the public S3 address
//     52.219.64.10 through the internet gateway (traffic-path 8): fail;
//   - eni-0ccc (i-0ccc, subnet-b) reaches 52.219.64.11 through a gateway
//     endpoint (traffic-path 7): fail under the interface-endpoint policy,
//     pass under private;
//   - eni-0ddd (i-0ddd, subnet-c) sends to S3 through a NAT gateway
//     (traffic-path 1); the NAT gateway's own interface eni-0nat (no
//     instance) logs the packets coming in from the instance with dstaddr
//     its own address 10.0.0.5 and pkt-dstaddr the S3 address, and those
//     going out with its own address as the source (AWS's NAT example);
//   - eni-0ddd also sends to 203.0.113.80, an address the ip-ranges.json
//     in use does not list, which pkt-dst-aws-service says is S3;
//   - eni-0ggg (i-0ggg, subnet-d) sends to 10.0.3.77, which
//     pkt-dst-aws-service says is S3 but is no known endpoint address:
//     inconclusive;
//   - eni-0eee (i-0eee, subnet-a) is refused by the endpoint (REJECT) and
//     reaches it over IPv6;
//   - the documentation's SSH record, HTTPS to a non-AWS address, a NODATA
//     and a SKIPDATA record.
func Records() []Rec {
	const ep = EndpointIPv4
	t := int64(T0)
	rs := []Rec{
		rec("eni-1235b8ca123456789", "-", "-", "172.31.16.139", "172.31.16.21", 20641, 22, 20, 4249, 1418530010, "ACCEPT", "OK", "-", "-", "-", "-", "-", "-"),
		rec("eni-0aaa", "i-0aaa", "subnet-a", "10.0.1.10", ep, 40001, 443, 120, 150000, t, "ACCEPT", "OK", "10.0.1.10", ep, "-", "-", "egress", "1"),
		rec("eni-0aaa", "i-0aaa", "subnet-a", ep, "10.0.1.10", 443, 40001, 200, 2500000, t, "ACCEPT", "OK", ep, "10.0.1.10", "-", "-", "ingress", "-"),
		rec("eni-0aaa", "i-0aaa", "subnet-a", "10.0.1.10", ep, 40002, 80, 5, 700, t+120, "ACCEPT", "OK", "10.0.1.10", ep, "-", "-", "egress", "1"),
		rec("eni-0bbb", "i-0bbb", "subnet-b", "10.0.1.20", "52.219.64.10", 40003, 443, 30, 9000, t+60, "ACCEPT", "OK", "10.0.1.20", "52.219.64.10", "-", "S3", "egress", "8"),
		rec("eni-0bbb", "i-0bbb", "subnet-b", "52.219.64.10", "10.0.1.20", 443, 40003, 40, 64000, t+60, "ACCEPT", "OK", "52.219.64.10", "10.0.1.20", "S3", "-", "ingress", "-"),
		rec("eni-0bbb", "i-0bbb", "subnet-b", "10.0.1.20", ep, 40004, 443, 10, 3000, t+60, "ACCEPT", "OK", "10.0.1.20", ep, "-", "-", "egress", "1"),
		rec("eni-0ccc", "i-0ccc", "subnet-b", "10.0.1.30", "52.219.64.11", 40005, 443, 12, 4000, t+180, "ACCEPT", "OK", "10.0.1.30", "52.219.64.11", "-", "S3", "egress", "7"),
		rec("eni-0ddd", "i-0ddd", "subnet-c", "10.0.1.40", "52.219.62.20", 40006, 443, 8, 2000, t+240, "ACCEPT", "OK", "10.0.1.40", "52.219.62.20", "-", "S3", "egress", "1"),
		rec("eni-0nat", "-", "subnet-pub", "10.0.1.40", "10.0.0.5", 40006, 443, 8, 2100, t+240, "ACCEPT", "OK", "10.0.1.40", "52.219.62.20", "-", "S3", "ingress", "-"),
		rec("eni-0nat", "-", "subnet-pub", "10.0.0.5", "52.219.62.20", 61006, 443, 8, 2000, t+240, "ACCEPT", "OK", "10.0.0.5", "52.219.62.20", "-", "S3", "egress", "8"),
		rec("eni-0ddd", "i-0ddd", "subnet-c", "10.0.1.40", "203.0.113.80", 40010, 443, 6, 1500, t+270, "ACCEPT", "OK", "10.0.1.40", "203.0.113.80", "-", "S3", "egress", "1"),
		rec("eni-0ggg", "i-0ggg", "subnet-d", "10.0.4.10", "10.0.3.77", 40011, 443, 20, 30000, t+330, "ACCEPT", "OK", "10.0.4.10", "10.0.3.77", "-", "S3", "egress", "1"),
		rec("eni-0eee", "i-0eee", "subnet-a", "10.0.1.50", ep, 40007, 443, 3, 180, t+300, "REJECT", "OK", "10.0.1.50", ep, "-", "-", "egress", "1"),
		rec("eni-0eee", "i-0eee", "subnet-a", "2406:da1a:8e0:2c01::10", EndpointIPv6, 40008, 443, 50, 70000, t+300, "ACCEPT", "OK", "2406:da1a:8e0:2c01::10", EndpointIPv6, "-", "-", "egress", "1"),
		rec("eni-0fff", "i-0fff", "subnet-c", "10.0.1.60", "198.51.100.7", 40009, 443, 9, 1200, t+360, "ACCEPT", "OK", "10.0.1.60", "198.51.100.7", "-", "-", "egress", "8"),
	}
	nodata := Rec{}
	skip := Rec{}
	for _, n := range Names {
		nodata[n], skip[n] = "-", "-"
	}
	for k, v := range map[string]string{"version": "5", "account-id": "123456789010", "interface-id": "eni-0aaa", "start": strconv.FormatInt(t+400, 10), "end": strconv.FormatInt(t+460, 10)} {
		nodata[k], skip[k] = v, v
	}
	nodata["log-status"], skip["log-status"] = "NODATA", "SKIPDATA"
	return append(rs, nodata, skip)
}

// Text writes recs in the fields given, with a header line naming them
// when header is true (as the S3 delivery writes), one record a line.
func Text(w io.Writer, fields []string, header bool, recs []Rec) error {
	var b strings.Builder
	if header {
		b.WriteString(strings.Join(fields, " ") + "\n")
	}
	for _, r := range recs {
		for i, f := range fields {
			if i > 0 {
				b.WriteByte(' ')
			}
			v := r[f]
			if v == "" {
				v = "-"
			}
			if f == "version" && len(fields) == 14 && strings.Join(fields, " ") == strings.Join(DefaultFormat, " ") {
				v = "2" // the default format is version 2
			}
			b.WriteString(v)
		}
		b.WriteByte('\n')
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// CloudWatch writes recs in the default format as aws logs
// filter-log-events prints them.
func CloudWatch(w io.Writer, recs []Rec) error {
	type event struct {
		LogStreamName string `json:"logStreamName"`
		Timestamp     int64  `json:"timestamp"`
		Message       string `json:"message"`
		IngestionTime int64  `json:"ingestionTime"`
		EventID       string `json:"eventId"`
	}
	out := struct {
		Events             []event  `json:"events"`
		SearchedLogStreams []string `json:"searchedLogStreams"`
	}{SearchedLogStreams: []string{}}
	for i, r := range recs {
		var b strings.Builder
		Text(&b, DefaultFormat, false, []Rec{r})
		start, _ := strconv.ParseInt(r["start"], 10, 64)
		out.Events = append(out.Events, event{r["interface-id"] + "-all", start * 1000, strings.TrimSuffix(b.String(), "\n"), start*1000 + 300000, fmt.Sprintf("%056d", i)})
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "    ")
	return enc.Encode(out)
}

// ParquetRow has the columns of the S3 delivery's Parquet files: the names
// of Athena's Parquet table, the types of AWS's field table (INT_32,
// INT_64, STRING); a missing value is null.
type ParquetRow struct {
	Version          *int32  `parquet:"version,optional"`
	AccountID        *string `parquet:"account_id,optional"`
	InterfaceID      *string `parquet:"interface_id,optional"`
	SrcAddr          *string `parquet:"srcaddr,optional"`
	DstAddr          *string `parquet:"dstaddr,optional"`
	SrcPort          *int32  `parquet:"srcport,optional"`
	DstPort          *int32  `parquet:"dstport,optional"`
	Protocol         *int32  `parquet:"protocol,optional"`
	Packets          *int64  `parquet:"packets,optional"`
	Bytes            *int64  `parquet:"bytes,optional"`
	Start            *int64  `parquet:"start,optional"`
	End              *int64  `parquet:"end,optional"`
	Action           *string `parquet:"action,optional"`
	LogStatus        *string `parquet:"log_status,optional"`
	VPCID            *string `parquet:"vpc_id,optional"`
	SubnetID         *string `parquet:"subnet_id,optional"`
	InstanceID       *string `parquet:"instance_id,optional"`
	TCPFlags         *int32  `parquet:"tcp_flags,optional"`
	Type             *string `parquet:"type,optional"`
	PktSrcAddr       *string `parquet:"pkt_srcaddr,optional"`
	PktDstAddr       *string `parquet:"pkt_dstaddr,optional"`
	Region           *string `parquet:"region,optional"`
	AZID             *string `parquet:"az_id,optional"`
	SublocationType  *string `parquet:"sublocation_type,optional"`
	SublocationID    *string `parquet:"sublocation_id,optional"`
	PktSrcAWSService *string `parquet:"pkt_src_aws_service,optional"`
	PktDstAWSService *string `parquet:"pkt_dst_aws_service,optional"`
	FlowDirection    *string `parquet:"flow_direction,optional"`
	TrafficPath      *int32  `parquet:"traffic_path,optional"`
}

// Parquet writes recs as the S3 delivery's Parquet option does: every
// column, GZIP pages, rowsPerGroup rows in each row group.
func Parquet(w io.Writer, recs []Rec, rowsPerGroup int) error {
	pw := parquet.NewGenericWriter[ParquetRow](w, parquet.Compression(&parquet.Gzip))
	for i, r := range recs {
		s := func(k string) *string {
			if v := r[k]; v != "" && v != "-" {
				return &v
			}
			return nil
		}
		i32 := func(k string) *int32 {
			if v, err := strconv.ParseInt(r[k], 10, 32); err == nil {
				x := int32(v)
				return &x
			}
			return nil
		}
		i64 := func(k string) *int64 {
			if v, err := strconv.ParseInt(r[k], 10, 64); err == nil {
				return &v
			}
			return nil
		}
		row := ParquetRow{i32("version"), s("account-id"), s("interface-id"), s("srcaddr"), s("dstaddr"),
			i32("srcport"), i32("dstport"), i32("protocol"), i64("packets"), i64("bytes"), i64("start"), i64("end"),
			s("action"), s("log-status"), s("vpc-id"), s("subnet-id"), s("instance-id"), i32("tcp-flags"), s("type"),
			s("pkt-srcaddr"), s("pkt-dstaddr"), s("region"), s("az-id"), s("sublocation-type"), s("sublocation-id"),
			s("pkt-src-aws-service"), s("pkt-dst-aws-service"), s("flow-direction"), i32("traffic-path")}
		if _, err := pw.Write([]ParquetRow{row}); err != nil {
			return err
		}
		if rowsPerGroup > 0 && (i+1)%rowsPerGroup == 0 {
			if err := pw.Flush(); err != nil {
				return err
			}
		}
	}
	return pw.Close()
}
