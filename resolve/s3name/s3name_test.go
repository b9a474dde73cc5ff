package s3name

import (
	"strings"
	"testing"
)

// Sources of the example names below, named in the comments by their short
// form:
//
//	[rules]   botocore tests/functional/endpoint-rules/s3/endpoint-tests-1.json
//	          (and .../s3control/..., .../s3outposts/...): the names AWS SDKs build
//	[botoeps] botocore botocore/data/endpoints.json
//	[vhost]   S3 User Guide, VirtualHosting ("Legacy endpoints")
//	[website] S3 User Guide, WebsiteEndpoints
//	[accel]   S3 User Guide, transfer-acceleration and transfer-acceleration-examples
//	[mrap]    S3 User Guide, MultiRegionAccessPointRequests
//	[olap]    S3 User Guide, olap-use and olap-event-context (Object Lambda)
//	[pl]      S3 User Guide, privatelink-interface-endpoints (AWS PrivateLink for Amazon S3)
//	[alias]   S3 User Guide, access-points-alias (bucket-style aliases of access points)
//	[plop]    S3 User Guide, s3-outposts-privatelink-interface-endpoints
//	[dirb]    S3 User Guide, directory-bucket-az-networking (Express One Zone endpoints)
//	[prev]    kept from the previous grammar (resolve/s3name.go), not traced to a document

func TestParse(t *testing.T) {
	tests := []struct {
		host string
		want Name
	}{
		// Regional and virtual-hosted.
		{"s3.us-east-1.amazonaws.com", Name{Kind: Regional, Partition: "aws", Region: "us-east-1"}}, // [pl] private DNS
		{"S3.AP-SOUTH-1.AMAZONAWS.COM.", Name{Kind: Regional, Partition: "aws", Region: "ap-south-1"}},
		{"bucket-name.s3.us-west-2.amazonaws.com", Name{Kind: VirtualHosted, Partition: "aws", Region: "us-west-2", Bucket: "bucket-name"}}, // [rules]
		{"logs.example.com.s3.eu-central-1.amazonaws.com", Name{Kind: VirtualHosted, Partition: "aws", Region: "eu-central-1", Bucket: "logs.example.com"}},
		{"s3.backup.s3.us-east-1.amazonaws.com", Name{Kind: VirtualHosted, Partition: "aws", Region: "us-east-1", Bucket: "s3.backup"}},
		{"s3.dualstack.us-west-2.amazonaws.com", Name{Kind: Regional, Partition: "aws", Region: "us-west-2", Dualstack: true}},                                                          // [rules]
		{"bucket-name.s3.dualstack.af-south-1.amazonaws.com", Name{Kind: VirtualHosted, Partition: "aws", Region: "af-south-1", Bucket: "bucket-name", Dualstack: true}},                // [rules]
		{"s3-fips.af-south-1.amazonaws.com", Name{Kind: Regional, Partition: "aws", Region: "af-south-1", FIPS: true}},                                                                  // [rules]
		{"bucket-name.s3-fips.dualstack.us-east-1.amazonaws.com", Name{Kind: VirtualHosted, Partition: "aws", Region: "us-east-1", Bucket: "bucket-name", FIPS: true, Dualstack: true}}, // [rules]
		{"my-access-point-hrzrlukc5m36ft7okagglf3gmwluquse1b-s3alias.s3.us-east-1.amazonaws.com", // [alias] an access point alias used as a bucket
			Name{Kind: VirtualHosted, Partition: "aws", Region: "us-east-1", Bucket: "my-access-point-hrzrlukc5m36ft7okagglf3gmwluquse1b-s3alias"}},

		// China, GovCloud and the other partitions.
		{"s3.cn-north-1.amazonaws.com.cn", Name{Kind: Regional, Partition: "aws-cn", Region: "cn-north-1"}},                                                                    // [rules]
		{"bucket-name.s3.dualstack.cn-north-1.amazonaws.com.cn", Name{Kind: VirtualHosted, Partition: "aws-cn", Region: "cn-north-1", Bucket: "bucket-name", Dualstack: true}}, // [rules]
		{"b.s3.cn-northwest-1.amazonaws.com.cn", Name{Kind: VirtualHosted, Partition: "aws-cn", Region: "cn-northwest-1", Bucket: "b"}},
		{"s3.us-gov-east-1.amazonaws.com", Name{Kind: Regional, Partition: "aws-us-gov", Region: "us-gov-east-1"}},                  // [botoeps]
		{"s3-fips.us-gov-west-1.amazonaws.com", Name{Kind: Regional, Partition: "aws-us-gov", Region: "us-gov-west-1", FIPS: true}}, // [rules]
		{"b.s3-fips.dualstack.us-gov-west-1.amazonaws.com", Name{Kind: VirtualHosted, Partition: "aws-us-gov", Region: "us-gov-west-1", Bucket: "b", FIPS: true, Dualstack: true}},
		{"s3-fips.us-iso-east-1.c2s.ic.gov", Name{Kind: Regional, Partition: "aws-iso", Region: "us-iso-east-1", FIPS: true}},                                   // [botoeps]
		{"s3-fips.dualstack.us-isob-east-1.sc2s.sgov.gov", Name{Kind: Regional, Partition: "aws-iso-b", Region: "us-isob-east-1", FIPS: true, Dualstack: true}}, // [botoeps]
		{"s3.eu-isoe-west-1.cloud.adc-e.uk", Name{Kind: Regional, Partition: "aws-iso-e", Region: "eu-isoe-west-1"}},                                            // partitions.json suffix, [rules] pattern
		{"s3.us-isof-south-1.csp.hci.ic.gov", Name{Kind: Regional, Partition: "aws-iso-f", Region: "us-isof-south-1"}},                                          // partitions.json suffix, [rules] pattern
		{"s3.eusc-de-east-1.amazonaws.eu", Name{Kind: Regional, Partition: "aws-eusc", Region: "eusc-de-east-1"}},                                               // partitions.json suffix, [rules] pattern

		// Legacy global and legacy regional.
		{"s3.amazonaws.com", Name{Kind: LegacyGlobal, Partition: "aws", Global: true}},                                                                       // [rules] aws-global
		{"bucket-name.s3.amazonaws.com", Name{Kind: LegacyGlobal, Partition: "aws", Bucket: "bucket-name", Global: true}},                                    // [rules]
		{"DOC-EXAMPLE-BUCKET1.s3.amazonaws.com", Name{Kind: LegacyGlobal, Partition: "aws", Bucket: "doc-example-bucket1", Global: true}},                    // [vhost]
		{"DOC-EXAMPLE-BUCKET1.s3-us-west-2.amazonaws.com", Name{Kind: LegacyRegional, Partition: "aws", Region: "us-west-2", Bucket: "doc-example-bucket1"}}, // [vhost]
		{"my.bucket.s3.amazonaws.com", Name{Kind: LegacyGlobal, Partition: "aws", Bucket: "my.bucket", Global: true}},
		{"s3-ap-south-1.amazonaws.com", Name{Kind: LegacyRegional, Partition: "aws", Region: "ap-south-1"}},
		{"s3-external-1.amazonaws.com", Name{Kind: LegacyRegional, Partition: "aws", Region: "us-east-1"}},                                // [botoeps] hostname
		{"s3-fips-us-gov-west-1.amazonaws.com", Name{Kind: LegacyRegional, Partition: "aws-us-gov", Region: "us-gov-west-1", FIPS: true}}, // [prev]

		// Website endpoints, both spellings.
		{"example-bucket.s3-website.us-west-2.amazonaws.com", Name{Kind: Website, Partition: "aws", Region: "us-west-2", Bucket: "example-bucket"}},                 // [website]
		{"www.example-bucket.com.s3-website.us-east-1.amazonaws.com", Name{Kind: Website, Partition: "aws", Region: "us-east-1", Bucket: "www.example-bucket.com"}}, // [website]
		{"s3-website-us-west-2.amazonaws.com", Name{Kind: Website, Partition: "aws", Region: "us-west-2"}},                                                          // [website] Route 53 alias target
		{"site.s3-website-us-west-1.amazonaws.com", Name{Kind: Website, Partition: "aws", Region: "us-west-1", Bucket: "site"}},                                     // [website] dash spelling
		{"site.s3-website.cn-north-1.amazonaws.com.cn", Name{Kind: Website, Partition: "aws-cn", Region: "cn-north-1", Bucket: "site"}},

		// Transfer Acceleration.
		{"my-bucket.s3-accelerate.amazonaws.com", Name{Kind: Accelerate, Partition: "aws", Bucket: "my-bucket", Global: true}},                                // [accel]
		{"bucketname.s3-accelerate.dualstack.amazonaws.com", Name{Kind: Accelerate, Partition: "aws", Bucket: "bucketname", Dualstack: true, Global: true}},   // [accel]
		{"s3-accelerate.amazonaws.com", Name{Kind: Accelerate, Partition: "aws", Global: true}},                                                               // [accel] --endpoint-url
		{"bucket.s3-accelerate.dualstack.us-east-1.amazonaws.com", Name{Kind: Accelerate, Partition: "aws", Bucket: "bucket", Dualstack: true, Global: true}}, // [rules] aws-global

		// Access points.
		{"s3-accesspoint.us-east-1.amazonaws.com", Name{Kind: AccessPoint, Partition: "aws", Region: "us-east-1"}},                                                                             // [pl] private DNS
		{"myendpoint-123456789012.s3-accesspoint.us-west-2.amazonaws.com", Name{Kind: AccessPoint, Partition: "aws", Region: "us-west-2", AccessPoint: "myendpoint", Account: "123456789012"}}, // [rules]
		{"myendpoint-123456789012.s3-accesspoint-fips.dualstack.af-south-1.amazonaws.com", // [rules]
			Name{Kind: AccessPoint, Partition: "aws", Region: "af-south-1", AccessPoint: "myendpoint", Account: "123456789012", FIPS: true, Dualstack: true}},
		{"myendpoint-123456789012.s3-accesspoint.cn-north-1.amazonaws.com.cn", Name{Kind: AccessPoint, Partition: "aws-cn", Region: "cn-north-1", AccessPoint: "myendpoint", Account: "123456789012"}}, // [rules]
		{"finance-ap-123456789012.s3-accesspoint.ap-south-1.amazonaws.com", Name{Kind: AccessPoint, Partition: "aws", Region: "ap-south-1", AccessPoint: "finance-ap", Account: "123456789012"}},
		{"s3-accesspoint.dualstack.eu-west-1.amazonaws.com", Name{Kind: AccessPoint, Partition: "aws", Region: "eu-west-1", Dualstack: true}},

		// Multi-Region Access Points.
		{"mfzwi23gnjvgw.mrap.accesspoint.s3-global.amazonaws.com", Name{Kind: MRAP, Partition: "aws", Alias: "mfzwi23gnjvgw.mrap", Global: true}}, // [mrap], [rules]

		// Object Lambda.
		{"object-lambda-111122223333.s3-object-lambda.us-east-1.amazonaws.com", Name{Kind: ObjectLambda, Partition: "aws", Region: "us-east-1", AccessPoint: "object-lambda", Account: "111122223333"}},                       // [olap]
		{"mybanner-123456789012.s3-object-lambda-fips.us-gov-east-1.amazonaws.com", Name{Kind: ObjectLambda, Partition: "aws-us-gov", Region: "us-gov-east-1", AccessPoint: "mybanner", Account: "123456789012", FIPS: true}}, // [rules]
		{"s3-object-lambda.us-west-2.amazonaws.com", Name{Kind: ObjectLambda, Partition: "aws", Region: "us-west-2"}},                                                                                                         // [rules]
		{"s3-object-lambda-fips.us-east-1.amazonaws.com", Name{Kind: ObjectLambda, Partition: "aws", Region: "us-east-1", FIPS: true}},                                                                                        // [rules]
		{"io-use1-001.s3-object-lambda.us-east-1.amazonaws.com", Name{Kind: ObjectLambda, Partition: "aws", Region: "us-east-1", Route: "io-use1-001"}},                                                                       // [olap] outputRoute, S3 API hostPrefix {RequestRoute}.

		// S3 Control.
		{"s3-control.us-east-1.amazonaws.com", Name{Kind: Control, Partition: "aws", Region: "us-east-1"}},                                                                                   // [pl] private DNS
		{"123456789012.s3-control.us-east-2.amazonaws.com", Name{Kind: Control, Partition: "aws", Region: "us-east-2", Account: "123456789012"}},                                             // [rules] s3control
		{"123456789012.s3-control-fips.dualstack.us-east-1.amazonaws.com", Name{Kind: Control, Partition: "aws", Region: "us-east-1", Account: "123456789012", FIPS: true, Dualstack: true}}, // [rules] s3control
		{"s3-control.cn-north-1.amazonaws.com.cn", Name{Kind: Control, Partition: "aws-cn", Region: "cn-north-1"}},                                                                           // [rules] s3control
		{"s3-control.us-gov-west-1.amazonaws.com", Name{Kind: Control, Partition: "aws-us-gov", Region: "us-gov-west-1"}},
		{"s3-control.dualstack.us-isob-east-1.sc2s.sgov.gov", Name{Kind: Control, Partition: "aws-iso-b", Region: "us-isob-east-1", Dualstack: true}}, // [botoeps]

		// S3 on Outposts.
		{"myaccesspoint-123456789012.op-01234567890123456.s3-outposts.us-east-1.amazonaws.com", // [rules]
			Name{Kind: Outposts, Partition: "aws", Region: "us-east-1", AccessPoint: "myaccesspoint", Account: "123456789012", OutpostID: "op-01234567890123456"}},
		{"test-accessp-o0b1d075431d83bebde8xz5w8ijx1qzlbp3i3kuse10--op-s3.op-0b1d075431d83bebd.s3-outposts.us-west-1.amazonaws.com", // [rules]
			Name{Kind: Outposts, Partition: "aws", Region: "us-west-1", Alias: "test-accessp-o0b1d075431d83bebde8xz5w8ijx1qzlbp3i3kuse10--op-s3", OutpostID: "op-0b1d075431d83bebd"}},
		{"test-accessp-e0000075431d83bebde8xz5w8ijx1qzlbp3i3kuse10--op-s3.ec2.s3-outposts.me-south-1.amazonaws.com", // [rules]
			Name{Kind: Outposts, Partition: "aws", Region: "me-south-1", Alias: "test-accessp-e0000075431d83bebde8xz5w8ijx1qzlbp3i3kuse10--op-s3", OutpostID: "ec2"}},
		{"s3-outposts.us-west-2.amazonaws.com", Name{Kind: OutpostsControl, Partition: "aws", Region: "us-west-2"}},                                            // [rules] s3outposts
		{"s3-outposts-fips.us-gov-east-1.amazonaws.com", Name{Kind: OutpostsControl, Partition: "aws-us-gov", Region: "us-gov-east-1", FIPS: true}},            // [rules] s3outposts
		{"s3-outposts.us-west-2.api.aws", Name{Kind: OutpostsControl, Partition: "aws", Region: "us-west-2", Dualstack: true}},                                 // [rules] s3control
		{"s3-outposts-fips.us-gov-east-1.api.aws", Name{Kind: OutpostsControl, Partition: "aws-us-gov", Region: "us-gov-east-1", Dualstack: true, FIPS: true}}, // [rules] s3outposts
		{"s3-outposts.cn-north-1.api.amazonwebservices.com.cn", Name{Kind: OutpostsControl, Partition: "aws-cn", Region: "cn-north-1", Dualstack: true}},       // [rules] s3outposts
		{"s3-outposts.us-iso-east-1.c2s.ic.gov", Name{Kind: OutpostsControl, Partition: "aws-iso", Region: "us-iso-east-1"}},                                   // [rules] s3outposts
		{"s3-outposts-fips.us-isob-east-1.sc2s.sgov.gov", Name{Kind: OutpostsControl, Partition: "aws-iso-b", Region: "us-isob-east-1", FIPS: true}},           // [rules] s3outposts

		// S3 Express One Zone.
		{"s3express-use1-az4.us-east-1.amazonaws.com", Name{Kind: Express, Partition: "aws", Region: "us-east-1", AZID: "use1-az4"}},                            // [dirb]
		{"s3express-use1-az4.dualstack.us-east-1.amazonaws.com", Name{Kind: Express, Partition: "aws", Region: "us-east-1", AZID: "use1-az4", Dualstack: true}}, // [dirb]
		{"bucket--aps1-az1--x-s3.s3express-aps1-az1.ap-south-1.amazonaws.com", Name{Kind: Express, Partition: "aws", Region: "ap-south-1", AZID: "aps1-az1", Bucket: "bucket--aps1-az1--x-s3"}},
		{"my--s3--bucket--abcd-ab1--x-s3.s3express-abcd-ab1.us-east-1.amazonaws.com", Name{Kind: Express, Partition: "aws", Region: "us-east-1", AZID: "abcd-ab1", Bucket: "my--s3--bucket--abcd-ab1--x-s3"}}, // [rules]
		{"mybucket--usw2-az1--x-s3.s3express-fips-usw2-az1.dualstack.us-west-2.amazonaws.com", // [rules]
			Name{Kind: Express, Partition: "aws", Region: "us-west-2", AZID: "usw2-az1", Bucket: "mybucket--usw2-az1--x-s3", FIPS: true, Dualstack: true}},
		{"myaccesspoint--usw2-az1--xa-s3.s3express-usw2-az1.us-west-2.amazonaws.com", // [rules]
			Name{Kind: Express, Partition: "aws", Region: "us-west-2", AZID: "usw2-az1", AccessPoint: "myaccesspoint--usw2-az1--xa-s3"}},
		{"mybucket--test1-long1-zone-ab1--x-s3.s3express-test1-long1-zone-ab1.us-west-2.amazonaws.com", // [rules]
			Name{Kind: Express, Partition: "aws", Region: "us-west-2", AZID: "test1-long1-zone-ab1", Bucket: "mybucket--test1-long1-zone-ab1--x-s3"}},
		{"mybucket--abcd-ab1--x-s3.s3express-abcd-ab1.cn-north-1.amazonaws.com.cn", // [rules]
			Name{Kind: Express, Partition: "aws-cn", Region: "cn-north-1", AZID: "abcd-ab1", Bucket: "mybucket--abcd-ab1--x-s3"}},
		{"s3express-control.ap-south-1.amazonaws.com", Name{Kind: ExpressControl, Partition: "aws", Region: "ap-south-1"}},                                           // [dirb]
		{"s3express-control-dualstack.us-east-1.amazonaws.com", Name{Kind: ExpressControl, Partition: "aws", Region: "us-east-1", Dualstack: true}},                  // [dirb] spelling
		{"s3express-control.dualstack.us-east-1.amazonaws.com", Name{Kind: ExpressControl, Partition: "aws", Region: "us-east-1", Dualstack: true}},                  // [rules] spelling
		{"s3express-control-fips.dualstack.us-east-1.amazonaws.com", Name{Kind: ExpressControl, Partition: "aws", Region: "us-east-1", Dualstack: true, FIPS: true}}, // [rules]
		{"s3express-control.cn-north-1.amazonaws.com.cn", Name{Kind: ExpressControl, Partition: "aws-cn", Region: "cn-north-1"}},                                     // [rules]

		// Names of interface endpoints.
		{"vpce-1a2b3c4d-5e6f.s3.us-east-1.vpce.amazonaws.com", // [pl] Regional
			Name{Kind: Endpoint, Partition: "aws", Region: "us-east-1", EndpointID: "vpce-1a2b3c4d", Service: "s3"}},
		{"vpce-1a2b3c4d-5e6f-us-east-1a.s3.us-east-1.vpce.amazonaws.com", // [pl] zonal
			Name{Kind: Endpoint, Partition: "aws", Region: "us-east-1", EndpointID: "vpce-1a2b3c4d", Zonal: "us-east-1a", Service: "s3"}},
		{"bucket.vpce-0e25b8cdd720f900e-argc85vg.s3.us-east-1.vpce.amazonaws.com", // [pl]
			Name{Kind: Endpoint, Partition: "aws", Region: "us-east-1", EndpointID: "vpce-0e25b8cdd720f900e", EndpointLabel: "bucket", Service: "s3"}},
		{"my-bucket.bucket.vpce-0a1b2c3d4e5f67890-9hnenorg.s3.ap-south-1.vpce.amazonaws.com",
			Name{Kind: Endpoint, Partition: "aws", Region: "ap-south-1", EndpointID: "vpce-0a1b2c3d4e5f67890", EndpointLabel: "bucket", Bucket: "my-bucket", Service: "s3"}},
		{"bucket.vpce-0a1b2c3d4e5f67890-9hnenorg-ap-south-1a.s3.ap-south-1.vpce.amazonaws.com",
			Name{Kind: Endpoint, Partition: "aws", Region: "ap-south-1", EndpointID: "vpce-0a1b2c3d4e5f67890", EndpointLabel: "bucket", Zonal: "ap-south-1a", Service: "s3"}},
		{"bucket.vpce-0a1b2c3d4e5f67890-9hnenorg.s3.ap-south-1.vpce.amazonaws.com",
			Name{Kind: Endpoint, Partition: "aws", Region: "ap-south-1", EndpointID: "vpce-0a1b2c3d4e5f67890", EndpointLabel: "bucket", Service: "s3"}},
		{"finance-ap-123456789012.accesspoint.vpce-1a2b3c4d-5e6f.s3.us-east-1.vpce.amazonaws.com",
			Name{Kind: Endpoint, Partition: "aws", Region: "us-east-1", EndpointID: "vpce-1a2b3c4d", EndpointLabel: "accesspoint", AccessPoint: "finance-ap", Account: "123456789012", Service: "s3"}},
		{"123456789012.control.vpce-0e25b8cdd720f900e-argc85vg.s3.us-east-1.vpce.amazonaws.com", // [pl] the console's name, with an account in front
			Name{Kind: Endpoint, Partition: "aws", Region: "us-east-1", EndpointID: "vpce-0e25b8cdd720f900e", EndpointLabel: "control", Account: "123456789012", Service: "s3"}},
		{"accesspoint.vpce-1a2b3c4d-5e6f.s3.us-east-1.vpce.amazonaws.com", // [pl]
			Name{Kind: Endpoint, Partition: "aws", Region: "us-east-1", EndpointID: "vpce-1a2b3c4d", EndpointLabel: "accesspoint", Service: "s3"}},
		{"accesspointexamplename-123456789012.accesspoint.vpce-1a2b3c4d-5e6f.s3.us-east-1.vpce.amazonaws.com", // [pl] method 1: the ARN's NAME-ACCOUNT
			Name{Kind: Endpoint, Partition: "aws", Region: "us-east-1", EndpointID: "vpce-1a2b3c4d", EndpointLabel: "accesspoint", AccessPoint: "accesspointexamplename", Account: "123456789012", Service: "s3"}},
		// [pl] method 3 puts an access point's alias here; its example alias
		// is 65 characters, too long for a DNS label, so [alias]'s stands in.
		{"my-access-point-aqfqprnstn7aefdfbarligizwgyfouse1a-s3alias.accesspoint.vpce-1a2b3c4d-5e6f.s3.us-east-1.vpce.amazonaws.com",
			Name{Kind: Endpoint, Partition: "aws", Region: "us-east-1", EndpointID: "vpce-1a2b3c4d", EndpointLabel: "accesspoint", Alias: "my-access-point-aqfqprnstn7aefdfbarligizwgyfouse1a-s3alias", Service: "s3"}},
		{"control.vpce-1a2b3c4d-5e6f.s3.us-west-2.vpce.amazonaws.com", // [rules]
			Name{Kind: Endpoint, Partition: "aws", Region: "us-west-2", EndpointID: "vpce-1a2b3c4d", EndpointLabel: "control", Service: "s3"}},
		{"123456789012.control.vpce-1a2b3c4d-5e6f.s3.us-west-2.vpce.amazonaws.com", // [rules] s3control
			Name{Kind: Endpoint, Partition: "aws", Region: "us-west-2", EndpointID: "vpce-1a2b3c4d", EndpointLabel: "control", Account: "123456789012", Service: "s3"}},
		{"bucket-name.control.vpce-1a2b3c4d-5e6f.s3.us-west-2.vpce.amazonaws.com", // [rules] an S3 client pointed at control.
			Name{Kind: Endpoint, Partition: "aws", Region: "us-west-2", EndpointID: "vpce-1a2b3c4d", EndpointLabel: "control", Bucket: "bucket-name", Service: "s3"}},
		{"bucket.vpce-0a1b2c3d4e5f67890-9hnenorg.s3.cn-north-1.vpce.amazonaws.com.cn",
			Name{Kind: Endpoint, Partition: "aws-cn", Region: "cn-north-1", EndpointID: "vpce-0a1b2c3d4e5f67890", EndpointLabel: "bucket", Service: "s3"}},
		{"bucket.vpce-0a1b2c3d4e5f67890-9hnenorg.s3.us-gov-west-1.vpce.amazonaws.com",
			Name{Kind: Endpoint, Partition: "aws-us-gov", Region: "us-gov-west-1", EndpointID: "vpce-0a1b2c3d4e5f67890", EndpointLabel: "bucket", Service: "s3"}},
		{"vpce-1a2b3c4d-5e6f.s3-outposts.us-east-1.vpce.amazonaws.com", // [plop] Regional
			Name{Kind: Endpoint, Partition: "aws", Region: "us-east-1", EndpointID: "vpce-1a2b3c4d", Service: "s3-outposts"}},
		{"vpce-1a2b3c4d-5e6f-us-east-1a.s3-outposts.us-east-1.vpce.amazonaws.com", // [plop] zonal
			Name{Kind: Endpoint, Partition: "aws", Region: "us-east-1", EndpointID: "vpce-1a2b3c4d", Zonal: "us-east-1a", Service: "s3-outposts"}},
	}
	for _, tt := range tests {
		t.Run(tt.host, func(t *testing.T) {
			got, ok := Parse(tt.host)
			if !ok || got != tt.want {
				t.Fatalf("got %+v, %v\nwant %+v", got, ok, tt.want)
			}
		})
	}
}

func TestParseRejects(t *testing.T) {
	tests := []struct {
		host string
		why  string
	}{
		{"", "empty"},
		{".", "empty"},
		{"s3.example.com", "look-alike outside AWS"},
		{"s3.amazonaws.com.evil.com", "look-alike outside AWS"},
		{"s3.ap-south-1.amazonaws.com.evil.com", "look-alike outside AWS"},
		{"s3-fake.amazonaws.com.evil.com", "look-alike outside AWS"},
		{"s3-fake.amazonaws.com", "no such service label"},
		{"xs3.amazonaws.com", "no such service label"},
		{"evil-s3.amazonaws.com", "no such service label"},
		{"ec2.ap-south-1.amazonaws.com", "another service"},
		{"sts.amazonaws.com", "another service"},
		{"s3vectors.us-east-1.api.aws", "another service on the dual-stack suffix"},
		{"s3.us-east-1.api.aws", "only the Outposts API has names on api.aws"},
		{"amazonaws.com", "the suffix alone"},
		{"s3.amazonaws.com.cn", "no global name in China"},
		{"bucket.s3-accelerate.amazonaws.com.cn", "no Transfer Acceleration in China"},
		{"s3.cn-north-1.amazonaws.com", "a China region under the global suffix"},
		{"s3.us-east-1.amazonaws.com.cn", "a global region under the China suffix"},
		{"s3-website-us-east-1.amazonaws.com.cn", "a global region under the China suffix"},
		{"s3.eusc-de-east-1.amazonaws.com", "a European Sovereign Cloud region under the global suffix"},
		{"s3.ap-south.amazonaws.com", "not a region"},
		{"s3.a-south-1.amazonaws.com", "not a region"},
		{"s3.ap--south-1.amazonaws.com", "not a region"},
		{"s3.ap-south-123.amazonaws.com", "not a region"},
		{"s3-evil-east-1.amazonaws.com", "not a region"},
		{"s3.dualstack.amazonaws.com", "dual-stack names are regional"},
		{"s3-control.amazonaws.com", "control names are regional"},
		{"bad_acct.s3-control.us-east-1.amazonaws.com", "not an account"},
		{"12345.s3-control.us-east-1.amazonaws.com", "not an account"},
		{"ap.s3-accesspoint.us-east-1.amazonaws.com", "an access point without its account"},
		{"a.b-123456789012.s3-accesspoint.us-east-1.amazonaws.com", "an access point name has no dots"},
		{"a..b.s3.us-east-1.amazonaws.com", "empty label"},
		{".s3.us-east-1.amazonaws.com", "empty label"},
		{"my bucket.s3.us-east-1.amazonaws.com", "space"},
		{"my/bucket.s3.us-east-1.amazonaws.com", "slash"},
		{"s3.ap-south-1.amazonaws.com..", "two trailing dots"},
		{strings.Repeat("a", 240) + ".s3.us-east-1.amazonaws.com", "longer than 253"},
		{strings.Repeat("a", 64) + ".s3.us-east-1.amazonaws.com", "a label longer than 63"},
		{"accesspointexamplename-8tyekmigicmhun8n9kwpfur39dnw4use1a-s3alias.accesspoint.vpce-1a2b3c4d-5e6f.s3.us-east-1.vpce.amazonaws.com",
			"[pl]'s example alias is 65 characters, longer than a DNS label"},
		{"s3-website.dualstack.us-east-1.amazonaws.com", "websites have no dual-stack names"},
		{"s3-website-fips.us-east-1.amazonaws.com", "websites have no FIPS names"},
		{"bucket.s3-accelerate.dualstack.us-west-2.amazonaws.com", "the SDKs put only us-east-1 there"},
		{"mfzwi23gnjvgw.mrap.s3-global.amazonaws.com", "MRAP names have accesspoint."},
		{"bucket.s3express-control.us-east-1.amazonaws.com", "Express control names are path-style"},
		{"s3express-use1.us-east-1.amazonaws.com", "a zone ID has two words at least"},
		{"s3express-use1-az4-fips.us-east-1.amazonaws.com", "FIPS zonal names are s3express-fips-AZID"},
		{"s3-object-lambda.dualstack.us-east-1.amazonaws.com", "Object Lambda has no dual-stack names"},
		{"a.b.s3-object-lambda.us-east-1.amazonaws.com", "a route is one label"},
		{"ap-123456789012.op-01234567890123456.s3-outposts-fips.us-east-1.amazonaws.com", "no FIPS Outposts data names"},
		{"bucket.op-01234567890123456.s3-outposts.us-east-1.amazonaws.com", "neither an access point nor an alias"},
		{"op-01234567890123456.s3-outposts.us-east-1.amazonaws.com", "an Outpost without an access point"},
		{"ap-123456789012.outpost.s3-outposts.us-east-1.amazonaws.com", "not an Outpost ID"},
		{"s3-outposts.dualstack.us-east-1.amazonaws.com", "Outposts dual-stack names end in api.aws"},
		{"ec2.us-east-1.vpce.amazonaws.com", "not an endpoint name"},
		{"bucket.vpce-0a1b2c3d4e5f67890-9hnenorg.ec2.ap-south-1.vpce.amazonaws.com", "another service's endpoint"},
		{"bucket.vpce-xyz-9hnenorg.s3.ap-south-1.vpce.amazonaws.com", "not an endpoint ID"},
		{"bucket.vpce-1a2b3c4d5-5e6f.s3.us-east-1.vpce.amazonaws.com", "an endpoint ID has 8 or 17 digits"},
		{"bucket.vpce-0a1b2c3d4e5f67890.s3.ap-south-1.vpce.amazonaws.com", "no suffix"},
		{"bucket.vpce-0a1b2c3d4e5f67890-9hnenorg-nowhere.s3.ap-south-1.vpce.amazonaws.com", "not a zone"},
		{"vpce-1a2b3c4d-5e6f-us-west-2a.s3.us-east-1.vpce.amazonaws.com", "a zone of another region"},
		{"www.vpce-0a1b2c3d4e5f67890-9hnenorg.s3.ap-south-1.vpce.amazonaws.com", "not an endpoint label"},
		{"bucket.vpce-1a2b3c4d-5e6f.s3-outposts.us-east-1.vpce.amazonaws.com", "Outposts endpoint names are bare"},
		{"vpce-1a2b3c4d-5e6f.s3.cn-north-1.vpce.amazonaws.com", "a China region under the global suffix"},
	}
	for _, tt := range tests {
		t.Run(tt.host, func(t *testing.T) {
			if got, ok := Parse(tt.host); ok || got != (Name{}) {
				t.Fatalf("%s: accepted as %+v, %v", tt.why, got, ok)
			}
		})
	}
}

func TestEndpointService(t *testing.T) {
	tests := []struct {
		host string
		want string
	}{
		{"s3.ap-south-1.amazonaws.com", "com.amazonaws.ap-south-1.s3"},
		{"my-bucket.s3.ap-south-1.amazonaws.com", "com.amazonaws.ap-south-1.s3"},
		{"s3.dualstack.ap-south-1.amazonaws.com", "com.amazonaws.ap-south-1.s3"},
		{"123456789012.s3-control.us-east-1.amazonaws.com", "com.amazonaws.us-east-1.s3"},
		{"finance-123456789012.s3-accesspoint.us-east-1.amazonaws.com", "com.amazonaws.us-east-1.s3"},
		{"bucket.vpce-1a2b3c4d-5e6f.s3.us-east-1.vpce.amazonaws.com", "com.amazonaws.us-east-1.s3"},
		{"s3.us-gov-west-1.amazonaws.com", "com.amazonaws.us-gov-west-1.s3"},
		{"s3.cn-north-1.amazonaws.com.cn", "cn.com.amazonaws.cn-north-1.s3"},
		{"bucket.vpce-0a1b2c3d4e5f67890-9hnenorg.s3.cn-northwest-1.vpce.amazonaws.com.cn", "cn.com.amazonaws.cn-northwest-1.s3"},
		{"s3-external-1.amazonaws.com", "com.amazonaws.us-east-1.s3"},
		{"mfzwi23gnjvgw.mrap.accesspoint.s3-global.amazonaws.com", "com.amazonaws.s3-global.accesspoint"},
		{"s3-outposts.us-west-2.amazonaws.com", "com.amazonaws.us-west-2.s3-outposts"},
		{"vpce-1a2b3c4d-5e6f.s3-outposts.us-east-1.vpce.amazonaws.com", "com.amazonaws.us-east-1.s3-outposts"},
		{"s3express-use1-az4.us-east-1.amazonaws.com", "com.amazonaws.us-east-1.s3express"},
		{"s3express-control.ap-south-1.amazonaws.com", "com.amazonaws.ap-south-1.s3express"},
		// PrivateLink does not serve these.
		{"s3.amazonaws.com", ""},
		{"my-bucket.s3.amazonaws.com", ""},
		{"site.s3-website-us-east-1.amazonaws.com", ""},
		{"site.s3-website.eu-central-1.amazonaws.com", ""},
		{"s3-fips.us-east-1.amazonaws.com", ""},
		{"123456789012.s3-control-fips.us-east-1.amazonaws.com", ""},
		{"finance-123456789012.s3-accesspoint-fips.us-east-1.amazonaws.com", ""},
		{"s3-outposts-fips.us-gov-east-1.amazonaws.com", ""},
		{"my-bucket.s3-accelerate.amazonaws.com", ""},
		{"object-lambda-111122223333.s3-object-lambda.us-east-1.amazonaws.com", ""},
		{"myaccesspoint-123456789012.op-01234567890123456.s3-outposts.us-east-1.amazonaws.com", ""},
	}
	for _, tt := range tests {
		t.Run(tt.host, func(t *testing.T) {
			n, ok := Parse(tt.host)
			if !ok {
				t.Fatalf("not an S3 name")
			}
			if got := n.EndpointService(); got != tt.want {
				t.Errorf("got %q, want %q", got, tt.want)
			}
		})
	}
}

func TestIsRegion(t *testing.T) {
	tests := []struct {
		region string
		want   bool
	}{
		{"ap-south-1", true},
		{"us-gov-west-1", true},
		{"us-isob-east-1", true},
		{"eu-isoe-west-1", true},
		{"eusc-de-east-1", true},
		{"ap-southeast-7", true},
		{"mx-central-1", true},
		{"mumbai", false},
		{"ap-south", false},
		{"a-south-1", false},
		{"ap-south-123", false},
		{"ap--south-1", false},
		{"ap-south-1-", false},
		{"website-us-east-1", false},
		{"AP-SOUTH-1", false}, // callers lower-case first
		{"ap-1", false},
		{"", false},
	}
	for _, tt := range tests {
		t.Run(tt.region, func(t *testing.T) {
			if got := IsRegion(tt.region); got != tt.want {
				t.Errorf("got %v, want %v", got, tt.want)
			}
		})
	}
}

// TestParseAllocs holds Parse to its promise: nothing allocated for a name
// in lower case, one copy for a name with capitals.
func TestParseAllocs(t *testing.T) {
	tests := []struct {
		host string
		max  float64
	}{
		{"my-bucket.s3.dualstack.ap-south-1.amazonaws.com", 0},
		{"bucket.vpce-0a1b2c3d4e5f67890-9hnenorg-ap-south-1a.s3.ap-south-1.vpce.amazonaws.com", 0},
		{"mybucket--usw2-az1--x-s3.s3express-fips-usw2-az1.dualstack.us-west-2.amazonaws.com", 0},
		{"www.example.com", 0},
		{"My-Bucket.S3.AP-SOUTH-1.amazonaws.com", 1},
	}
	for _, tt := range tests {
		t.Run(tt.host, func(t *testing.T) {
			if got := testing.AllocsPerRun(100, func() { Parse(tt.host) }); got > tt.max {
				t.Errorf("%v allocations, want at most %v", got, tt.max)
			}
		})
	}
}

func BenchmarkParse(b *testing.B) {
	// What a capture mostly holds: S3 names of every kind, and names that
	// are not S3 at all.
	names := []string{
		"my-bucket.s3.ap-south-1.amazonaws.com",
		"bucket.vpce-0a1b2c3d4e5f67890-9hnenorg-ap-south-1a.s3.ap-south-1.vpce.amazonaws.com",
		"mybucket--usw2-az1--x-s3.s3express-usw2-az1.us-west-2.amazonaws.com",
		"mfzwi23gnjvgw.mrap.accesspoint.s3-global.amazonaws.com",
		"sts.ap-south-1.amazonaws.com",
		"www.example.com",
	}
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		Parse(names[i%len(names)])
	}
}
