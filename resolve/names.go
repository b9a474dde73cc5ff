package resolve

import (
	"fmt"
	"slices"
	"strings"

	"github.com/vpce-verify/vpce-verify/resolve/inventory"
	"github.com/vpce-verify/vpce-verify/resolve/s3name"
)

// BucketNames returns the names a client uses for bucket in region: the
// virtual-hosted name BUCKET.s3.REGION.amazonaws.com and the path-style
// name s3.REGION.amazonaws.com. With no bucket, only the path-style name.
func BucketNames(bucket, region string) ([]string, error) {
	if !s3name.IsRegion(region) {
		return nil, fmt.Errorf("region %q: want a region code such as ap-south-1", region)
	}
	path := "s3." + region + ".amazonaws.com"
	if bucket == "" {
		return []string{path}, nil
	}
	if len(bucket) < 3 || len(bucket) > 63 || !s3name.IsBucket(bucket) {
		return nil, fmt.Errorf("bucket %q: want 3 to 63 lowercase letters, digits, dots and hyphens", bucket)
	}
	return []string{bucket + "." + path, path}, nil
}

// endpointLabels are the names an S3 interface endpoint serves, one per
// API (AWS PrivateLink for S3: each interface endpoint serves bucket., accesspoint. and control. names): a client configured for one cannot use the others.
var endpointLabels = []string{"bucket", "accesspoint", "control"}

// EndpointNames returns the bucket., accesspoint. and control. names of an
// S3 interface endpoint's DNS entry, given as DnsEntries lists it
// (*.vpce-ID-SUFFIX[-AZ].s3.REGION.vpce.amazonaws.com) or without the "*.".
// It reports false for anything else.
func EndpointNames(entry string) ([]string, bool) {
	base := strings.TrimSuffix(strings.TrimPrefix(strings.ToLower(entry), "*."), ".")
	n, ok := s3name.Parse(base)
	if !ok || n.Kind != s3name.Endpoint || n.Service != "s3" || n.EndpointLabel != "" {
		return nil, false
	}
	names := make([]string, 0, len(endpointLabels))
	for _, l := range endpointLabels {
		names = append(names, l+"."+base)
	}
	return names, true
}

// Names returns the DNS names one argument of `vpce-verify resolve` stands
// for: an endpoint ID (vpce-...) stands for the names of its DnsEntries in
// inv, each expanded by EndpointNames; an endpoint's DNS entry for its
// bucket., accesspoint. and control. names; any other name for itself.
func Names(arg string, inv *inventory.Inventory) ([]string, error) {
	arg = strings.TrimSuffix(arg, ".")
	if names, ok := EndpointNames(arg); ok {
		return names, nil
	}
	if strings.HasPrefix(arg, "*.") {
		return nil, fmt.Errorf("%s: a wildcard that is not an S3 interface endpoint's DNS entry", arg)
	}
	if !s3name.IsEndpointID(strings.ToLower(arg)) {
		return []string{arg}, nil
	}
	id := strings.ToLower(arg)
	ep, _ := inv.Endpoint(id)
	switch {
	case ep == nil:
		return nil, fmt.Errorf("%s: an endpoint ID needs the output of aws ec2 describe-vpc-endpoints (--endpoints) to find its DNS names; or give one of its names (*.vpce-...)", id)
	case len(ep.DNSNames) == 0:
		return nil, fmt.Errorf("%s is a %s endpoint without DNS names: resolve the names its clients use instead", id, ep.Type)
	}
	var names []string
	for _, e := range ep.DNSNames {
		if more, ok := EndpointNames(e); ok {
			names = append(names, more...)
		} else if n := strings.TrimPrefix(e, "*."); !slices.Contains(names, n) {
			names = append(names, n)
		}
	}
	return names, nil
}
