// Package resolve answers what names and addresses are: it asks DNS, loads
// AWS's published ip-ranges.json, reads the endpoint inventory that the AWS
// CLI prints, recognises S3 host names (with package s3name), and
// classifies each address as an interface endpoint, a public AWS address
// (with service, region and prefix), another private address, or a public
// address outside AWS.
package resolve
