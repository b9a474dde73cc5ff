package resolve

import (
	"strings"
	"testing"
)

func TestParseS3Name(t *testing.T) {
	tests := []struct {
		name string
		want S3Name
	}{
		{"s3.ap-south-1.amazonaws.com", S3Name{Kind: S3Regional, Region: "ap-south-1"}},
		{"S3.AP-SOUTH-1.AMAZONAWS.COM.", S3Name{Kind: S3Regional, Region: "ap-south-1"}},
		{"my-bucket.s3.ap-south-1.amazonaws.com", S3Name{Kind: S3VirtualHosted, Region: "ap-south-1", Bucket: "my-bucket"}},
		{"logs.example.com.s3.eu-central-1.amazonaws.com", S3Name{Kind: S3VirtualHosted, Region: "eu-central-1", Bucket: "logs.example.com"}},
		{"s3.backup.s3.us-east-1.amazonaws.com", S3Name{Kind: S3VirtualHosted, Region: "us-east-1", Bucket: "s3.backup"}},
		{"s3.dualstack.ap-south-1.amazonaws.com", S3Name{Kind: S3Regional, Region: "ap-south-1", Dualstack: true}},
		{"my-bucket.s3.dualstack.ap-south-1.amazonaws.com", S3Name{Kind: S3VirtualHosted, Region: "ap-south-1", Bucket: "my-bucket", Dualstack: true}},
		{"s3-fips.us-east-1.amazonaws.com", S3Name{Kind: S3Regional, Region: "us-east-1", FIPS: true}},
		{"b.s3-fips.dualstack.us-gov-west-1.amazonaws.com", S3Name{Kind: S3VirtualHosted, Region: "us-gov-west-1", Bucket: "b", FIPS: true, Dualstack: true}},
		{"s3-fips-us-gov-west-1.amazonaws.com", S3Name{Kind: S3LegacyRegional, Region: "us-gov-west-1", FIPS: true}},
		{"s3-control.ap-south-1.amazonaws.com", S3Name{Kind: S3Control, Region: "ap-south-1"}},
		{"123456789012.s3-control.ap-south-1.amazonaws.com", S3Name{Kind: S3Control, Region: "ap-south-1", Account: "123456789012"}},
		{"123456789012.s3-control-fips.dualstack.us-east-1.amazonaws.com", S3Name{Kind: S3Control, Region: "us-east-1", Account: "123456789012", FIPS: true, Dualstack: true}},
		{"s3-accesspoint.ap-south-1.amazonaws.com", S3Name{Kind: S3AccessPoint, Region: "ap-south-1"}},
		{"finance-ap-123456789012.s3-accesspoint.ap-south-1.amazonaws.com", S3Name{Kind: S3AccessPoint, Region: "ap-south-1", AccessPoint: "finance-ap", Account: "123456789012"}},
		{"s3-accesspoint.dualstack.eu-west-1.amazonaws.com", S3Name{Kind: S3AccessPoint, Region: "eu-west-1", Dualstack: true}},
		{"s3.amazonaws.com", S3Name{Kind: S3LegacyGlobal, Global: true}},
		{"my.bucket.s3.amazonaws.com", S3Name{Kind: S3LegacyGlobal, Bucket: "my.bucket", Global: true}},
		{"s3-ap-south-1.amazonaws.com", S3Name{Kind: S3LegacyRegional, Region: "ap-south-1"}},
		{"my-bucket.s3-eu-west-1.amazonaws.com", S3Name{Kind: S3LegacyRegional, Region: "eu-west-1", Bucket: "my-bucket"}},
		{"s3-external-1.amazonaws.com", S3Name{Kind: S3LegacyRegional, Region: "us-east-1"}},
		{"site.s3-website-us-east-1.amazonaws.com", S3Name{Kind: S3Website, Region: "us-east-1", Bucket: "site"}},
		{"site.s3-website.eu-central-1.amazonaws.com", S3Name{Kind: S3Website, Region: "eu-central-1", Bucket: "site"}},
		{"s3.cn-north-1.amazonaws.com.cn", S3Name{Kind: S3Regional, Region: "cn-north-1"}},
		{"b.s3.dualstack.cn-northwest-1.amazonaws.com.cn", S3Name{Kind: S3VirtualHosted, Region: "cn-northwest-1", Bucket: "b", Dualstack: true}},
		{"bucket.vpce-0a1b2c3d4e5f67890-9hnenorg.s3.ap-south-1.vpce.amazonaws.com",
			S3Name{Kind: S3Endpoint, Region: "ap-south-1", EndpointID: "vpce-0a1b2c3d4e5f67890", EndpointLabel: "bucket"}},
		{"my-bucket.bucket.vpce-0a1b2c3d4e5f67890-9hnenorg.s3.ap-south-1.vpce.amazonaws.com",
			S3Name{Kind: S3Endpoint, Region: "ap-south-1", EndpointID: "vpce-0a1b2c3d4e5f67890", EndpointLabel: "bucket", Bucket: "my-bucket"}},
		{"bucket.vpce-0a1b2c3d4e5f67890-9hnenorg-ap-south-1a.s3.ap-south-1.vpce.amazonaws.com",
			S3Name{Kind: S3Endpoint, Region: "ap-south-1", EndpointID: "vpce-0a1b2c3d4e5f67890", EndpointLabel: "bucket", Zonal: "ap-south-1a"}},
		{"accesspoint.vpce-1a2b3c4d-5e6f.s3.us-east-1.vpce.amazonaws.com",
			S3Name{Kind: S3Endpoint, Region: "us-east-1", EndpointID: "vpce-1a2b3c4d", EndpointLabel: "accesspoint"}},
		{"finance-ap-123456789012.accesspoint.vpce-1a2b3c4d-5e6f.s3.us-east-1.vpce.amazonaws.com",
			S3Name{Kind: S3Endpoint, Region: "us-east-1", EndpointID: "vpce-1a2b3c4d", EndpointLabel: "accesspoint", AccessPoint: "finance-ap", Account: "123456789012"}},
		{"control.vpce-0e25b8cdd720f900e-argc85vg.s3.us-east-1.vpce.amazonaws.com",
			S3Name{Kind: S3Endpoint, Region: "us-east-1", EndpointID: "vpce-0e25b8cdd720f900e", EndpointLabel: "control"}},
		{"123456789012.control.vpce-0e25b8cdd720f900e-argc85vg.s3.us-east-1.vpce.amazonaws.com",
			S3Name{Kind: S3Endpoint, Region: "us-east-1", EndpointID: "vpce-0e25b8cdd720f900e", EndpointLabel: "control", Account: "123456789012"}},
		{"vpce-1a2b3c4d-5e6f.s3.us-east-1.vpce.amazonaws.com",
			S3Name{Kind: S3Endpoint, Region: "us-east-1", EndpointID: "vpce-1a2b3c4d"}},
		{"bucket.vpce-0a1b2c3d4e5f67890-9hnenorg.s3.cn-north-1.vpce.amazonaws.com.cn",
			S3Name{Kind: S3Endpoint, Region: "cn-north-1", EndpointID: "vpce-0a1b2c3d4e5f67890", EndpointLabel: "bucket"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, ok := ParseS3Name(tt.name)
			if !ok || got != tt.want {
				t.Fatalf("got %+v, %v\nwant %+v", got, ok, tt.want)
			}
		})
	}
}

func TestParseS3NameRejects(t *testing.T) {
	for _, name := range []string{
		"",
		".",
		"s3.example.com",
		"ec2.ap-south-1.amazonaws.com",
		"sts.amazonaws.com",
		"s3-fake.amazonaws.com",
		"s3-fake.amazonaws.com.evil.com",
		"s3.amazonaws.com.evil.com",
		"s3.ap-south-1.amazonaws.com.evil.com",
		"evil-s3.amazonaws.com",
		"amazonaws.com",
		"s3.amazonaws.com.cn",           // no global name in China
		"s3.ap-south.amazonaws.com",     // not a region
		"s3.a-south-1.amazonaws.com",    // not a region
		"s3.ap--south-1.amazonaws.com",  // not a region
		"s3.ap-south-123.amazonaws.com", // not a region
		"s3.dualstack.amazonaws.com",    // dual-stack names are regional
		"s3-control.amazonaws.com",      // control names are regional
		"bad_acct.s3-control.us-east-1.amazonaws.com",
		"12345.s3-control.us-east-1.amazonaws.com",
		"ap.s3-accesspoint.us-east-1.amazonaws.com", // no account
		"a..b.s3.us-east-1.amazonaws.com",
		"my bucket.s3.us-east-1.amazonaws.com",
		".s3.us-east-1.amazonaws.com",
		"s3-website.dualstack.us-east-1.amazonaws.com",
		"ec2.us-east-1.vpce.amazonaws.com",
		"bucket.vpce-0a1b2c3d4e5f67890-9hnenorg.ec2.ap-south-1.vpce.amazonaws.com",
		"bucket.vpce-xyz-9hnenorg.s3.ap-south-1.vpce.amazonaws.com",
		"bucket.vpce-0a1b2c3d4e5f67890.s3.ap-south-1.vpce.amazonaws.com", // no suffix
		"bucket.vpce-0a1b2c3d4e5f67890-9hnenorg-nowhere.s3.ap-south-1.vpce.amazonaws.com",
		"www.vpce-0a1b2c3d4e5f67890-9hnenorg.s3.ap-south-1.vpce.amazonaws.com",
		"s3.ap-south-1.amazonaws.com..",
		strings.Repeat("a", 240) + ".s3.us-east-1.amazonaws.com",
	} {
		t.Run(name, func(t *testing.T) {
			if got, ok := ParseS3Name(name); ok {
				t.Fatalf("accepted as %+v", got)
			}
		})
	}
}

func FuzzParseS3Name(f *testing.F) {
	for _, s := range []string{
		"s3.ap-south-1.amazonaws.com", "my.bucket.s3.dualstack.eu-west-1.amazonaws.com.",
		"finance-ap-123456789012.s3-accesspoint.ap-south-1.amazonaws.com",
		"x.bucket.vpce-0a1b2c3d4e5f67890-9hnenorg-ap-south-1a.s3.ap-south-1.vpce.amazonaws.com",
		"s3-external-1.amazonaws.com", "s3.cn-north-1.amazonaws.com.cn", "s3-fake.amazonaws.com.evil.com",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, name string) {
		n, ok := ParseS3Name(name)
		if !ok {
			if n != (S3Name{}) {
				t.Fatalf("rejected but returned %+v", n)
			}
			return
		}
		lower := strings.ToLower(strings.TrimSuffix(name, "."))
		if !strings.HasSuffix(lower, ".amazonaws.com") && !strings.HasSuffix(lower, ".amazonaws.com.cn") {
			t.Fatalf("accepted %q, which is outside amazonaws.com", name)
		}
		if n.Kind == "" || (n.Region == "") != (n.Kind == S3LegacyGlobal) || n.Global != (n.Kind == S3LegacyGlobal) {
			t.Fatalf("%q: inconsistent %+v", name, n)
		}
		region := n.Region
		if lower == "s3-external-1.amazonaws.com" {
			region = "" // the one name whose region is implied
		}
		for _, part := range []string{region, n.Bucket, n.AccessPoint, n.Account, n.EndpointID, n.Zonal} {
			if part != "" && !strings.Contains(lower, part) {
				t.Fatalf("%q: %q is not part of the name (%+v)", name, part, n)
			}
		}
		if (n.EndpointID != "") != (n.Kind == S3Endpoint) {
			t.Fatalf("%q: endpoint ID %q with kind %s", name, n.EndpointID, n.Kind)
		}
		// Case and the trailing dot do not matter.
		if again, ok := ParseS3Name(strings.ToUpper(name)); !ok || again != n {
			t.Fatalf("%q upper-cased parses as %+v, %v; want %+v", name, again, ok, n)
		}
	})
}
