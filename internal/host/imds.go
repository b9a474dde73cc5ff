package host

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"time"
)

// IMDSEndpoint is where EC2's instance metadata service answers (IMDSv2).
const IMDSEndpoint = "http://169.254.169.254"

// IMDSTimeout bounds the whole exchange with the metadata service: on a
// host that is not an EC2 instance nothing answers, and a report must not
// wait for it.
const IMDSTimeout = 300 * time.Millisecond

// EC2 is what the instance metadata service says of the host: which
// instance, account, region, zone, VPC and subnet the report was made in.
type EC2 struct {
	InstanceID       string `json:"instance_id"`
	AccountID        string `json:"account_id"`
	Region           string `json:"region"`
	AvailabilityZone string `json:"availability_zone"`
	VPCID            string `json:"vpc_id"`
	SubnetID         string `json:"subnet_id"`
	MAC              string `json:"mac"`
}

// maxIMDSAnswer bounds what is read of one answer: the identity document,
// the largest, is about 500 bytes.
const maxIMDSAnswer = 64 << 10

// EC2Identity asks the metadata service at endpoint (IMDSEndpoint, or a
// stand-in) who this host is, IMDSv2's way: a session token from PUT
// /latest/api/token, then GETs of the instance ID, placement, primary
// MAC, that interface's VPC and subnet, and the instance identity document
// (for the account). It gives up after timeout, whatever is pending; the
// error says what did not answer. No proxy is used: the service is
// link-local.
func EC2Identity(ctx context.Context, endpoint string, timeout time.Duration) (*EC2, error) {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	endpoint = strings.TrimRight(endpoint, "/")
	client := &http.Client{Transport: &http.Transport{
		Proxy:             nil,
		DialContext:       (&net.Dialer{}).DialContext,
		DisableKeepAlives: false,
		MaxIdleConns:      1,
	}}
	defer client.CloseIdleConnections()
	do := func(method, path string, header http.Header) (string, error) {
		req, err := http.NewRequestWithContext(ctx, method, endpoint+path, nil)
		if err != nil {
			return "", err
		}
		req.Header = header
		resp, err := client.Do(req)
		if err != nil {
			if ctx.Err() != nil {
				return "", fmt.Errorf("imds %s: no answer within %v", path, timeout)
			}
			return "", fmt.Errorf("imds %s: %w", path, err)
		}
		defer resp.Body.Close()
		body, err := io.ReadAll(io.LimitReader(resp.Body, maxIMDSAnswer))
		if err != nil {
			return "", fmt.Errorf("imds %s: %w", path, err)
		}
		if resp.StatusCode != http.StatusOK {
			return "", fmt.Errorf("imds %s: %s", path, resp.Status)
		}
		return strings.TrimSpace(string(body)), nil
	}
	token, err := do(http.MethodPut, "/latest/api/token", http.Header{"X-Aws-Ec2-Metadata-Token-Ttl-Seconds": {"60"}})
	if err != nil {
		return nil, err
	}
	h := http.Header{"X-Aws-Ec2-Metadata-Token": {token}}
	get := func(path string) (string, error) { return do(http.MethodGet, path, h) }
	e := &EC2{}
	var errs []error
	for _, q := range []struct {
		path string
		dst  *string
	}{
		{"/latest/meta-data/instance-id", &e.InstanceID},
		{"/latest/meta-data/placement/availability-zone", &e.AvailabilityZone},
		{"/latest/meta-data/placement/region", &e.Region},
		{"/latest/meta-data/mac", &e.MAC},
	} {
		v, err := get(q.path)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		*q.dst = v
	}
	if e.MAC != "" && !strings.ContainsAny(e.MAC, "/?#") {
		base := "/latest/meta-data/network/interfaces/macs/" + e.MAC
		for _, q := range []struct {
			path string
			dst  *string
		}{{base + "/vpc-id", &e.VPCID}, {base + "/subnet-id", &e.SubnetID}} {
			v, err := get(q.path)
			if err != nil {
				errs = append(errs, err)
				continue
			}
			*q.dst = v
		}
	}
	if doc, err := get("/latest/dynamic/instance-identity/document"); err != nil {
		errs = append(errs, err)
	} else {
		var id struct {
			AccountID        string `json:"accountId"`
			InstanceID       string `json:"instanceId"`
			Region           string `json:"region"`
			AvailabilityZone string `json:"availabilityZone"`
		}
		if err := json.Unmarshal([]byte(doc), &id); err != nil {
			errs = append(errs, fmt.Errorf("imds /latest/dynamic/instance-identity/document: %w", err))
		}
		e.AccountID = id.AccountID
		// The document says the same as the paths; it fills what they did not.
		for _, f := range []struct {
			dst *string
			v   string
		}{{&e.InstanceID, id.InstanceID}, {&e.Region, id.Region}, {&e.AvailabilityZone, id.AvailabilityZone}} {
			if *f.dst == "" {
				*f.dst = f.v
			}
		}
	}
	if e.InstanceID == "" {
		errs = append(errs, errors.New("imds: no instance ID"))
		return nil, errors.Join(errs...)
	}
	return e, errors.Join(errs...)
}
