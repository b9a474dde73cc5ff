// Package flowlogs reads VPC Flow Logs and says, per network interface,
// instance, subnet or VPC, whether S3 traffic went to the interface
// endpoint or to a public address: the evidence of many hosts at once,
// from the records AWS itself wrote.
//
// Records come as text (the default version 2 format, or a custom format
// named by the header line that the S3 delivery writes), gzip-compressed or
// not, as Parquet (the S3 delivery's Parquet option), or as the JSON that
// `aws logs filter-log-events` prints for a CloudWatch Logs group. Every
// record to or from TCP port 80 or 443 has its server address classified
// with [resolve.Classifier], as a capture's connections are; the record's
// own pkt-dst-aws-service and traffic-path fields add evidence no capture
// has.
//
// With Config.Keep, an analysis also keeps the records its verdict rests
// on, bounded (KeepLimits), for an evidence bundle: WriteKept writes them
// as flow log text this package reads back.
//
// The package knows resolve, resolve/ipranges, resolve/inventory and
// report (the verdict words, the provenance's pieces), and nothing of
// capture: the dependencies point one way.
package flowlogs
