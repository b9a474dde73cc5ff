// Package s3name owns the grammar of Amazon S3 host names: given a DNS
// name or a TLS server name, it says whether the name is one of S3's front
// doors (regional, virtual-hosted, legacy, website, Transfer Acceleration,
// access points, Multi-Region Access Points, Object Lambda, S3 Control,
// S3 on Outposts, S3 Express One Zone, and the names of VPC interface
// endpoints), what the name carries (region, partition, bucket, access
// point, account, alias...), and which VPC endpoint service, if any, can
// carry its traffic privately.
//
// It exists so that every S3 connection counts: a front door the grammar
// misses is counted "not S3", and a compliance verdict built on the rest
// would wrongly say pass.
//
// The grammar follows, in this order of authority:
//
//   - The AWS SDKs' S3 endpoint rule sets and their test cases, which build
//     every name an SDK sends (botocore's
//     botocore/data/{s3/2006-03-01,s3control/2018-08-20,s3outposts/2017-07-25}/endpoint-rule-set-1.json,
//     tests/functional/endpoint-rules/{s3,s3control,s3outposts}/endpoint-tests-1.json
//     and botocore/data/partitions.json for the partitions' DNS suffixes,
//     https://github.com/boto/botocore).
//   - The Amazon S3 User Guide (https://docs.aws.amazon.com/AmazonS3/latest/userguide/):
//     VirtualHosting.html (legacy names), WebsiteEndpoints.html,
//     transfer-acceleration.html, MultiRegionAccessPointRequests.html,
//     MultiRegionAccessPointsPrivateLink.html, privatelink-interface-endpoints.html,
//     s3-outposts-privatelink-interface-endpoints.html, olap-*.html (Object
//     Lambda) and directory-bucket-az-networking.html (Express One Zone),
//     read in the awsdocs/amazon-s3-userguide archive (June 2023) and, for
//     Express One Zone, on the live pages.
//
// The tests quote the documented example names they rely on, each with its
// source.
package s3name
