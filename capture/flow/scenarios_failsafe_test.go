package flow

import (
	"bytes"
	"fmt"

	"github.com/gopacket/gopacket/layers"
	"github.com/miekg/dns"
)

// Addresses of the fail-safe scenarios, from the embedded ip-ranges.json
// (2026-08-22): a CloudFront address (where S3 Transfer Acceleration
// lands), a Global Accelerator address (Multi-Region Access Points), S3
// prefixes in ap-south-1 that S3 shares with EC2 and one only S3 lists,
// and an HTTP proxy inside the VPC.
const (
	scCloudFront = "13.224.0.10"   // AMAZON+CLOUDFRONT
	scGlobalAcc  = "99.83.128.10"  // AMAZON+GLOBALACCELERATOR
	scSharedS3   = "3.5.208.10"    // AMAZON+EC2+S3 3.5.208.0/22
	scSharedS3b  = "3.5.212.10"    // AMAZON+EC2+S3 3.5.212.0/23
	scOnlyS3     = "52.219.160.10" // AMAZON+S3 52.219.160.0/23
	scProxy      = "10.0.3.10:3128"
	scVpceName   = "bucket.vpce-0a1b2c3d4e5f67890-9hnenorg.s3.ap-south-1.vpce.amazonaws.com"
	scNAT64S3    = "64:ff9b::34db:400a" // 52.219.64.10 (AMAZON+S3 ap-south-1) through NAT64
)

// httpExchange writes a connection carrying one HTTP/1.1 request and its
// response, and a clean close.
func httpExchange(b *frameBuilder, client, server, request, response string) {
	c := b.conv(client, server)
	c.handshake()
	c.send(true, "PA", []byte(request))
	c.send(false, "PA", []byte(response))
	c.close()
}

// failSafeScenarios are the captures behind the fail-safe verdict rules:
// each is a case where an earlier build said PASS while S3 traffic
// bypassed the endpoint, or said nothing certain as if it were.
func failSafeScenarios() []scenario {
	return []scenario{
		{file: "front-doors.pcap", link: layers.LinkTypeEthernet, dns: 1,
			about: "one S3 connection to the endpoint, then three S3 front doors: Transfer Acceleration (a CloudFront address), a Multi-Region Access Point (Global Accelerator) and an S3 Express One Zone bucket (an S3 prefix shared with EC2)",
			build: func(b *frameBuilder) {
				endpointSession(b)
				tlsSession(b, scHost+":43700", scCloudFront+":443", "my-bucket.s3-accelerate.amazonaws.com")
				tlsSession(b, scHost+":43701", scGlobalAcc+":443", "mfzwi23gnjvgw.mrap.accesspoint.s3-global.amazonaws.com")
				tlsSession(b, scHost+":43702", scSharedS3+":443", "bucket--aps1-az1--x-s3.s3express-aps1-az1.ap-south-1.amazonaws.com")
			},
			flows: []wantFlow{endpointFlows[0],
				{scHost + ":43700", scCloudFront + ":443", "SF", "my-bucket.s3-accelerate.amazonaws.com", nil},
				{scHost + ":43701", scGlobalAcc + ":443", "SF", "mfzwi23gnjvgw.mrap.accesspoint.s3-global.amazonaws.com", nil},
				{scHost + ":43702", scSharedS3 + ":443", "SF", "bucket--aps1-az1--x-s3.s3express-aps1-az1.ap-south-1.amazonaws.com", nil},
			}},
		{file: "http-plain.pcap", link: layers.LinkTypeEthernet, dns: 1,
			about: "an application talking plain http:// to a public S3 address (port 80, Host my-bucket.s3.ap-south-1.amazonaws.com), and one HTTP request for a non-S3 host to an address S3 shares with EC2",
			build: func(b *frameBuilder) {
				lookup(b, 40020, scBucket, dns.TypeA, [3]string{scBucket, "A", scPublicS3})
				httpExchange(b, scHost+":43710", scPublicS3+":80",
					"GET /reports/2026.csv HTTP/1.1\r\nHost: "+scBucket+"\r\nUser-Agent: aws-cli/2.22\r\nAccept: */*\r\n\r\n",
					"HTTP/1.1 200 OK\r\nx-amz-request-id: 0A1B2C3D4E5F6789\r\nContent-Length: 5\r\n\r\nhello")
				httpExchange(b, scHost+":43711", "3.5.208.20:80",
					"GET / HTTP/1.1\r\nHost: app.example.com\r\n\r\n",
					"HTTP/1.1 204 No Content\r\n\r\n")
			},
			flows: []wantFlow{
				{scHost + ":43710", scPublicS3 + ":80", "SF", "", []string{scBucket}},
				{scHost + ":43711", "3.5.208.20:80", "SF", "", nil},
			}},
		{file: "proxy.pcap", link: layers.LinkTypeEthernet, dns: 0,
			about: "through an HTTP proxy in the VPC (10.0.3.10:3128): CONNECT to the endpoint's own name, then TLS with that SNI inside the tunnel; and a plain-HTTP absolute-URI request for a bucket",
			build: func(b *frameBuilder) {
				c := b.conv(scHost+":43720", scProxy)
				c.handshake()
				c.send(true, "PA", []byte("CONNECT "+scVpceName+":443 HTTP/1.1\r\nHost: "+scVpceName+":443\r\nUser-Agent: aws-cli/2.22\r\n\r\n"))
				c.send(false, "PA", []byte("HTTP/1.1 200 Connection established\r\n\r\n"))
				c.send(true, "PA", helloFor(b.t, scVpceName))
				c.send(false, "PA", bytes.Repeat([]byte{0x16}, 1200))
				c.send(true, "PA", bytes.Repeat([]byte{0x17}, 300))
				c.close()
				httpExchange(b, scHost+":43721", scProxy,
					"GET http://"+scBucket+"/reports/2026.csv HTTP/1.1\r\nHost: "+scBucket+"\r\n\r\n",
					"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n")
			},
			flows: []wantFlow{
				{scHost + ":43720", scProxy, "SF", scVpceName, nil},
				{scHost + ":43721", scProxy, "SF", "", nil},
			}},
		{file: "midstream-upload.pcap", link: layers.LinkTypeEthernet, dns: 0,
			about: "a capture that begins in the middle of a 197 kB TLS upload to a public S3 address: no SYN, no DNS, data one way and pure ACKs back",
			build: func(b *frameBuilder) {
				c := b.conv(scHost+":43730", scPublicS3+":443")
				c.cseq, c.sseq = 3000000, 7000000
				record := bytes.Repeat([]byte{0x17}, 1448)
				for i := range 136 {
					c.send(true, "A", record)
					if i%2 == 1 {
						c.send(false, "A", nil)
					}
				}
			},
			flows: []wantFlow{{scHost + ":43730", scPublicS3 + ":443", "OTH", "", nil}}},
		{file: "prefix-evidence.pcap", link: layers.LinkTypeEthernet, dns: 0,
			about: "names against prefixes: a complete hello for api.example.com to a prefix S3 shares with EC2 (not S3); a connection already under way to another shared S3 prefix, no name (S3 by address only); a hello for www.example.com to a prefix only S3 lists (S3 all the same)",
			build: func(b *frameBuilder) {
				tlsSession(b, scHost+":43740", "3.5.208.30:443", "api.example.com")
				c := b.conv(scHost+":43741", scSharedS3b+":443")
				c.cseq, c.sseq = 400000, 900000
				c.send(true, "PA", bytes.Repeat([]byte{0x17}, 1200))
				c.send(false, "PA", bytes.Repeat([]byte{0x17}, 800))
				c.send(true, "A", nil)
				tlsSession(b, scHost+":43742", scOnlyS3+":443", "www.example.com")
			},
			flows: []wantFlow{
				{scHost + ":43740", "3.5.208.30:443", "SF", "api.example.com", nil},
				{scHost + ":43741", scSharedS3b + ":443", "OTH", "", nil},
				{scHost + ":43742", scOnlyS3 + ":443", "SF", "www.example.com", nil},
			}},
		{file: "edge-unnamed.pcap", link: layers.LinkTypeEthernet, dns: 1,
			about: "one S3 connection to the endpoint, and a connection already under way to a CloudFront address (where S3 Transfer Acceleration lands) with no server name in the capture",
			build: func(b *frameBuilder) {
				endpointSession(b)
				c := b.conv(scHost+":43750", "13.224.0.20:443")
				c.cseq, c.sseq = 500000, 800000
				c.send(true, "PA", bytes.Repeat([]byte{0x17}, 900))
				c.send(false, "PA", bytes.Repeat([]byte{0x17}, 4000))
				c.send(true, "A", nil)
			},
			flows: []wantFlow{endpointFlows[0], {scHost + ":43750", "13.224.0.20:443", "OTH", "", nil}}},
		{file: "unread.pcapng", link: layers.LinkTypeEthernet, dns: 0,
			about: "one S3 connection to the endpoint, captured whole; then, cut by the snap length before any name, a CONNECT to a proxy (80 bytes), a ClientHello to a private address (80 bytes), and TLS to a private address on 8443 with none of its payload kept (54 bytes)",
			build: func(b *frameBuilder) {
				tlsSession(b, scHost+":43760", scEndpoint+":443", scRegional)
				b.snap = 80
				c := b.conv(scHost+":43761", scProxy)
				c.handshake()
				c.send(true, "PA", []byte("CONNECT "+scBucket+":443 HTTP/1.1\r\nHost: "+scBucket+":443\r\n\r\n"))
				c.send(false, "PA", []byte("HTTP/1.1 200 Connection established\r\n\r\n"))
				c.send(true, "PA", helloFor(b.t, scBucket))
				c.send(false, "PA", bytes.Repeat([]byte{0x16}, 1200))
				c.close()
				tlsSession(b, scHost+":43762", "10.0.5.20:443", scBucket)
				b.snap = 54
				tlsSession(b, scHost+":43763", "10.0.5.21:8443", scBucket)
			},
			flows: []wantFlow{{scHost + ":43760", scEndpoint + ":443", "SF", scRegional, nil},
				{scHost + ":43761", scProxy, "SF", "", nil},
				{scHost + ":43762", "10.0.5.20:443", "SF", "", nil},
				{scHost + ":43763", "10.0.5.21:8443", "SF", "", nil},
			}},
		{file: "nat64-upload.pcap", link: layers.LinkTypeEthernet, dns: 1,
			about: "an IPv6-only host (DNS64, and a NAT gateway's NAT64 for 64:ff9b::/96): one S3 connection to the endpoint, and an upload already under way to 64:ff9b::34db:400b, which embeds the public S3 address 52.219.64.11; no name",
			build: func(b *frameBuilder) {
				endpointSession(b)
				c := b.conv("["+scHost6+"]:43781", "[64:ff9b::34db:400b]:443")
				c.cseq, c.sseq = 3000000, 7000000
				for i := range 20 {
					c.send(true, "A", bytes.Repeat([]byte{0x17}, 1400))
					if i%2 == 1 {
						c.send(false, "A", nil)
					}
				}
			},
			flows: []wantFlow{endpointFlows[0], {"[" + scHost6 + "]:43781", "[64:ff9b::34db:400b]:443", "OTH", "", nil}}},
		{file: "nat64-named.pcap", link: layers.LinkTypeEthernet, dns: 1,
			about: "an IPv6-only host: DNS64 answers a bucket's AAAA with 64:ff9b::34db:400a (52.219.64.10, public S3 through NAT64), and the host connects there with the bucket's name",
			build: func(b *frameBuilder) {
				lookup(b, 40030, scBucket, dns.TypeAAAA, [3]string{scBucket, "AAAA", scNAT64S3})
				tlsSession(b, "["+scHost6+"]:43780", "["+scNAT64S3+"]:443", scBucket)
			},
			flows: []wantFlow{{"[" + scHost6 + "]:43780", "[" + scNAT64S3 + "]:443", "SF", scBucket, []string{scBucket}}}},
		{file: "midstream-private.pcap", link: layers.LinkTypeEthernet, dns: 1,
			about: "one S3 connection to the endpoint, captured whole; and three connections already under way when the capture began, no name: a CONNECT tunnel through the proxy (10.0.3.10:3128), TLS to a private address on 443 (another zone's endpoint ENI?), and SSH to a private address",
			build: func(b *frameBuilder) {
				endpointSession(b)
				for i, server := range []string{scProxy, "10.0.2.51:443", "10.0.5.22:22"} {
					c := b.conv(fmt.Sprintf("%s:%d", scHost, 43790+i), server)
					c.cseq, c.sseq = 3000000, 7000000
					for j := range 6 {
						c.send(true, "PA", bytes.Repeat([]byte{0x17}, 1400))
						if j%2 == 1 {
							c.send(false, "A", nil)
						}
					}
				}
			},
			flows: []wantFlow{endpointFlows[0],
				{scHost + ":43790", scProxy, "OTH", "", nil},
				{scHost + ":43791", "10.0.2.51:443", "OTH", "", nil},
				{scHost + ":43792", "10.0.5.22:22", "OTH", "", nil},
			}},
		{file: "port-reuse.pcap", link: layers.LinkTypeEthernet, dns: 1,
			about: "one S3 connection to the endpoint; then a connection to an address S3 shares with EC2 (3.5.208.10) whose ClientHello names www.example.com and whose end the capture does not show, and a new connection on the same 4-tuple (a new SYN, another ISN) whose ClientHello names a bucket",
			build: func(b *frameBuilder) {
				endpointSession(b)
				c := b.conv(scHost+":43800", scSharedS3+":443")
				c.handshake()
				c.send(true, "PA", helloFor(b.t, "www.example.com"))
				c.send(false, "PA", bytes.Repeat([]byte{0x16}, 1200))
				c = b.conv(scHost+":43800", scSharedS3+":443")
				c.cseq, c.sseq = 900000, 800000
				c.handshake()
				c.send(true, "PA", helloFor(b.t, scBucket))
				c.send(false, "PA", bytes.Repeat([]byte{0x16}, 1200))
				c.send(true, "PA", bytes.Repeat([]byte{0x17}, 300))
				c.close()
			},
			flows: []wantFlow{endpointFlows[0],
				{scHost + ":43800", scSharedS3 + ":443", "S1", "www.example.com", nil},
				{scHost + ":43800", scSharedS3 + ":443", "SF", scBucket, nil},
			}},
		{file: "resent-hello.pcap", link: layers.LinkTypeEthernet, dns: 1,
			about: "one S3 connection to the endpoint; then, to an address S3 shares with EC2 (3.5.208.10), a ClientHello for www.example.com and, at the same sequence number, another for a bucket (a decoy the server may never have had: a bad checksum, a short TTL), then data each way",
			build: func(b *frameBuilder) {
				endpointSession(b)
				c := b.conv(scHost+":43810", scSharedS3+":443")
				c.handshake()
				c.at(true, "PA", c.cseq, helloFor(b.t, "www.example.com"))
				c.send(true, "PA", helloFor(b.t, scBucket))
				c.send(false, "PA", bytes.Repeat([]byte{0x16}, 1200))
				c.send(true, "PA", bytes.Repeat([]byte{0x17}, 300))
				c.close()
			},
			flows: []wantFlow{endpointFlows[0], {scHost + ":43810", scSharedS3 + ":443", "SF", "www.example.com", nil}}},
		{file: "resent-connect.pcap", link: layers.LinkTypeEthernet, dns: 1,
			about: "one S3 connection to the endpoint; then, to the proxy, a CONNECT for api.example.com and, at the same sequence number, a CONNECT for a bucket, then the tunnel",
			build: func(b *frameBuilder) {
				endpointSession(b)
				c := b.conv(scHost+":43811", scProxy)
				c.handshake()
				c.at(true, "PA", c.cseq, []byte("CONNECT api.example.com:443 HTTP/1.1\r\nHost: api.example.com:443\r\n\r\n"))
				c.send(true, "PA", []byte("CONNECT "+scBucket+":443 HTTP/1.1\r\nHost: "+scBucket+":443\r\n\r\n"))
				c.send(false, "PA", []byte("HTTP/1.1 200 Connection established\r\n\r\n"))
				c.send(true, "PA", bytes.Repeat([]byte{0x17}, 300))
				c.send(false, "PA", bytes.Repeat([]byte{0x17}, 900))
				c.close()
			},
			flows: []wantFlow{endpointFlows[0], {scHost + ":43811", scProxy, "SF", "", nil}}},
		{file: "gre-tunnel.pcap", link: layers.LinkTypeEthernet, dns: 1,
			about: "one S3 connection to the endpoint; then, inside a GRE tunnel (IP protocol 47, as Transit Gateway Connect and SD-WAN appliances use) from 172.31.0.238 to 172.31.17.188, a connection to a public S3 address with a bucket's name",
			build: func(b *frameBuilder) {
				endpointSession(b)
				b.tunnel = "gre"
				tlsSession(b, scHost+":43820", scPublicS3+":443", scBucket)
			},
			flows: []wantFlow{endpointFlows[0], {scHost + ":43820", scPublicS3 + ":443", "SF", scBucket, nil}}},
		{file: "proxy-keepalive.pcap", link: layers.LinkTypeEthernet, dns: 1,
			about: "one S3 connection to the endpoint; then three keep-alive connections to the proxy: GET http://deb.debian.org/, a POST with a 5-byte body, then GET for a bucket; GET deb.debian.org then security.debian.org; a chunked POST, then GET for a bucket",
			build: func(b *frameBuilder) {
				endpointSession(b)
				ok := "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n"
				c := b.conv(scHost+":43830", scProxy)
				c.handshake()
				for _, req := range []string{
					"GET http://deb.debian.org/debian/dists/stable/InRelease HTTP/1.1\r\nHost: deb.debian.org\r\n\r\n",
					"POST http://api.example.com/v1 HTTP/1.1\r\nHost: api.example.com\r\nContent-Length: 5\r\n\r\nhello",
					"GET http://" + scBucket + "/reports/2026.csv HTTP/1.1\r\nHost: " + scBucket + "\r\n\r\n",
				} {
					c.send(true, "PA", []byte(req))
					c.send(false, "PA", []byte(ok))
				}
				c.close()
				c = b.conv(scHost+":43831", scProxy)
				c.handshake()
				for _, req := range []string{
					"GET http://deb.debian.org/debian/dists/stable/InRelease HTTP/1.1\r\nHost: deb.debian.org\r\n\r\n",
					"GET http://security.debian.org/debian-security/dists/stable-security/InRelease HTTP/1.1\r\nHost: security.debian.org\r\n\r\n",
				} {
					c.send(true, "PA", []byte(req))
					c.send(false, "PA", []byte(ok))
				}
				c.close()
				c = b.conv(scHost+":43832", scProxy)
				c.handshake()
				for _, req := range []string{
					"POST http://api.example.com/v1 HTTP/1.1\r\nHost: api.example.com\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n",
					"GET http://" + scBucket + "/reports/2026.csv HTTP/1.1\r\nHost: " + scBucket + "\r\n\r\n",
				} {
					c.send(true, "PA", []byte(req))
					c.send(false, "PA", []byte(ok))
				}
				c.close()
			},
			flows: []wantFlow{endpointFlows[0],
				{scHost + ":43830", scProxy, "SF", "", nil},
				{scHost + ":43831", scProxy, "SF", "", nil},
				{scHost + ":43832", scProxy, "SF", "", nil},
			}},
		{file: "proxy-ip-target.pcap", link: layers.LinkTypeEthernet, dns: 1,
			about: "one S3 connection to the endpoint; then three through the proxy: CONNECT to a public S3 address (52.219.64.10:443) with a ClientHello for a bucket in the tunnel, CONNECT to api.example.com:443 with a ClientHello for a bucket in the tunnel, and GET http://52.219.64.11/my-bucket/key (path-style, by address)",
			build: func(b *frameBuilder) {
				endpointSession(b)
				for i, target := range []string{"52.219.64.10:443", "api.example.com:443"} {
					c := b.conv(fmt.Sprintf("%s:%d", scHost, 43840+i), scProxy)
					c.handshake()
					c.send(true, "PA", []byte("CONNECT "+target+" HTTP/1.1\r\nHost: "+target+"\r\n\r\n"))
					c.send(false, "PA", []byte("HTTP/1.1 200 Connection established\r\n\r\n"))
					c.send(true, "PA", helloFor(b.t, scBucket))
					c.send(false, "PA", bytes.Repeat([]byte{0x16}, 1200))
					c.close()
				}
				httpExchange(b, scHost+":43842", scProxy, "GET http://52.219.64.11/my-bucket/key HTTP/1.1\r\nHost: 52.219.64.11\r\n\r\n", "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n")
			},
			flows: []wantFlow{endpointFlows[0],
				{scHost + ":43840", scProxy, "SF", scBucket, nil},
				{scHost + ":43841", scProxy, "SF", scBucket, nil},
				{scHost + ":43842", scProxy, "SF", "", nil},
			}},
		{file: "vxlan-8472.pcap", link: layers.LinkTypeEthernet, dns: 1,
			about: "one S3 connection to the endpoint; then, in VXLAN on Linux's port 8472 (flannel's vxlan backend between Kubernetes nodes), a CONNECT for a bucket to a proxy pod",
			build: func(b *frameBuilder) {
				endpointSession(b)
				b.tunnel = "vxlan8472"
				c := b.conv("10.244.1.7:43850", "10.244.2.9:3128")
				c.handshake()
				c.send(true, "PA", []byte("CONNECT "+scBucket+":443 HTTP/1.1\r\nHost: "+scBucket+":443\r\n\r\n"))
				c.send(false, "PA", []byte("HTTP/1.1 200 Connection established\r\n\r\n"))
				c.send(true, "PA", helloFor(b.t, scBucket))
				c.send(false, "PA", bytes.Repeat([]byte{0x16}, 1200))
				c.close()
			},
			flows: []wantFlow{endpointFlows[0], {"10.244.1.7:43850", "10.244.2.9:3128", "SF", scBucket, nil}}},
		{file: "one-way.pcap", link: layers.LinkTypeEthernet, dns: 1,
			about: "one S3 connection to the endpoint, both ways; then a connection to a public S3 address of which the capture holds only what the host sent (a mirror filter that dropped inbound traffic from outside the VPC): SYN, the ACK of the unseen SYN-ACK, a ClientHello for a bucket, data, FIN",
			build: func(b *frameBuilder) {
				endpointSession(b)
				c := b.conv(scHost+":43860", scPublicS3+":443")
				c.send(true, "S", nil)
				c.sseq++ // the SYN-ACK the capture did not hold
				c.send(true, "A", nil)
				c.send(true, "PA", helloFor(b.t, scBucket))
				c.sseq += 1200
				c.send(true, "PA", bytes.Repeat([]byte{0x17}, 300))
				c.sseq += 900
				c.send(true, "FA", nil)
			},
			flows: []wantFlow{endpointFlows[0], {scHost + ":43860", scPublicS3 + ":443", "SH", scBucket, nil}}},
		{file: "other-service-endpoint.pcap", link: layers.LinkTypeEthernet, dns: 1,
			about: "one S3 connection to the S3 endpoint; then TLS for a bucket to 10.0.2.80, the network interface of an SQS interface endpoint (a hosts-file pin, a wrong private zone)",
			build: func(b *frameBuilder) {
				endpointSession(b)
				tlsSession(b, scHost+":43870", "10.0.2.80:443", scBucket)
			},
			flows: []wantFlow{endpointFlows[0], {scHost + ":43870", "10.0.2.80:443", "SF", scBucket, nil}}},
		{file: "hello-retry.pcap", link: layers.LinkTypeEthernet, dns: 1,
			about: "one S3 connection to the endpoint; then, to an address S3 shares with EC2 (3.5.208.10), a ClientHello for www.example.com, a stand-in for the server's HelloRetryRequest, and a second ClientHello (after change_cipher_spec) for a bucket",
			build: func(b *frameBuilder) {
				endpointSession(b)
				c := b.conv(scHost+":43880", scSharedS3+":443")
				c.handshake()
				c.send(true, "PA", helloFor(b.t, "www.example.com"))
				c.send(false, "PA", bytes.Repeat([]byte{0x16}, 100))
				c.send(true, "PA", append([]byte{0x14, 3, 3, 0, 1, 1}, helloFor(b.t, scBucket)...))
				c.send(false, "PA", bytes.Repeat([]byte{0x16}, 1200))
				c.send(true, "PA", bytes.Repeat([]byte{0x17}, 300))
				c.close()
			},
			flows: []wantFlow{endpointFlows[0], {scHost + ":43880", scSharedS3 + ":443", "SF", "www.example.com", nil}}},
		{file: "proxy-public.pcap", link: layers.LinkTypeEthernet, dns: 1,
			about: "one S3 connection to the endpoint; then a CONNECT for a bucket to an HTTP proxy on the internet (198.51.100.7:3128), and the tunnel",
			build: func(b *frameBuilder) {
				endpointSession(b)
				c := b.conv(scHost+":43890", "198.51.100.7:3128")
				c.handshake()
				c.send(true, "PA", []byte("CONNECT "+scBucket+":443 HTTP/1.1\r\nHost: "+scBucket+":443\r\n\r\n"))
				c.send(false, "PA", []byte("HTTP/1.1 200 Connection established\r\n\r\n"))
				c.send(true, "PA", helloFor(b.t, scBucket))
				c.send(false, "PA", bytes.Repeat([]byte{0x16}, 1200))
				c.close()
			},
			flows: []wantFlow{endpointFlows[0], {scHost + ":43890", "198.51.100.7:3128", "SF", scBucket, nil}}},
		{file: "unread-clear.pcapng", link: layers.LinkTypeEthernet, dns: 0,
			about: "one S3 connection to the endpoint, captured whole; then connections whose cut or whole first bytes clear them: an SSH banner cut at 80 bytes, PostgreSQL with no payload kept (54 bytes), a whole ClientHello for a non-S3 name to a private address, a whole CONNECT to a proxy for a non-S3 host",
			build: func(b *frameBuilder) {
				tlsSession(b, scHost+":43770", scEndpoint+":443", scRegional)
				b.snap = 80
				httpExchange(b, scHost+":43771", "10.0.5.22:22", "SSH-2.0-OpenSSH_9.6p1 Debian-3ubuntu13\r\n", "SSH-2.0-OpenSSH_9.2p1 Debian-2\r\n")
				b.snap = 54
				httpExchange(b, scHost+":43772", "10.0.5.23:5432", string(bytes.Repeat([]byte{0, 0, 0, 8, 4, 0xd2, 0x16, 0x2f}, 4)), "N")
				b.snap = 0
				tlsSession(b, scHost+":43773", "10.0.5.24:443", "db.internal.example")
				httpExchange(b, scHost+":43774", scProxy, "CONNECT api.example.com:443 HTTP/1.1\r\nHost: api.example.com:443\r\n\r\n", "HTTP/1.1 200 Connection established\r\n\r\n")
			},
			flows: []wantFlow{{scHost + ":43770", scEndpoint + ":443", "SF", scRegional, nil},
				{scHost + ":43771", "10.0.5.22:22", "SF", "", nil},
				{scHost + ":43772", "10.0.5.23:5432", "SF", "", nil},
				{scHost + ":43773", "10.0.5.24:443", "SF", "db.internal.example", nil},
				{scHost + ":43774", scProxy, "SF", "", nil},
			}},
		{file: "midstream-download.pcap", link: layers.LinkTypeEthernet, dns: 1,
			about: "one S3 connection to the endpoint, captured whole; and a download already under way when the capture began from the proxy (10.0.3.10:3128): data from the server, pure ACKs from the client, no name",
			build: func(b *frameBuilder) {
				endpointSession(b)
				c := b.conv(scHost+":43799", scProxy)
				c.cseq, c.sseq = 3000000, 7000000
				for range 6 {
					c.send(false, "PA", bytes.Repeat([]byte{0x17}, 1400))
					c.send(true, "A", nil)
				}
			},
			flows: []wantFlow{endpointFlows[0], {scHost + ":43799", scProxy, "OTH", "", nil}}},
		{file: "proxy-cut-keepalive.pcapng", link: layers.LinkTypeEthernet, dns: 0,
			about: "one S3 connection to the endpoint, captured whole; and a keep-alive connection to the proxy cut at 100 bytes a frame: a GET for deb.debian.org whose line is cut after the host, then a GET for a bucket that no frame holds whole",
			build: func(b *frameBuilder) {
				tlsSession(b, scHost+":43800", scEndpoint+":443", scRegional)
				b.snap = 100
				c := b.conv(scHost+":43801", scProxy)
				c.handshake()
				c.send(true, "PA", []byte("GET http://deb.debian.org/debian/pool/main/c/curl/curl_8.14.1-2_amd64.deb HTTP/1.1\r\nHost: deb.debian.org\r\n\r\n"))
				c.send(false, "PA", []byte("HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n"))
				c.send(true, "PA", []byte("GET http://my-bucket.s3.ap-south-1.amazonaws.com/reports/2026.csv HTTP/1.1\r\nHost: my-bucket.s3.ap-south-1.amazonaws.com\r\n\r\n"))
				c.send(false, "PA", []byte("HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n"))
				c.close()
			},
			flows: []wantFlow{{scHost + ":43800", scEndpoint + ":443", "SF", scRegional, nil}, {scHost + ":43801", scProxy, "SF", "", nil}}},
	}
}
