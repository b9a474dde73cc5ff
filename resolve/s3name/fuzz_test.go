package s3name

import (
	"strings"
	"testing"
)

func FuzzParse(f *testing.F) {
	for _, s := range []string{
		"s3.ap-south-1.amazonaws.com",
		"my.bucket.s3.dualstack.eu-west-1.amazonaws.com.",
		"finance-ap-123456789012.s3-accesspoint.ap-south-1.amazonaws.com",
		"x.bucket.vpce-0a1b2c3d4e5f67890-9hnenorg-ap-south-1a.s3.ap-south-1.vpce.amazonaws.com",
		"vpce-1a2b3c4d-5e6f.s3-outposts.us-east-1.vpce.amazonaws.com",
		"s3-external-1.amazonaws.com",
		"s3.cn-north-1.amazonaws.com.cn",
		"s3-fake.amazonaws.com.evil.com",
		"my-bucket.s3-accelerate.dualstack.amazonaws.com",
		"mfzwi23gnjvgw.mrap.accesspoint.s3-global.amazonaws.com",
		"bucket--aps1-az1--x-s3.s3express-fips-aps1-az1.dualstack.ap-south-1.amazonaws.com",
		"s3express-control.ap-south-1.amazonaws.com",
		"io-use1-001.s3-object-lambda.us-east-1.amazonaws.com",
		"ap-123456789012.op-01234567890123456.s3-outposts.us-east-1.amazonaws.com",
		"s3-outposts-fips.us-gov-east-1.api.aws",
		"site.s3-website-us-east-1.amazonaws.com",
		"s3-fips.dualstack.us-isob-east-1.sc2s.sgov.gov",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, name string) {
		n, ok := Parse(name)
		if !ok {
			if n != (Name{}) {
				t.Fatalf("rejected but returned %+v", n)
			}
			return
		}
		lower := strings.ToLower(strings.TrimSuffix(name, "."))
		inAWS := false
		for _, p := range suffixes {
			inAWS = inAWS || strings.HasSuffix(lower, p.suffix)
		}
		if !inAWS {
			t.Fatalf("accepted %q, which is under no AWS partition's suffix", name)
		}
		if n.Kind == "" || n.Partition == "" || n.Global != (n.Region == "") {
			t.Fatalf("%q: inconsistent %+v", name, n)
		}
		region := n.Region
		if strings.HasPrefix(lower, "s3-external-1.") || strings.Contains(lower, ".s3-external-1.") {
			region = "" // the one name whose region is implied
		}
		for _, part := range []string{region, n.Bucket, n.AccessPoint, n.Account, n.Alias, n.Route, n.OutpostID, n.AZID, n.EndpointID, n.EndpointLabel, n.Zonal, n.Service} {
			if !strings.Contains(lower, part) {
				t.Fatalf("%q: %q is not part of the name (%+v)", name, part, n)
			}
		}
		if (n.EndpointID != "") != (n.Kind == Endpoint) {
			t.Fatalf("%q: endpoint ID %q with kind %s", name, n.EndpointID, n.Kind)
		}
		if svc := n.EndpointService(); n.FIPS && svc != "" {
			t.Fatalf("%q: FIPS name served by %s", name, svc)
		}
		// Case and the trailing dot do not matter.
		for _, again := range []string{strings.ToUpper(name), strings.TrimSuffix(name, ".") + "."} {
			if m, ok := Parse(again); !ok || m != n {
				t.Fatalf("%q parses as %+v, %v; want %+v", again, m, ok, n)
			}
		}
	})
}
