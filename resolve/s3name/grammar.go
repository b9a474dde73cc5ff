package s3name

import "strings"

// suffixes are the DNS suffixes of the AWS partitions (botocore
// partitions.json: dnsSuffix, then dualStackDnsSuffix), each with the
// grammar of what precedes it. S3 builds every name on dnsSuffix; only the
// S3 on Outposts management API also has names on dualStackDnsSuffix.
var suffixes = [...]struct {
	suffix    string
	partition string
	parse     func(rest, partition string) (Name, bool)
}{
	{".amazonaws.com", "aws", parseRest}, // also aws-us-gov: the region tells
	{".amazonaws.com.cn", "aws-cn", parseRest},
	{".amazonaws.eu", "aws-eusc", parseRest},
	{".c2s.ic.gov", "aws-iso", parseRest},
	{".sc2s.sgov.gov", "aws-iso-b", parseRest},
	{".cloud.adc-e.uk", "aws-iso-e", parseRest},
	{".csp.hci.ic.gov", "aws-iso-f", parseRest},
	{".api.aws", "aws", parseDualstackAPI},
	{".api.amazonwebservices.com.cn", "aws-cn", parseDualstackAPI},
	{".api.amazonwebservices.eu", "aws-eusc", parseDualstackAPI},
	{".api.aws.ic.gov", "aws-iso", parseDualstackAPI},
	{".api.aws.scloud", "aws-iso-b", parseDualstackAPI},
	{".api.cloud-aws.adc-e.uk", "aws-iso-e", parseDualstackAPI},
	{".api.aws.hci.ic.gov", "aws-iso-f", parseDualstackAPI},
}

// normalize checks that name is a host name (labels of 1 to 63 letters,
// digits, '-' or '_', at most 253 characters without the trailing dot) and
// returns it without the trailing dot, in lower case. It copies the name
// only when it has capitals.
func normalize(name string) (string, bool) {
	name = strings.TrimSuffix(name, ".")
	if name == "" || len(name) > 253 {
		return "", false
	}
	upper := false
	label := 0
	for i := 0; i < len(name); i++ {
		c := name[i]
		switch {
		case c == '.':
			if label == 0 {
				return "", false
			}
			label = 0
			continue
		case 'A' <= c && c <= 'Z':
			upper = true
		case !('a' <= c && c <= 'z' || '0' <= c && c <= '9' || c == '-' || c == '_'):
			return "", false
		}
		if label++; label > 63 {
			return "", false
		}
	}
	if label == 0 {
		return "", false
	}
	if upper {
		name = strings.ToLower(name)
	}
	return name, true
}

// parseRest parses what precedes a partition's DNS suffix.
func parseRest(rest, partition string) (Name, bool) {
	if r, ok := strings.CutSuffix(rest, ".vpce"); ok {
		return parseEndpoint(r, partition)
	}
	lead, last := cutLast(rest)
	n := Name{Partition: partition}
	// The global names exist only in the aws partition: the SDK rules reject
	// Transfer Acceleration elsewhere and build s3.amazonaws.com for
	// aws-global alone.
	global := partition == "aws"
	switch {
	case last == "s3" && global:
		n.Kind, n.Global = LegacyGlobal, true
		return withBucket(n, lead)
	case last == "s3-external-1" && global:
		n.Kind, n.Region = LegacyRegional, "us-east-1"
		return withBucket(n, lead)
	case last == "s3-accelerate" && global:
		n.Kind, n.Global = Accelerate, true
		return withBucket(n, lead)
	case last == "dualstack" && global:
		lead, last = cutLast(lead)
		if last != "s3-accelerate" {
			return Name{}, false
		}
		n.Kind, n.Global, n.Dualstack = Accelerate, true, true
		return withBucket(n, lead)
	case last == "s3-global":
		lead, last = cutLast(lead)
		if last != "accesspoint" || lead != "" && !isLabels(lead) {
			return Name{}, false
		}
		n.Kind, n.Global, n.Alias = MRAP, true, lead
		return n, true
	case strings.HasPrefix(last, "s3-website-"):
		n.Kind, n.Region = Website, last[len("s3-website-"):]
	case strings.HasPrefix(last, "s3-fips-"):
		n.Kind, n.Region, n.FIPS = LegacyRegional, last[len("s3-fips-"):], true
	case strings.HasPrefix(last, "s3-"):
		n.Kind, n.Region = LegacyRegional, last[len("s3-"):]
	default:
		return parseRegional(n, lead, last)
	}
	var ok bool
	if n.Partition, ok = partitionOf(n.Region, partition); !ok {
		return Name{}, false
	}
	return withBucket(n, lead)
}

// parseRegional parses LEAD.SERVICE[.dualstack].REGION, the names most S3
// front doors have.
func parseRegional(n Name, lead, region string) (Name, bool) {
	var ok bool
	if n.Partition, ok = partitionOf(region, n.Partition); !ok {
		return Name{}, false
	}
	n.Region = region
	lead, svc := cutLast(lead)
	if svc == "dualstack" {
		n.Dualstack = true
		lead, svc = cutLast(lead)
	}
	svc, n.FIPS = strings.CutSuffix(svc, "-fips")
	switch svc {
	case "s3-accelerate":
		// The SDK rules build BUCKET.s3-accelerate.dualstack.us-east-1...
		// for the aws-global region; the region in it means nothing.
		if !n.Dualstack || n.FIPS || region != "us-east-1" {
			return Name{}, false
		}
		n.Kind, n.Region, n.Global = Accelerate, "", true
		return withBucket(n, lead)
	case "s3":
		n.Kind = Regional
		if lead == "" {
			return n, true
		}
		n.Kind = VirtualHosted
		return withBucket(n, lead)
	case "s3-control":
		n.Kind = Control
		if lead != "" && !isAccount(lead) {
			return Name{}, false
		}
		n.Account = lead
		return n, true
	case "s3-accesspoint":
		n.Kind = AccessPoint
		return withAccessPoint(n, lead)
	case "s3-object-lambda":
		if n.Dualstack {
			return Name{}, false
		}
		n.Kind = ObjectLambda
		if n, ok := withAccessPoint(n, lead); ok {
			return n, true
		}
		if !isLabel(lead) {
			return Name{}, false
		}
		n.Route = lead
		return n, true
	case "s3-outposts":
		if n.Dualstack {
			return Name{}, false // its dual-stack names end in .api.aws
		}
		if lead == "" {
			n.Kind = OutpostsControl
			return n, true
		}
		if n.FIPS {
			return Name{}, false // the rule sets build no FIPS data names
		}
		return parseOutposts(n, lead)
	case "s3-website":
		if n.Dualstack || n.FIPS {
			return Name{}, false
		}
		n.Kind = Website
		return withBucket(n, lead)
	case "s3express-control", "s3express-control-dualstack":
		// The second spelling is the one the S3 User Guide's table of
		// directory bucket endpoints gives; the SDK rules build
		// s3express-control.dualstack.REGION.
		if svc == "s3express-control-dualstack" {
			if n.Dualstack {
				return Name{}, false
			}
			n.Dualstack = true
		}
		n.Kind = ExpressControl
		return n, lead == ""
	}
	az, ok := strings.CutPrefix(svc, "s3express-")
	if !ok || n.FIPS {
		return Name{}, false // the FIPS zonal names are s3express-fips-AZID
	}
	az, n.FIPS = strings.CutPrefix(az, "fips-")
	if !isZoneID(az) {
		return Name{}, false
	}
	n.Kind, n.AZID = Express, az
	if lead == "" {
		return n, true
	}
	if !IsBucket(lead) {
		return Name{}, false
	}
	if strings.HasSuffix(lead, "--xa-s3") {
		n.AccessPoint = lead
	} else {
		n.Bucket = lead
	}
	return n, true
}

// parseOutposts parses the LEAD of LEAD.s3-outposts.REGION...: an access
// point (NAME-ACCOUNT) or a bucket alias (...--op-s3) in front of the
// Outpost's ID, or of "ec2" in the names the SDK rules build for Outposts
// of hardware type "e".
func parseOutposts(n Name, lead string) (Name, bool) {
	lead, id := cutLast(lead)
	if id != "ec2" && !(strings.HasPrefix(id, "op-") && isAlnum(id[len("op-"):])) {
		return Name{}, false
	}
	n.Kind, n.OutpostID = Outposts, id
	if strings.HasSuffix(lead, "--op-s3") && isLabel(lead) {
		n.Alias = lead
		return n, true
	}
	if lead == "" {
		return Name{}, false
	}
	return withAccessPoint(n, lead)
}

// parseDualstackAPI parses what precedes a partition's dual-stack suffix
// (api.aws): only s3-outposts[-fips].REGION is an S3 name there.
func parseDualstackAPI(rest, partition string) (Name, bool) {
	svc, region, ok := strings.Cut(rest, ".")
	if !ok || svc != "s3-outposts" && svc != "s3-outposts-fips" {
		return Name{}, false
	}
	if partition, ok = partitionOf(region, partition); !ok {
		return Name{}, false
	}
	return Name{Kind: OutpostsControl, Partition: partition, Region: region, Dualstack: true, FIPS: svc == "s3-outposts-fips"}, true
}

// parseEndpoint parses what precedes ".vpce.SUFFIX":
// [LEAD.][LABEL.]vpce-ID-SUFFIX[-AZ].SERVICE.REGION.
func parseEndpoint(rest, partition string) (Name, bool) {
	rest, region := cutLast(rest)
	rest, svc := cutLast(rest)
	lead, vpce := cutLast(rest)
	if svc != "s3" && svc != "s3-outposts" {
		return Name{}, false
	}
	partition, ok := partitionOf(region, partition)
	if !ok {
		return Name{}, false
	}
	n := Name{Kind: Endpoint, Partition: partition, Region: region, Service: svc}
	i := strings.IndexByte(vpce[min(len(vpce), len("vpce-")):], '-') + len("vpce-")
	if i < len("vpce-") || !IsEndpointID(vpce[:i]) {
		return Name{}, false
	}
	n.EndpointID = vpce[:i]
	suffix, az, zonal := strings.Cut(vpce[i+1:], "-")
	if !isAlnum(suffix) || zonal && !isZoneOf(az, region) {
		return Name{}, false
	}
	n.Zonal = az
	if lead == "" {
		return n, true
	}
	if svc != "s3" {
		return Name{}, false // AWS documents only the bare names of Outposts endpoints
	}
	lead, n.EndpointLabel = cutLast(lead)
	switch n.EndpointLabel {
	case "bucket":
		return withBucket(n, lead)
	case "accesspoint":
		// An access point's bucket-style alias stands where NAME-ACCOUNT
		// would, with virtual-hosted addressing (S3 User Guide, PrivateLink,
		// "Method 3").
		if strings.HasSuffix(lead, "-s3alias") && isLabel(lead) {
			n.Alias = lead
			return n, true
		}
		return withAccessPoint(n, lead)
	case "control":
		if isAccount(lead) {
			n.Account = lead
			return n, true
		}
		// An S3 client pointed at the control. name puts the bucket in
		// front (botocore endpoint tests: bucket-name.control.vpce-...).
		return withBucket(n, lead)
	}
	return Name{}, false
}

// withBucket records lead, if any, as the bucket in front of n.
func withBucket(n Name, lead string) (Name, bool) {
	if lead != "" && !IsBucket(lead) {
		return Name{}, false
	}
	n.Bucket = lead
	return n, true
}

// withAccessPoint records lead, if any, as the NAME-ACCOUNT of an access
// point in front of n.
func withAccessPoint(n Name, lead string) (Name, bool) {
	if lead == "" {
		return n, true
	}
	i := strings.LastIndexByte(lead, '-')
	if i < 1 || !isAccount(lead[i+1:]) || !isLabel(lead[:i]) {
		return Name{}, false
	}
	n.AccessPoint, n.Account = lead[:i], lead[i+1:]
	return n, true
}

// cutLast splits s at its last dot: "a.b.c" -> "a.b", "c"; "c" -> "", "c".
func cutLast(s string) (rest, last string) {
	i := strings.LastIndexByte(s, '.')
	if i < 0 {
		return "", s
	}
	return s[:i], s[i+1:]
}

// IsRegion reports whether s looks like an AWS region code: a two-letter
// area (or eusc, the European Sovereign Cloud's), one or more words, and a
// number of one or two digits ("ap-south-1", "us-gov-west-1",
// "us-isob-east-1", "eusc-de-east-1"). It goes by shape, not by a list, so
// that a region launched after this code was written still counts.
func IsRegion(s string) bool {
	i := strings.LastIndexByte(s, '-')
	if i < 0 || len(s)-i-1 > 2 || !isDigits(s[i+1:]) {
		return false
	}
	words := s[:i]
	area, more, ok := strings.Cut(words, "-")
	if !ok || len(area) != 2 && area != "eusc" || more == "" {
		return false
	}
	prev := byte('-')
	for j := 0; j < len(words); j++ {
		c := words[j]
		if c == '-' && prev == '-' || c != '-' && (c < 'a' || c > 'z') {
			return false
		}
		prev = c
	}
	return prev != '-'
}

// regionPartitions are the region prefixes of the partitions other than
// aws (botocore partitions.json, regionRegex).
var regionPartitions = [...]struct{ prefix, partition string }{
	{"cn-", "aws-cn"},
	{"us-gov-", "aws-us-gov"},
	{"us-iso-", "aws-iso"},
	{"us-isob-", "aws-iso-b"},
	{"us-isof-", "aws-iso-f"},
	{"eu-isoe-", "aws-iso-e"},
	{"eusc-", "aws-eusc"},
}

// partitionOf returns the partition of region, provided its DNS suffix is
// the one of suffixPartition. A region of no other partition is in aws, as
// the SDKs assume. GovCloud (aws-us-gov) shares the DNS suffixes of aws.
func partitionOf(region, suffixPartition string) (string, bool) {
	if !IsRegion(region) {
		return "", false
	}
	p := "aws"
	for _, r := range regionPartitions {
		if strings.HasPrefix(region, r.prefix) {
			p = r.partition
			break
		}
	}
	return p, p == suffixPartition || p == "aws-us-gov" && suffixPartition == "aws"
}

// isZoneOf reports whether az is an availability zone of region: the
// region and a letter ("ap-south-1a").
func isZoneOf(az, region string) bool {
	return len(az) == len(region)+1 && strings.HasPrefix(az, region) && 'a' <= az[len(region)] && az[len(region)] <= 'z'
}

// isZoneID reports whether s is a zone ID: words of letters and digits
// joined by '-', at least two ("use1-az4", "use1-atl2-az1").
func isZoneID(s string) bool {
	first, rest, ok := strings.Cut(s, "-")
	for ok && isAlnum(first) {
		first, rest, ok = strings.Cut(rest, "-")
	}
	return !ok && isAlnum(first) && len(first) < len(s)
}

// IsBucket reports whether s can be a bucket in a host name: dot-separated
// non-empty labels of lowercase letters, digits, '-' and '_' (legacy
// us-east-1 buckets may hold '_'), each at most 63 long.
func IsBucket(s string) bool {
	label := 0
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '.':
			if label == 0 {
				return false
			}
			label = 0
			continue
		case !('a' <= c && c <= 'z' || '0' <= c && c <= '9' || c == '-' || c == '_'):
			return false
		}
		if label++; label > 63 {
			return false
		}
	}
	return label > 0
}

// isLabels reports whether s is one or more dot-separated host labels.
func isLabels(s string) bool {
	for {
		label, rest, more := strings.Cut(s, ".")
		if !isLabel(label) {
			return false
		}
		if !more {
			return true
		}
		s = rest
	}
}

// isLabel reports whether s is a host label: letters, digits and '-', not
// at either end.
func isLabel(s string) bool {
	if s == "" || len(s) > 63 || s[0] == '-' || s[len(s)-1] == '-' {
		return false
	}
	for i := 0; i < len(s); i++ {
		if c := s[i]; !('a' <= c && c <= 'z' || '0' <= c && c <= '9' || c == '-') {
			return false
		}
	}
	return true
}

// IsEndpointID reports whether s is a VPC endpoint ID: vpce- and 8 or 17
// hexadecimal digits.
func IsEndpointID(s string) bool {
	id, ok := strings.CutPrefix(s, "vpce-")
	if !ok || len(id) != 8 && len(id) != 17 {
		return false
	}
	for i := 0; i < len(id); i++ {
		if c := id[i]; !('0' <= c && c <= '9' || 'a' <= c && c <= 'f') {
			return false
		}
	}
	return true
}

func isAccount(s string) bool { return len(s) == 12 && isDigits(s) }

func isDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return s != ""
}

func isAlnum(s string) bool {
	for i := 0; i < len(s); i++ {
		if c := s[i]; !('0' <= c && c <= '9' || 'a' <= c && c <= 'z') {
			return false
		}
	}
	return s != ""
}
