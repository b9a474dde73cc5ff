package s3name

import "strings"

// Kind is the family of an S3 host name. Its values are the stable words
// the JSON report prints as s3_kind. FIPS and dual-stack variants are flags
// on Name, not kinds of their own.
type Kind string

// The S3 name families. REGION is a region code such as ap-south-1, SUFFIX
// the partition's DNS suffix (amazonaws.com, amazonaws.com.cn, ...).
const (
	// Regional is the path-style regional name: s3.REGION.SUFFIX,
	// s3.dualstack.REGION..., s3-fips.REGION..., s3-fips.dualstack.REGION...
	Regional Kind = "regional"
	// VirtualHosted is a bucket in front of a regional name:
	// BUCKET.s3.REGION.SUFFIX and its dual-stack and FIPS variants.
	VirtualHosted Kind = "virtual-hosted"
	// LegacyGlobal is [BUCKET.]s3.amazonaws.com, which PrivateLink does not
	// serve.
	LegacyGlobal Kind = "legacy-global"
	// LegacyRegional is a name from before the dotted regional names:
	// [BUCKET.]s3-REGION.SUFFIX, [BUCKET.]s3-fips-REGION.SUFFIX and
	// [BUCKET.]s3-external-1.amazonaws.com (us-east-1).
	LegacyRegional Kind = "legacy-regional"
	// Website is a static website endpoint, HTTP only, in both spellings:
	// [BUCKET.]s3-website-REGION.SUFFIX and [BUCKET.]s3-website.REGION.SUFFIX.
	Website Kind = "website"
	// Accelerate is S3 Transfer Acceleration, served from the edge network:
	// [BUCKET.]s3-accelerate[.dualstack].amazonaws.com.
	Accelerate Kind = "accelerate"
	// AccessPoint is an S3 access point or the access point front door:
	// [NAME-ACCOUNT.]s3-accesspoint[-fips][.dualstack].REGION.SUFFIX.
	AccessPoint Kind = "accesspoint"
	// MRAP is a Multi-Region Access Point:
	// ALIAS.accesspoint.s3-global.SUFFIX, where ALIAS is like
	// mfzwi23gnjvgw.mrap.
	MRAP Kind = "mrap"
	// ObjectLambda is an S3 Object Lambda access point:
	// [NAME-ACCOUNT.]s3-object-lambda[-fips].REGION.SUFFIX, or ROUTE. in front
	// for the WriteGetObjectResponse calls of Lambda functions.
	ObjectLambda Kind = "object-lambda"
	// Control is the S3 Control API:
	// [ACCOUNT.]s3-control[-fips][.dualstack].REGION.SUFFIX.
	Control Kind = "control"
	// Outposts is data on S3 on Outposts, through an access point or a
	// bucket-style alias: NAME-ACCOUNT.op-ID.s3-outposts.REGION.SUFFIX,
	// ALIAS.op-ID.s3-outposts... or ALIAS.ec2.s3-outposts...
	Outposts Kind = "outposts"
	// OutpostsControl is the S3 on Outposts bucket and endpoint management
	// API: s3-outposts[-fips].REGION.SUFFIX, and its dual-stack name
	// s3-outposts[-fips].REGION.api.aws (or the partition's dual-stack
	// suffix).
	OutpostsControl Kind = "outposts-control"
	// Express is S3 Express One Zone's zonal (data) endpoint:
	// [BUCKET.]s3express[-fips]-AZID[.dualstack].REGION.SUFFIX, where BUCKET
	// is a directory bucket (BASE--AZID--x-s3) or its access point
	// (NAME--AZID--xa-s3).
	Express Kind = "express"
	// ExpressControl is S3 Express One Zone's regional (bucket management)
	// endpoint: s3express-control[-fips][.dualstack].REGION.SUFFIX.
	ExpressControl Kind = "express-control"
	// Endpoint is the name of a VPC interface endpoint itself:
	// [LEAD.][LABEL.]vpce-ID-SUFFIX[-AZ].s3.REGION.vpce.SUFFIX, where LABEL
	// is bucket, accesspoint or control and LEAD a bucket, an access point
	// (NAME-ACCOUNT or its ...-s3alias alias) or an account; and the bare
	// vpce-ID-SUFFIX[-AZ].s3-outposts.REGION.vpce.SUFFIX of S3 on Outposts
	// endpoints. These names resolve to the endpoint's private addresses
	// from anywhere.
	Endpoint Kind = "endpoint"
)

// Name is what an S3 host name says about itself. Every string in it is
// part of the (lower-cased) name, except the us-east-1 that
// s3-external-1 implies.
type Name struct {
	Kind Kind
	// Partition is the AWS partition whose DNS suffix the name ends in:
	// "aws", "aws-cn", "aws-us-gov", "aws-iso", "aws-iso-b", "aws-iso-e",
	// "aws-iso-f" or "aws-eusc". GovCloud shares amazonaws.com with "aws";
	// its region tells them apart.
	Partition string
	// Region is the region the name is served in, "" for the global names
	// (legacy global, accelerate, MRAP).
	Region string

	Bucket      string // a bucket (general purpose or directory) when the name carries one
	AccessPoint string // an access point's name, from NAME-ACCOUNT or NAME--AZID--xa-s3
	Account     string // the 12-digit account ID in access point and control names
	// Alias is a Multi-Region Access Point's alias (mfzwi23gnjvgw.mrap), an
	// access point's alias (...-s3alias) in front of an accesspoint.vpce-
	// name, or an S3 on Outposts bucket alias (...--op-s3).
	Alias string
	// Route is the routing token (io-use1-001) that Lambda functions put in
	// front of s3-object-lambda names for WriteGetObjectResponse.
	Route string
	// OutpostID is the Outpost (op-01ac5d28a6a232904) of an Outposts name,
	// or "ec2" where the name has that label in its place.
	OutpostID string
	// AZID is the zone ID (use1-az4) of an Express One Zone zonal name.
	AZID string

	EndpointID    string // "vpce-0a1b2c3d4e5f67890", for Endpoint
	EndpointLabel string // "bucket", "accesspoint", "control", or "" for a bare vpce- name
	Zonal         string // the availability zone of a zonal endpoint name, e.g. "ap-south-1a"
	Service       string // the service label of an Endpoint name: "s3" or "s3-outposts"

	Dualstack bool // a dual-stack name (A and AAAA records)
	FIPS      bool // a FIPS name (PrivateLink does not serve them)
	// Global marks names that no regional endpoint serves: legacy global,
	// accelerate and Multi-Region Access Points.
	Global bool
}

// Parse recognises an S3 host name (a DNS name or a TLS server name).
// Matching is case-insensitive and a trailing dot is allowed. It reports
// false for anything else, including look-alikes such as s3.example.com,
// s3-fake.amazonaws.com, s3.amazonaws.com.evil.com or xs3.amazonaws.com.
//
// Parse runs once per connection, so it allocates nothing for a name in
// lower case and a single copy of the name otherwise.
func Parse(name string) (Name, bool) {
	name = strings.TrimSuffix(name, ".")
	for i := range suffixes {
		p := &suffixes[i] // not a copy per suffix
		// Most names are not S3 names: the suffix rules them out before
		// the whole name is read.
		tail := len(name) - len(p.suffix)
		if tail < 1 || !hasSuffixFold(name, p.suffix) {
			continue
		}
		s, ok := normalize(name)
		if !ok {
			return Name{}, false
		}
		// Direct calls, not a function in the table: n would escape to the
		// heap through one.
		var n Name
		if p.api && !n.parseDualstackAPI(s[:tail], p.partition) || !p.api && !n.parseRest(s[:tail], p.partition) {
			return Name{}, false
		}
		return n, true
	}
	return Name{}, false
}

// EndpointService names the VPC endpoint service, as describe-vpc-endpoints
// prints its ServiceName, whose endpoints can carry this name's requests
// privately; "" when PrivateLink does not serve the name.
//
// What it says per kind, and on what evidence:
//   - Regional, VirtualHosted, Control, AccessPoint and Endpoint names of
//     S3: com.amazonaws.REGION.s3 (S3 User Guide, "AWS PrivateLink for Amazon
//     S3"), cn.com.amazonaws.REGION.s3 in China (the name describe-vpc-endpoint-services
//     lists there, as tabled in aws-cdk's InterfaceVpcEndpointAwsService).
//     Private DNS covers only s3.REGION, s3-control.REGION and
//     s3-accesspoint.REGION; whether a dual-stack name reaches an interface
//     endpoint without DNS the user manages is unverified.
//   - LegacyRegional (s3-REGION): com.amazonaws.REGION.s3, unverified: AWS
//     excludes only the legacy global name from PrivateLink, and private DNS
//     does not cover these names.
//   - MRAP: com.amazonaws.s3-global.accesspoint (S3 User Guide,
//     "Configuring a Multi-Region Access Point for use with AWS PrivateLink").
//   - OutpostsControl and the vpce- names of Outposts endpoints:
//     com.amazonaws.REGION.s3-outposts (S3 User Guide, "AWS PrivateLink for
//     S3 on Outposts"). Outposts data names: "", because PrivateLink does not
//     carry the data transfer APIs; they go through S3 on Outposts endpoints
//     in the VPC instead (same page).
//   - Express and ExpressControl: com.amazonaws.REGION.s3express, the
//     service AWS documents for gateway endpoints of directory buckets
//     ("Networking for directory buckets"). Interface endpoints for it are
//     not documented in the sources used, so that part is unverified.
//   - "" for LegacyGlobal, Website and every FIPS name, which AWS documents
//     PrivateLink does not support ("Restrictions and limitations of AWS
//     PrivateLink for Amazon S3"); for Accelerate, which runs on the edge
//     network and has no documented endpoint service; and for ObjectLambda,
//     for which the sources used document no endpoint service (unverified).
//
// Outside the aws, aws-us-gov and aws-cn partitions the names follow the
// same pattern (com.amazonaws.REGION...), which is unverified.
func (n Name) EndpointService() string {
	if n.FIPS {
		return ""
	}
	switch n.Kind {
	case Regional, VirtualHosted, Control, AccessPoint, LegacyRegional:
		return n.servicePrefix("s3") + n.Region + ".s3"
	case Endpoint:
		return n.servicePrefix(n.Service) + n.Region + "." + n.Service
	case MRAP:
		return "com.amazonaws.s3-global.accesspoint"
	case OutpostsControl:
		return "com.amazonaws." + n.Region + ".s3-outposts"
	case Express, ExpressControl:
		return "com.amazonaws." + n.Region + ".s3express"
	}
	return ""
}

// servicePrefix is the start of an endpoint service name: S3's interface
// endpoint service in China is one of those named cn.com.amazonaws.
func (n Name) servicePrefix(service string) string {
	if n.Partition == "aws-cn" && service == "s3" {
		return "cn.com.amazonaws."
	}
	return "com.amazonaws."
}
