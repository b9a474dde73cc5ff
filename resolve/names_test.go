package resolve

import (
	"slices"
	"strings"
	"testing"

	"github.com/vpce-verify/vpce-verify/resolve/s3name"
)

func TestBucketNames(t *testing.T) {
	tests := []struct {
		bucket, region string
		want           []string
		err            string
	}{
		{"my-bucket", "ap-south-1", []string{"my-bucket.s3.ap-south-1.amazonaws.com", "s3.ap-south-1.amazonaws.com"}, ""},
		{"logs.example.com", "us-east-1", []string{"logs.example.com.s3.us-east-1.amazonaws.com", "s3.us-east-1.amazonaws.com"}, ""},
		{"", "eu-west-1", []string{"s3.eu-west-1.amazonaws.com"}, ""},
		{"my-bucket", "mumbai", nil, `region "mumbai"`},
		{"My_Bucket", "ap-south-1", nil, `bucket "My_Bucket"`},
		{"ab", "ap-south-1", nil, `bucket "ab"`},
		{"a.evil.com/x", "ap-south-1", nil, "bucket"},
	}
	for _, tc := range tests {
		t.Run(tc.bucket+"@"+tc.region, func(t *testing.T) {
			got, err := BucketNames(tc.bucket, tc.region)
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Errorf("got %v, %v; want an error saying %q", got, err, tc.err)
				}
				return
			}
			if err != nil || !slices.Equal(got, tc.want) {
				t.Errorf("got %v, %v; want %v", got, err, tc.want)
			}
			for _, n := range got {
				if _, ok := s3name.Parse(n); !ok {
					t.Errorf("%s is not recognised as an S3 name", n)
				}
			}
		})
	}
}

func TestNames(t *testing.T) {
	inv := parseFixture(t, "vpc-endpoints.json")
	const ep = "vpce-0a1b2c3d4e5f67890-9hnenorg.s3.ap-south-1.vpce.amazonaws.com"
	three := func(base string) []string {
		return []string{"bucket." + base, "accesspoint." + base, "control." + base}
	}
	zonal := "vpce-0a1b2c3d4e5f67890-9hnenorg-ap-south-1a.s3.ap-south-1.vpce.amazonaws.com"
	tests := []struct {
		arg  string
		inv  *Inventory
		want []string
		err  string
	}{
		{"s3.ap-south-1.amazonaws.com", nil, []string{"s3.ap-south-1.amazonaws.com"}, ""},
		{"s3.ap-south-1.amazonaws.com.", nil, []string{"s3.ap-south-1.amazonaws.com"}, ""},
		{"*." + ep, nil, three(ep), ""},
		{ep, nil, three(ep), ""},
		{"*." + zonal, nil, three(zonal), ""},
		{"bucket." + ep, nil, []string{"bucket." + ep}, ""},
		// An S3 on Outposts endpoint serves its management API under its own
		// name, not under bucket., accesspoint. and control.
		{"vpce-1a2b3c4d-5e6f.s3-outposts.us-east-1.vpce.amazonaws.com", nil, []string{"vpce-1a2b3c4d-5e6f.s3-outposts.us-east-1.vpce.amazonaws.com"}, ""},
		{"vpce-0a1b2c3d4e5f67890", inv, append(append(three(ep), three(zonal)...), three(strings.Replace(zonal, "1a.", "1b.", 1))...), ""},
		{"vpce-0a1b2c3d4e5f67890", nil, nil, "needs the output of aws ec2 describe-vpc-endpoints"},
		{"vpce-0fffffffffffffff0", inv, nil, "needs the output of aws ec2 describe-vpc-endpoints"},
		{"vpce-032a826a", inv, nil, "vpce-032a826a is a Gateway endpoint without DNS names"},
		{"*.example.com", nil, nil, "a wildcard"},
	}
	for _, tc := range tests {
		t.Run(tc.arg, func(t *testing.T) {
			got, err := Names(tc.arg, tc.inv)
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Errorf("got %v, %v; want an error saying %q", got, err, tc.err)
				}
				return
			}
			if err != nil || !slices.Equal(got, tc.want) {
				t.Errorf("got %v, %v;\nwant %v", got, err, tc.want)
			}
		})
	}
}
