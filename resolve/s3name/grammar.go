package s3name

import "strings"

// suffixes are the DNS suffixes of the AWS partitions (botocore
// partitions.json: dnsSuffix, then dualStackDnsSuffix). S3 builds every
// name on dnsSuffix; only the S3 on Outposts management API also has names
// on dualStackDnsSuffix (api).
var suffixes = [...]struct {
	suffix    string
	partition string
	api       bool
}{
	{".amazonaws.com", "aws", false}, // also aws-us-gov: the region tells
	{".amazonaws.com.cn", "aws-cn", false},
	{".amazonaws.eu", "aws-eusc", false},
	{".c2s.ic.gov", "aws-iso", false},
	{".sc2s.sgov.gov", "aws-iso-b", false},
	{".cloud.adc-e.uk", "aws-iso-e", false},
	{".csp.hci.ic.gov", "aws-iso-f", false},
	{".api.aws", "aws", true},
	{".api.amazonwebservices.com.cn", "aws-cn", true},
	{".api.amazonwebservices.eu", "aws-eusc", true},
	{".api.aws.ic.gov", "aws-iso", true},
	{".api.aws.scloud", "aws-iso-b", true},
	{".api.cloud-aws.adc-e.uk", "aws-iso-e", true},
	{".api.aws.hci.ic.gov", "aws-iso-f", true},
}

// hostChars classifies the bytes of a host name for normalize: one table
// look-up per byte, since normalize reads every byte of every name.
var hostChars = func() (t [256]byte) {
	for c := 'a'; c <= 'z'; c++ {
		t[c] = lower
		t[c-'a'+'A'] = upper
	}
	for c := '0'; c <= '9'; c++ {
		t[c] = lower
	}
	t['-'], t['_'], t['.'] = lower, lower, dot
	return t
}()

// The classes of hostChars; 0 is a byte no host name holds.
const (
	lower = 1 + iota // needs no change: a-z, 0-9, '-', '_'
	upper
	dot
)

// hasSuffixFold reports whether s ends in suffix, in any case; suffix is in
// lower case. Setting the 0x20 bit lower-cases a letter; the other bytes it
// could confuse with the suffix's are control bytes, which normalize then
// refuses. It compares from the end, where names differ first.
func hasSuffixFold(s, suffix string) bool {
	if len(s) < len(suffix) {
		return false
	}
	s = s[len(s)-len(suffix):]
	for i := len(suffix) - 1; i >= 0; i-- {
		if s[i]|0x20 != suffix[i] {
			return false
		}
	}
	return true
}

// normalize checks that name, without its trailing dot, is a host name
// (labels of 1 to 63 letters, digits, '-' or '_', at most 253 characters)
// and returns it in lower case. It copies the name only when it has
// capitals.
func normalize(name string) (string, bool) {
	if name == "" || len(name) > 253 {
		return "", false
	}
	capitals := false
	start := 0 // of the current label
	for i := 0; i < len(name); i++ {
		class := hostChars[name[i]]
		if class == lower {
			continue
		}
		switch class {
		case dot:
			if n := i - start; n == 0 || n > 63 {
				return "", false
			}
			start = i + 1
		case upper:
			capitals = true
		default:
			return "", false
		}
	}
	if n := len(name) - start; n == 0 || n > 63 {
		return "", false
	}
	if capitals {
		name = strings.ToLower(name)
	}
	return name, true
}

// parseRest parses what precedes a partition's DNS suffix into n. The
// parse functions fill in n, which is large, rather than return it, so
// that a name is not copied at each step.
func (n *Name) parseRest(rest, partition string) bool {
	if r, ok := strings.CutSuffix(rest, ".vpce"); ok {
		return n.parseEndpoint(r, partition)
	}
	lead, last := cutLast(rest)
	n.Partition = partition
	// The global names exist only in the aws partition: the SDK rules reject
	// Transfer Acceleration elsewhere and build s3.amazonaws.com for
	// aws-global alone.
	global := partition == "aws"
	switch {
	case last == "s3" && global:
		n.Kind, n.Global = LegacyGlobal, true
		return n.withBucket(lead)
	case last == "s3-external-1" && global:
		n.Kind, n.Region = LegacyRegional, "us-east-1"
		return n.withBucket(lead)
	case last == "s3-accelerate" && global:
		n.Kind, n.Global = Accelerate, true
		return n.withBucket(lead)
	case last == "dualstack" && global:
		lead, last = cutLast(lead)
		n.Kind, n.Global, n.Dualstack = Accelerate, true, true
		return last == "s3-accelerate" && n.withBucket(lead)
	case last == "s3-global":
		lead, last = cutLast(lead)
		n.Kind, n.Global, n.Alias = MRAP, true, lead
		return last == "accesspoint" && (lead == "" || isLabels(lead))
	case strings.HasPrefix(last, "s3-website-"):
		n.Kind, n.Region = Website, last[len("s3-website-"):]
	case strings.HasPrefix(last, "s3-fips-"):
		n.Kind, n.Region, n.FIPS = LegacyRegional, last[len("s3-fips-"):], true
	case strings.HasPrefix(last, "s3-"):
		n.Kind, n.Region = LegacyRegional, last[len("s3-"):]
	default:
		return n.parseRegional(lead, last)
	}
	var ok bool
	n.Partition, ok = partitionOf(n.Region, partition)
	return ok && n.withBucket(lead)
}

// parseRegional parses LEAD.SERVICE[.dualstack].REGION, the names most S3
// front doors have.
func (n *Name) parseRegional(lead, region string) bool {
	var ok bool
	if n.Partition, ok = partitionOf(region, n.Partition); !ok {
		return false
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
		n.Kind, n.Region, n.Global = Accelerate, "", true
		return n.Dualstack && !n.FIPS && region == "us-east-1" && n.withBucket(lead)
	case "s3":
		n.Kind = Regional
		if lead == "" {
			return true
		}
		n.Kind = VirtualHosted
		return n.withBucket(lead)
	case "s3-control":
		n.Kind, n.Account = Control, lead
		return lead == "" || isAccount(lead)
	case "s3-accesspoint":
		n.Kind = AccessPoint
		return n.withAccessPoint(lead)
	case "s3-object-lambda":
		n.Kind = ObjectLambda
		if n.Dualstack {
			return false
		}
		if n.withAccessPoint(lead) {
			return true
		}
		n.Route = lead
		return isLabel(lead)
	case "s3-outposts":
		switch {
		case n.Dualstack:
			return false // its dual-stack names end in .api.aws
		case lead == "":
			n.Kind = OutpostsControl
			return true
		case n.FIPS:
			return false // the rule sets build no FIPS data names
		}
		return n.parseOutposts(lead)
	case "s3-website":
		n.Kind = Website
		return !n.Dualstack && !n.FIPS && n.withBucket(lead)
	case "s3express-control", "s3express-control-dualstack":
		// The second spelling is the one the S3 User Guide's table of
		// directory bucket endpoints gives; the SDK rules build
		// s3express-control.dualstack.REGION.
		n.Kind = ExpressControl
		if svc == "s3express-control-dualstack" {
			if n.Dualstack {
				return false
			}
			n.Dualstack = true
		}
		return lead == ""
	}
	az, ok := strings.CutPrefix(svc, "s3express-")
	if !ok || n.FIPS {
		return false // the FIPS zonal names are s3express-fips-AZID
	}
	az, n.FIPS = strings.CutPrefix(az, "fips-")
	n.Kind, n.AZID = Express, az
	switch {
	case !isZoneID(az):
		return false
	case lead == "":
		return true
	case strings.HasSuffix(lead, "--xa-s3"):
		n.AccessPoint = lead
	default:
		n.Bucket = lead
	}
	return true
}

// parseOutposts parses the LEAD of LEAD.s3-outposts.REGION...: an access
// point (NAME-ACCOUNT) or a bucket alias (...--op-s3) in front of the
// Outpost's ID, or of "ec2" in the names the SDK rules build for Outposts
// of hardware type "e".
func (n *Name) parseOutposts(lead string) bool {
	lead, id := cutLast(lead)
	if id != "ec2" && !(strings.HasPrefix(id, "op-") && isAlnum(id[len("op-"):])) {
		return false
	}
	n.Kind, n.OutpostID = Outposts, id
	if strings.HasSuffix(lead, "--op-s3") && isLabel(lead) {
		n.Alias = lead
		return true
	}
	return lead != "" && n.withAccessPoint(lead)
}

// parseDualstackAPI parses what precedes a partition's dual-stack suffix
// (api.aws): only s3-outposts[-fips].REGION is an S3 name there.
func (n *Name) parseDualstackAPI(rest, partition string) bool {
	svc, region, _ := strings.Cut(rest, ".")
	n.Kind, n.Region, n.Dualstack = OutpostsControl, region, true
	svc, n.FIPS = strings.CutSuffix(svc, "-fips")
	var ok bool
	n.Partition, ok = partitionOf(region, partition)
	return ok && svc == "s3-outposts"
}

// parseEndpoint parses what precedes ".vpce.SUFFIX":
// [LEAD.][LABEL.]vpce-ID-SUFFIX[-AZ].SERVICE.REGION.
func (n *Name) parseEndpoint(rest, partition string) bool {
	rest, region := cutLast(rest)
	rest, svc := cutLast(rest)
	lead, vpce := cutLast(rest)
	if svc != "s3" && svc != "s3-outposts" {
		return false
	}
	var ok bool
	if n.Partition, ok = partitionOf(region, partition); !ok {
		return false
	}
	n.Kind, n.Region, n.Service = Endpoint, region, svc
	i := strings.IndexByte(vpce[min(len(vpce), len("vpce-")):], '-') + len("vpce-")
	if i < len("vpce-") || !IsEndpointID(vpce[:i]) {
		return false
	}
	n.EndpointID = vpce[:i]
	suffix, az, zonal := strings.Cut(vpce[i+1:], "-")
	if !isAlnum(suffix) || zonal && !isZoneOf(az, region) {
		return false
	}
	n.Zonal = az
	if lead == "" {
		return true
	}
	if svc != "s3" {
		return false // AWS documents only the bare names of Outposts endpoints
	}
	lead, n.EndpointLabel = cutLast(lead)
	switch n.EndpointLabel {
	case "bucket":
		return n.withBucket(lead)
	case "accesspoint":
		// An access point's bucket-style alias stands where NAME-ACCOUNT
		// would, with virtual-hosted addressing (S3 User Guide, PrivateLink,
		// "Method 3").
		if strings.HasSuffix(lead, "-s3alias") && isLabel(lead) {
			n.Alias = lead
			return true
		}
		return n.withAccessPoint(lead)
	case "control":
		if isAccount(lead) {
			n.Account = lead
			return true
		}
		// An S3 client pointed at the control. name puts the bucket in
		// front (botocore endpoint tests: bucket-name.control.vpce-...).
		return n.withBucket(lead)
	}
	return false
}

// withBucket records lead, if any, as the bucket in front of n. It cannot
// fail: lead is whole labels of a name that normalize accepted, and so
// already what IsBucket wants.
func (n *Name) withBucket(lead string) bool {
	n.Bucket = lead
	return true
}

// withAccessPoint records lead, if any, as the NAME-ACCOUNT of an access
// point in front of n.
func (n *Name) withAccessPoint(lead string) bool {
	if lead == "" {
		return true
	}
	i := strings.LastIndexByte(lead, '-')
	if i < 1 || !isAccount(lead[i+1:]) || !isLabel(lead[:i]) {
		return false
	}
	n.AccessPoint, n.Account = lead[:i], lead[i+1:]
	return true
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
	words, word, digits := 0, 0, 0 // words done, letters in this word, digits at the end
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case 'a' <= c && c <= 'z':
			if digits > 0 {
				return false
			}
			word++
		case '0' <= c && c <= '9':
			if word > 0 || words < 2 {
				return false
			}
			digits++
		case c == '-':
			if word == 0 || words == 0 && word != 2 && s[:i] != "eusc" {
				return false
			}
			words, word = words+1, 0
		default:
			return false
		}
	}
	return 1 <= digits && digits <= 2
}

// partitionOf returns the partition of region, provided its DNS suffix is
// the one of suffixPartition. The region patterns come from botocore
// partitions.json (regionRegex); a region of no other partition is in aws,
// as the SDKs assume. GovCloud (aws-us-gov) shares the DNS suffixes of aws.
func partitionOf(region, suffixPartition string) (string, bool) {
	if !IsRegion(region) {
		return "", false
	}
	p := "aws"
	area, rest, _ := strings.Cut(region, "-")
	word, _, _ := strings.Cut(rest, "-")
	switch {
	case area == "cn":
		p = "aws-cn"
	case area == "eusc":
		p = "aws-eusc"
	case area == "us" && word == "gov":
		p = "aws-us-gov"
	case area == "us" && word == "iso":
		p = "aws-iso"
	case area == "us" && word == "isob":
		p = "aws-iso-b"
	case area == "us" && word == "isof":
		p = "aws-iso-f"
	case area == "eu" && word == "isoe":
		p = "aws-iso-e"
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
