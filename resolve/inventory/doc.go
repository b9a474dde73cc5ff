// Package inventory reads what the AWS CLI prints about a VPC's endpoints,
// their network interfaces, its route tables and its prefix lists
// (describe-vpc-endpoints, describe-network-interfaces,
// describe-route-tables, the prefix-list calls), merges several such files
// into one Inventory, ties them together (an endpoint to the addresses of
// its interfaces, a route to its prefix list), and Check says whether the
// result can be taken for the truth about the VPC's S3 endpoints.
//
// The JSON is read with encoding/json, whose errors are reworded to name
// the member and what was expected there; nothing here reads JSON by hand.
package inventory
