package resolve

import "strings"

// S3Kind is the family of an S3 host name. The set is closed; FIPS and
// dual-stack variants are flags on S3Name, not kinds of their own.
type S3Kind string

// The S3 name families, with the names each covers (REGION as in
// "ap-south-1"; every name also exists under amazonaws.com.cn for the China
// regions, except the legacy global ones).
const (
	// S3Regional is the path-style regional name: s3.REGION.amazonaws.com,
	// s3.dualstack.REGION..., s3-fips.REGION..., s3-fips.dualstack.REGION...
	S3Regional S3Kind = "regional"
	// S3VirtualHosted is a bucket in front of a regional name:
	// BUCKET.s3.REGION.amazonaws.com, BUCKET.s3.dualstack.REGION..., BUCKET.s3-fips.REGION...
	S3VirtualHosted S3Kind = "virtual-hosted"
	// S3Control is the S3 Control API: [ACCOUNT.]s3-control[-fips][.dualstack].REGION...
	S3Control S3Kind = "control"
	// S3AccessPoint is an access point: [NAME-ACCOUNT.]s3-accesspoint[-fips][.dualstack].REGION...
	S3AccessPoint S3Kind = "accesspoint"
	// S3LegacyGlobal is [BUCKET.]s3.amazonaws.com, which PrivateLink does not serve.
	S3LegacyGlobal S3Kind = "legacy-global"
	// S3LegacyRegional is [BUCKET.]s3-REGION.amazonaws.com, [BUCKET.]s3-fips-REGION.amazonaws.com
	// and s3-external-1.amazonaws.com (us-east-1).
	S3LegacyRegional S3Kind = "legacy-regional"
	// S3Website is a static website endpoint: BUCKET.s3-website-REGION.amazonaws.com or
	// BUCKET.s3-website.REGION.amazonaws.com (HTTP only; not served by PrivateLink).
	S3Website S3Kind = "website"
	// S3Endpoint is an interface endpoint's own name:
	// [LABEL.]vpce-ID-SUFFIX[-AZ].s3.REGION.vpce.amazonaws.com, where LABEL is
	// "bucket", "accesspoint" or "control", optionally preceded by a bucket
	// (BUCKET.bucket.), an access point (NAME-ACCOUNT.accesspoint.) or an
	// account (ACCOUNT.control.). These names resolve to the endpoint's
	// private addresses from anywhere.
	S3Endpoint S3Kind = "endpoint"
)

// S3Name is what an S3 host name says about itself.
type S3Name struct {
	Kind   S3Kind
	Region string // "" for the legacy global names

	Bucket      string // when the name carries one
	AccessPoint string // access point name, for NAME-ACCOUNT.s3-accesspoint... and NAME-ACCOUNT.accesspoint.vpce-...
	Account     string // 12-digit account ID in control and access point names

	EndpointID    string // "vpce-0a1b2c3d4e5f67890", for S3Endpoint
	EndpointLabel string // "bucket", "accesspoint", "control", or "" for a bare vpce- name
	Zonal         string // the availability zone of a zonal endpoint name, e.g. "ap-south-1a"

	Dualstack bool // a .dualstack. name (A and AAAA records)
	FIPS      bool // a -fips name (not served by PrivateLink)
	// Global marks s3.amazonaws.com and BUCKET.s3.amazonaws.com: PrivateLink
	// does not serve them, so such traffic never uses an interface endpoint.
	Global bool
}

// ParseS3Name recognises an S3 host name (a DNS name or a TLS server name).
// Matching is case-insensitive and a trailing dot is allowed. It reports
// false for anything else, including look-alikes such as s3.example.com,
// s3-fake.amazonaws.com or s3.amazonaws.com.evil.com.
func ParseS3Name(name string) (S3Name, bool) {
	name = strings.TrimSuffix(name, ".")
	if name == "" || len(name) > 253 || name[0] == '.' || strings.Contains(name, "..") {
		return S3Name{}, false
	}
	name = strings.ToLower(name)
	rest, ok := strings.CutSuffix(name, ".amazonaws.com")
	china := false
	if !ok {
		if rest, ok = strings.CutSuffix(name, ".amazonaws.com.cn"); !ok {
			return S3Name{}, false
		}
		china = true
	}
	if rest, ok := strings.CutSuffix(rest, ".vpce"); ok {
		return parseEndpointName(rest)
	}

	lead, last := cutLast(rest)
	var n S3Name
	switch {
	case last == "s3" && !china:
		n = S3Name{Kind: S3LegacyGlobal, Global: true}
	case last == "s3-external-1" && !china:
		n = S3Name{Kind: S3LegacyRegional, Region: "us-east-1"}
	case strings.HasPrefix(last, "s3-website-") && isRegion(last[len("s3-website-"):]):
		n = S3Name{Kind: S3Website, Region: last[len("s3-website-"):]}
	case strings.HasPrefix(last, "s3-fips-") && isRegion(last[len("s3-fips-"):]):
		n = S3Name{Kind: S3LegacyRegional, Region: last[len("s3-fips-"):], FIPS: true}
	case strings.HasPrefix(last, "s3-") && isRegion(last[len("s3-"):]):
		n = S3Name{Kind: S3LegacyRegional, Region: last[len("s3-"):]}
	case isRegion(last):
		n.Region = last
		var svc string
		lead, svc = cutLast(lead)
		if svc == "dualstack" {
			n.Dualstack = true
			lead, svc = cutLast(lead)
		}
		if base, ok := strings.CutSuffix(svc, "-fips"); ok {
			n.FIPS = true
			svc = base
		}
		switch svc {
		case "s3":
			n.Kind = S3Regional
		case "s3-control":
			n.Kind = S3Control
		case "s3-accesspoint":
			n.Kind = S3AccessPoint
		case "s3-website":
			if n.Dualstack || n.FIPS {
				return S3Name{}, false
			}
			n.Kind = S3Website
		default:
			return S3Name{}, false
		}
	default:
		return S3Name{}, false
	}
	if lead == "" {
		return n, true
	}
	switch n.Kind {
	case S3Control:
		if !isAccount(lead) {
			return S3Name{}, false
		}
		n.Account = lead
	case S3AccessPoint:
		if n.AccessPoint, n.Account, ok = cutAccessPoint(lead); !ok {
			return S3Name{}, false
		}
	default:
		if !isBucket(lead) {
			return S3Name{}, false
		}
		n.Bucket = lead
		if n.Kind == S3Regional {
			n.Kind = S3VirtualHosted
		}
	}
	return n, true
}

// parseEndpointName parses what precedes ".vpce.amazonaws.com":
// [LEAD.]vpce-ID-SUFFIX[-AZ].s3.REGION.
func parseEndpointName(rest string) (S3Name, bool) {
	rest, region := cutLast(rest)
	rest, svc := cutLast(rest)
	lead, vpce := cutLast(rest)
	if !isRegion(region) || svc != "s3" {
		return S3Name{}, false
	}
	n := S3Name{Kind: S3Endpoint, Region: region}
	id, tail, ok := strings.Cut(strings.TrimPrefix(vpce, "vpce-"), "-")
	if !ok || !strings.HasPrefix(vpce, "vpce-") || len(id) < 8 || len(id) > 17 || !isHex(id) {
		return S3Name{}, false
	}
	n.EndpointID = "vpce-" + id
	suffix, az, zonal := strings.Cut(tail, "-")
	if !isAlnum(suffix) || zonal && !isZone(az) {
		return S3Name{}, false
	}
	n.Zonal = az

	lead, label := cutLast(lead)
	n.EndpointLabel = label
	switch {
	case label == "" && lead == "":
	case label == "bucket":
		if lead != "" {
			if !isBucket(lead) {
				return S3Name{}, false
			}
			n.Bucket = lead
		}
	case label == "accesspoint":
		if lead != "" {
			if n.AccessPoint, n.Account, ok = cutAccessPoint(lead); !ok {
				return S3Name{}, false
			}
		}
	case label == "control":
		if lead != "" {
			if !isAccount(lead) {
				return S3Name{}, false
			}
			n.Account = lead
		}
	default:
		return S3Name{}, false
	}
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

// isRegion reports whether s looks like an AWS region code: a two-letter
// area, one or more words, and a number ("ap-south-1", "us-gov-west-1",
// "us-isob-east-1").
func isRegion(s string) bool {
	i := strings.LastIndexByte(s, '-')
	if i < 0 || len(s)-i-1 > 2 || !isDigits(s[i+1:]) {
		return false
	}
	words := s[:i]
	if len(words) < 5 || words[2] != '-' {
		return false
	}
	prev := byte('-')
	for j := 0; j < len(words); j++ {
		c := words[j]
		switch {
		case c == '-' && prev == '-':
			return false
		case c != '-' && (c < 'a' || c > 'z'):
			return false
		}
		prev = c
	}
	return prev != '-'
}

// isZone reports whether s is an availability zone name: a region and a letter.
func isZone(s string) bool {
	return len(s) > 1 && 'a' <= s[len(s)-1] && s[len(s)-1] <= 'z' && isRegion(s[:len(s)-1])
}

// isBucket reports whether s can be a bucket in a host name: dot-separated
// non-empty labels of lowercase letters, digits, '-' and '_' (legacy
// us-east-1 buckets may hold '_').
func isBucket(s string) bool {
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

func isAccount(s string) bool { return len(s) == 12 && isDigits(s) }

// cutAccessPoint splits NAME-ACCOUNT, the first label of access point names.
func cutAccessPoint(s string) (name, account string, ok bool) {
	i := strings.LastIndexByte(s, '-')
	if i < 1 || !isAccount(s[i+1:]) || strings.Contains(s, ".") || !isBucket(s[:i]) {
		return "", "", false
	}
	return s[:i], s[i+1:], true
}

func isDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return s != ""
}

func isHex(s string) bool {
	for i := 0; i < len(s); i++ {
		if !('0' <= s[i] && s[i] <= '9' || 'a' <= s[i] && s[i] <= 'f') {
			return false
		}
	}
	return s != ""
}

func isAlnum(s string) bool {
	for i := 0; i < len(s); i++ {
		if !('0' <= s[i] && s[i] <= '9' || 'a' <= s[i] && s[i] <= 'z') {
			return false
		}
	}
	return s != ""
}
