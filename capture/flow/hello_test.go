package flow

import (
	"bytes"
	"fmt"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/gopacket/gopacket/layers"

	"github.com/vpce-verify/vpce-verify/internal/testenv"
)

const (
	proxyAddr = "10.0.3.128:3128"
	connectS3 = "CONNECT " + scBucket + ":443 HTTP/1.1\r\nHost: " + scBucket + ":443\r\nUser-Agent: curl/7.88.1\r\nProxy-Connection: Keep-Alive\r\n\r\n"
	proxyOK   = "HTTP/1.1 200 Connection established\r\n\r\n"
)

// firstBytesWant is what a test expects a flow's first bytes to say.
type firstBytesWant struct {
	hello, sni string
	inTunnel   bool
	http       HTTPInfo
}

func firstBytesGot(f *Flow) firstBytesWant {
	return firstBytesWant{f.TLS.Hello, f.TLS.SNI, f.TLS.InTunnel, f.HTTP}
}

// proxied writes a connection through an HTTP proxy: CONNECT, the proxy's
// 200, then the tunnelled ClientHello and a server flight.
func proxied(b *frameBuilder, client string, connect string, hello []byte) *conv {
	c := b.conv(client, proxyAddr)
	c.handshake()
	c.send(true, "PA", []byte(connect))
	c.send(false, "PA", []byte(proxyOK))
	if hello != nil {
		c.send(true, "PA", hello)
		c.send(false, "PA", bytes.Repeat([]byte{0x16}, 1200))
	}
	return c
}

func TestFlowFirstBytes(t *testing.T) {
	getS3 := "GET /key.txt HTTP/1.1\r\nHost: " + scBucket + "\r\nUser-Agent: aws-cli/2.15\r\n\r\n"
	absolute := "GET http://" + scBucket + "/key.txt HTTP/1.1\r\nHost: " + scBucket + "\r\nProxy-Connection: Keep-Alive\r\n\r\n"
	connectHTTP := HTTPInfo{Request: HTTPComplete, Method: "CONNECT", Target: scBucket + ":443", Host: scBucket + ":443", ProxyHost: scBucket, ProxyPort: 443}
	tests := []struct {
		name    string
		packets func(t *testing.T, b *frameBuilder)
		want    firstBytesWant
	}{
		{"tls", func(t *testing.T, b *frameBuilder) {
			tlsSession(b, scHost+":43528", scEndpoint+":443", scBucket)
		}, firstBytesWant{hello: HelloComplete, sni: scBucket, http: HTTPInfo{Request: HTTPNotHTTP}}},

		{"plain http to s3", func(t *testing.T, b *frameBuilder) {
			c := b.conv(scHost+":43528", scPublicS3+":80")
			c.handshake()
			c.send(true, "PA", []byte(getS3))
			c.send(false, "PA", []byte("HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n"))
			c.close()
		}, firstBytesWant{hello: HelloNotTLS, http: HTTPInfo{Request: HTTPComplete, Method: "GET", Target: "/key.txt", Host: scBucket}}},

		{"absolute-form through a proxy", func(t *testing.T, b *frameBuilder) {
			c := b.conv(scHost+":43528", proxyAddr)
			c.handshake()
			c.send(true, "PA", []byte(absolute))
		}, firstBytesWant{hello: HelloNotTLS, http: HTTPInfo{Request: HTTPComplete, Method: "GET", Target: "http://" + scBucket + "/key.txt", Host: scBucket, ProxyHost: scBucket, ProxyPort: 80}}},

		{"connect, then tls in the tunnel", func(t *testing.T, b *frameBuilder) {
			proxied(b, scHost+":43528", connectS3, helloFor(t, scBucket)).close()
		}, firstBytesWant{hello: HelloComplete, sni: scBucket, inTunnel: true, http: connectHTTP}},

		{"connect and hello split and out of order", func(t *testing.T, b *frameBuilder) {
			c := b.conv(scHost+":43528", proxyAddr)
			c.handshake()
			stream := append([]byte(connectS3), helloFor(t, scBucket)...)
			// Five pieces, one cut inside the CONNECT, delivered last first.
			cuts := []int{0, 20, len(connectS3) - 3, len(connectS3) + 700, len(connectS3) + 1448, len(stream)}
			start := c.cseq
			for i := len(cuts) - 2; i >= 0; i-- {
				c.at(true, "PA", start+uint32(cuts[i]), stream[cuts[i]:cuts[i+1]])
			}
			c.cseq += uint32(len(stream))
			c.send(false, "PA", []byte(proxyOK))
		}, firstBytesWant{hello: HelloComplete, sni: scBucket, inTunnel: true, http: connectHTTP}},

		{"connect with the hello in the same segment", func(t *testing.T, b *frameBuilder) {
			c := b.conv(scHost+":43528", proxyAddr)
			c.handshake()
			c.send(true, "PA", append([]byte(connectS3), helloFor(t, scRegional)...))
		}, firstBytesWant{hello: HelloComplete, sni: scRegional, inTunnel: true, http: connectHTTP}},

		{"connect, tunnel not captured", func(t *testing.T, b *frameBuilder) {
			proxied(b, scHost+":43528", connectS3, nil)
		}, firstBytesWant{hello: HelloNotSeen, inTunnel: true, http: connectHTTP}},

		{"connect, no tls in the tunnel", func(t *testing.T, b *frameBuilder) {
			proxied(b, scHost+":43528", connectS3, []byte("SSH-2.0-OpenSSH_9.6\r\n"))
		}, firstBytesWant{hello: HelloNotTLS, inTunnel: true, http: connectHTTP}},

		{"connect without a port", func(t *testing.T, b *frameBuilder) {
			c := b.conv(scHost+":43528", proxyAddr)
			c.handshake()
			c.send(true, "PA", []byte("CONNECT "+scBucket+" HTTP/1.1\r\nHost: "+scBucket+"\r\n\r\n"))
			c.send(true, "PA", helloFor(t, scBucket))
		}, firstBytesWant{hello: HelloNotTLS, http: HTTPInfo{Request: HTTPMalformed, Method: "CONNECT", Target: scBucket,
			Err: `http: CONNECT target "` + scBucket + `" has no port`}}},

		{"request whose headers never end", func(t *testing.T, b *frameBuilder) {
			c := b.conv(scHost+":43528", scPublicS3+":80")
			c.handshake()
			c.send(true, "PA", []byte("PUT /k HTTP/1.1\r\nHost: "+scBucket+"\r\nContent-Le"))
		}, firstBytesWant{hello: HelloNotTLS, http: HTTPInfo{Request: HTTPIncomplete, Method: "PUT", Target: "/k", Host: scBucket}}},

		{"headers beyond 8 KiB", func(t *testing.T, b *frameBuilder) {
			c := b.conv(scHost+":43528", scPublicS3+":80")
			c.handshake()
			req := "GET / HTTP/1.1\r\nHost: " + scBucket + "\r\nCookie: " + strings.Repeat("c", 9000) + "\r\n\r\n"
			for s := range slices.Chunk([]byte(req), 1400) {
				c.send(true, "PA", s)
			}
		}, firstBytesWant{hello: HelloNotTLS, http: HTTPInfo{Request: HTTPMalformed, Method: "GET", Target: "/", Host: scBucket,
			Err: "http: request line and header fields do not end within 8192 bytes"}}},

		{"midstream application data", func(t *testing.T, b *frameBuilder) {
			c := b.conv(scHost+":43528", scPublicS3+":443")
			for range 20 {
				c.send(true, "PA", bytes.Repeat([]byte{0x17, 3, 3, 0, 0x10}, 100))
			}
		}, firstBytesWant{hello: HelloNotSeen, http: HTTPInfo{Request: HTTPNotSeen}}},

		{"midstream, a hello without the SYN", func(t *testing.T, b *frameBuilder) {
			c := b.conv(scHost+":43528", scPublicS3+":443")
			c.send(true, "PA", helloFor(t, scBucket))
		}, firstBytesWant{hello: HelloComplete, sni: scBucket, http: HTTPInfo{Request: HTTPNotHTTP}}},

		{"midstream, a request after body bytes", func(t *testing.T, b *frameBuilder) {
			c := b.conv(scHost+":43528", scPublicS3+":80")
			c.send(true, "PA", []byte("PUT body bytes of an earlier request\r\n"))
			c.send(true, "PA", []byte(getS3))
		}, firstBytesWant{hello: HelloNotTLS, http: HTTPInfo{Request: HTTPComplete, Method: "GET", Target: "/key.txt", Host: scBucket}}},

		{"first data segment missing", func(t *testing.T, b *frameBuilder) {
			c := b.conv(scHost+":43528", scPublicS3+":443")
			c.handshake()
			h := helloFor(t, scBucket)
			c.at(true, "PA", c.cseq+1448, h[1448:])
		}, firstBytesWant{hello: HelloNotSeen, http: HTTPInfo{Request: HTTPNotSeen}}},

		{"plaintext preamble, then tls", func(t *testing.T, b *frameBuilder) {
			c := b.conv(scHost+":43528", scPublicS3+":5432")
			c.handshake()
			c.send(true, "PA", []byte{0, 0, 0, 8, 4, 0xd2, 0x16, 0x2f}) // PostgreSQL SSLRequest
			c.send(false, "PA", []byte("S"))
			c.send(true, "PA", helloFor(t, scBucket))
		}, firstBytesWant{hello: HelloComplete, sni: scBucket, http: HTTPInfo{Request: HTTPNotHTTP}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := newBuilder(t, layers.LinkTypeEthernet)
			tt.packets(t, b)
			r := b.analyze(Options{})
			if len(r.Flows) != 1 {
				t.Fatalf("%d flows, want 1", len(r.Flows))
			}
			if got := firstBytesGot(r.Flows[0]); got != tt.want {
				t.Errorf("got  %+v\nwant %+v", got, tt.want)
			}
		})
	}
}

// TestFlowFirstBytesMatchTshark writes proxied and plain HTTP connections to
// a capture and compares what we read with tshark's dissection: the
// request, its Host, and the SNI tshark finds inside the CONNECT tunnel.
func TestFlowFirstBytesMatchTshark(t *testing.T) {
	tshark := testenv.Tool(t, "tshark")
	b := newBuilder(t, layers.LinkTypeEthernet)
	proxied(b, scHost+":43601", connectS3, helloFor(t, scBucket)).close()
	proxied(b, scHost+":43602", "CONNECT [2406:da60:a000::10]:443 HTTP/1.1\r\nHost: [2406:da60:a000::10]:443\r\n\r\n", helloFor(t, scRegional)).close()
	c := b.conv(scHost+":43603", proxyAddr)
	c.handshake()
	c.send(true, "PA", []byte("PUT http://"+scBucket+":8080/k HTTP/1.1\r\nHost: "+scBucket+":8080\r\nContent-Length: 0\r\n\r\n"))
	c.send(false, "PA", []byte("HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n"))
	c.close()
	c = b.conv(scHost+":43604", scPublicS3+":80")
	c.handshake()
	c.send(true, "PA", []byte("GET /key.txt HTTP/1.1\r\nHost: "+scBucket+"\r\n\r\n"))
	c.send(false, "PA", []byte("HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n"))
	c.close()
	path := filepath.Join(t.TempDir(), "http.pcap")
	writeCapture(t, path, b.frames)
	r := readCapture(t, path)

	var ours []string
	for _, f := range r.Flows {
		ours = append(ours, fmt.Sprintf("%d|%s|%s|%s", f.Client.Port(), f.HTTP.Method, f.HTTP.Target, f.HTTP.Host))
		if f.TLS.SNI != "" {
			ours = append(ours, fmt.Sprintf("%d|sni|%s", f.Client.Port(), f.TLS.SNI))
		}
	}
	var theirs []string
	for _, line := range tsharkFields(t, tshark, path, "http.request || tls.handshake.type==1",
		"tcp.srcport", "http.request.method", "http.request.uri", "http.host", "tls.handshake.extensions_server_name") {
		f := strings.Split(line, "|")
		if f[1] != "" {
			theirs = append(theirs, strings.Join(f[:4], "|"))
		}
		if f[4] != "" {
			theirs = append(theirs, f[0]+"|sni|"+f[4])
		}
	}
	if !slices.Equal(ours, theirs) || len(ours) != 6 {
		t.Errorf("ours   %q\ntshark %q", ours, theirs)
	}
	for _, f := range r.Flows[:2] {
		if !f.TLS.InTunnel || f.HTTP.ProxyPort != 443 {
			t.Errorf("%s: in tunnel %v, proxy port %d; want the hello inside the CONNECT tunnel to port 443", f.Client, f.TLS.InTunnel, f.HTTP.ProxyPort)
		}
	}
	if h := r.Flows[1].HTTP.ProxyHost; h != scPublicS3v6 {
		t.Errorf("CONNECT to an IPv6 literal: proxy host %q, want %q", h, scPublicS3v6)
	}
	if h := r.Flows[2].HTTP; h.ProxyHost != scBucket || h.ProxyPort != 8080 {
		t.Errorf("absolute-form target: proxy %q port %d, want %s 8080", h.ProxyHost, h.ProxyPort, scBucket)
	}
}

// TestCorpusHTTPMatchesTshark reads the HTTP requests of the real captures
// that carry them and compares each connection's first request with
// tshark's.
func TestCorpusHTTPMatchesTshark(t *testing.T) {
	tshark := testenv.Tool(t, "tshark")
	for _, name := range []string{"http-vlan-0.pcap", "vxlan-encapsulated-http.pcap"} {
		t.Run(name, func(t *testing.T) {
			r, _ := analyzeCorpusFile(t, name)
			first := map[string]string{}
			var order []string
			for _, line := range tsharkFields(t, tshark, testenv.Shared(t, "corpus", name), "http.request",
				"tcp.srcport", "http.request.method", "http.request.uri", "http.host") {
				f := strings.Split(line, "|")
				port := lastValue(f[0])
				if _, ok := first[port]; !ok {
					first[port] = strings.Join(f[1:], "|")
					order = append(order, port)
				}
			}
			if len(first) == 0 {
				t.Fatal("tshark found no request")
			}
			for _, port := range order {
				var fl *Flow
				for _, f := range r.Flows {
					if strconv.Itoa(int(f.Client.Port())) == port {
						fl = f
					}
				}
				if fl == nil {
					t.Errorf("no flow from port %s", port)
					continue
				}
				got := fl.HTTP.Method + "|" + fl.HTTP.Target + "|" + fl.HTTP.Host
				if fl.HTTP.Request != HTTPComplete || got != first[port] {
					t.Errorf("port %s: ours %s %q, tshark %q", port, fl.HTTP.Request, got, first[port])
				}
			}
		})
	}
}

// TestResent: first bytes sent again with other contents before the server
// acknowledged them may be what the server took (the first copy a decoy
// with a bad checksum or a short TTL): Resent says so. A copy sent again
// whole is a retransmission, and one sent after the server's
// acknowledgement cannot change what it took.
func TestResent(t *testing.T) {
	decoy, real := helloFor(t, "www.example.com"), helloFor(t, "my-bucket.s3.ap-south-1.amazonaws.com")
	tests := []struct {
		name     string
		second   []byte
		ackFirst bool
		resent   bool
	}{
		{"the same copy again", decoy, false, false},
		{"another hello before the acknowledgement", real, false, true},
		{"another hello after the acknowledgement", real, true, false},
		{"a cut copy that differs", real[:40], false, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			b := newBuilder(t, layers.LinkTypeEthernet)
			c := b.conv("10.0.1.25:43528", "3.5.208.10:443")
			c.handshake()
			start := c.cseq
			c.send(true, "PA", decoy)
			if tc.ackFirst {
				c.send(false, "A", nil)
			}
			c.at(true, "PA", start, tc.second)
			c.send(false, "PA", []byte("server flight"))
			f := b.analyze(Options{}).Flows[0]
			if f.TLS.SNI != "www.example.com" || f.Resent != tc.resent {
				t.Errorf("SNI %q resent %v; want the first copy's name and resent %v", f.TLS.SNI, f.Resent, tc.resent)
			}
		})
	}
	t.Run("a CONNECT sent again for another host", func(t *testing.T) {
		b := newBuilder(t, layers.LinkTypeEthernet)
		c := b.conv("10.0.1.25:43528", "10.0.3.10:3128")
		c.handshake()
		start := c.cseq
		c.send(true, "PA", []byte("CONNECT api.example.com:443 HTTP/1.1\r\n\r\n"))
		c.at(true, "PA", start, []byte("CONNECT my-bucket.s3.ap-south-1.amazonaws.com:443 HTTP/1.1\r\n\r\n"))
		f := b.analyze(Options{}).Flows[0]
		if f.HTTP.ProxyHost != "api.example.com" || !f.Resent {
			t.Errorf("proxy host %q resent %v; want api.example.com and resent", f.HTTP.ProxyHost, f.Resent)
		}
	})
}

// TestLaterRequests: on a keep-alive connection to a proxy, each request
// is found after the one before by its header and Content-Length, however
// the segments cut them, and the hosts they ask for are kept.
func TestLaterRequests(t *testing.T) {
	stream := "GET http://deb.debian.org/a HTTP/1.1\r\nHost: deb.debian.org\r\n\r\n" +
		"PUT http://api.example.com/b HTTP/1.1\r\nHost: api.example.com\r\nContent-Length: 2000\r\n\r\n" + strings.Repeat("GET http://x.example/ HTTP/1.1\r\n\r\n", 60)[:2000] +
		"GET http://deb.debian.org/c HTTP/1.1\r\nHost: deb.debian.org\r\n\r\n" +
		"GET http://my-bucket.s3.ap-south-1.amazonaws.com/k HTTP/1.1\r\nHost: my-bucket.s3.ap-south-1.amazonaws.com\r\n\r\n"
	for _, size := range []int{7, 100, 1460, len(stream)} {
		t.Run(fmt.Sprint(size), func(t *testing.T) {
			b := newBuilder(t, layers.LinkTypeEthernet)
			c := b.conv("10.0.1.25:43528", "10.0.3.10:3128")
			c.handshake()
			for off := 0; off < len(stream); off += size {
				c.send(true, "PA", []byte(stream[off:min(off+size, len(stream))]))
			}
			f := b.analyze(Options{}).Flows[0]
			want := []string{"api.example.com", "my-bucket.s3.ap-south-1.amazonaws.com"}
			if f.HTTP.ProxyHost != "deb.debian.org" || !slices.Equal(f.HTTP.LaterHosts(), want) || f.HTTP.LaterUnread {
				t.Errorf("proxy host %q, later %q (unread %v); want deb.debian.org, %q", f.HTTP.ProxyHost, f.HTTP.LaterHosts(), f.HTTP.LaterUnread, want)
			}
		})
	}
	t.Run("a body longer than its Content-Length", func(t *testing.T) {
		b := newBuilder(t, layers.LinkTypeEthernet)
		c := b.conv("10.0.1.25:43528", "10.0.3.10:3128")
		c.handshake()
		c.send(true, "PA", []byte("POST http://api.example.com/ HTTP/1.1\r\nContent-Length: 3\r\n\r\nhello\r\n"))
		c.send(true, "PA", []byte("GET http://my-bucket.s3.ap-south-1.amazonaws.com/k HTTP/1.1\r\n\r\n"))
		if f := b.analyze(Options{}).Flows[0]; !f.HTTP.LaterUnread {
			t.Errorf("later unread false, want true")
		}
	})
	t.Run("a request cut at the end", func(t *testing.T) {
		b := newBuilder(t, layers.LinkTypeEthernet)
		c := b.conv("10.0.1.25:43528", "10.0.3.10:3128")
		c.handshake()
		c.send(true, "PA", []byte("GET http://deb.debian.org/a HTTP/1.1\r\nHost: deb.debian.org\r\n\r\nGET http://my-bu"))
		if f := b.analyze(Options{}).Flows[0]; !f.HTTP.LaterUnread {
			t.Errorf("later unread false, want true")
		}
	})
}

// TestSecondHello: after a HelloRetryRequest the client sends a second
// ClientHello, which must name the same server; one naming another leaves
// the name unknown (Resent). TLS 1.2's next flight is no ClientHello.
func TestSecondHello(t *testing.T) {
	ccs := []byte{0x14, 3, 3, 0, 1, 1}
	first := helloFor(t, "www.example.com")
	tests := []struct {
		name   string
		second []byte
		resent bool
	}{
		{"the same name again", append(slices.Clone(ccs), helloFor(t, "www.example.com")...), false},
		{"another name", append(slices.Clone(ccs), helloFor(t, "my-bucket.s3.ap-south-1.amazonaws.com")...), true},
		{"another name without change_cipher_spec", helloFor(t, "my-bucket.s3.ap-south-1.amazonaws.com"), true},
		{"a second hello cut in its segment", helloFor(t, "my-bucket.s3.ap-south-1.amazonaws.com")[:60], true},
		{"TLS 1.2 ClientKeyExchange", []byte{0x16, 3, 3, 0, 37, 0x10, 0, 0, 33, 32}, false},
		{"application data", bytes.Repeat([]byte{0x17}, 300), false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			b := newBuilder(t, layers.LinkTypeEthernet)
			c := b.conv("10.0.1.25:43528", "3.5.208.10:443")
			c.handshake()
			c.send(true, "PA", first)
			c.send(false, "PA", bytes.Repeat([]byte{0x16}, 100)) // the HelloRetryRequest
			c.send(true, "PA", tc.second)
			f := b.analyze(Options{}).Flows[0]
			if f.TLS.SNI != "www.example.com" || f.Resent != tc.resent {
				t.Errorf("SNI %q resent %v; want www.example.com and %v", f.TLS.SNI, f.Resent, tc.resent)
			}
		})
	}
}

// A request line cut after an absolute target's host names the proxy's
// host already; if the line then turns out not to be HTTP/1.x, it names
// nothing.
func TestCutAbsoluteTarget(t *testing.T) {
	for _, tc := range []struct {
		name, rest string
		proxy      string
	}{
		{"the rest of an HTTP request", "ey HTTP/1.1\r\nHost: my-bucket.s3.ap-south-1.amazonaws.com\r\n\r\n", "my-bucket.s3.ap-south-1.amazonaws.com"},
		{"no request after all", "ey SMTP/9\r\n", ""},
		{"nothing more", "", "my-bucket.s3.ap-south-1.amazonaws.com"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b := newBuilder(t, layers.LinkTypeEthernet)
			c := b.conv("10.0.1.25:43528", "10.0.3.10:3128")
			c.handshake()
			c.send(true, "PA", []byte("GET http://my-bucket.s3.ap-south-1.amazonaws.com/k"))
			if tc.rest != "" {
				c.send(true, "PA", []byte(tc.rest))
			}
			c.send(false, "A", nil)
			f := b.analyze(Options{}).Flows[0]
			if f.HTTP.ProxyHost != tc.proxy {
				t.Errorf("proxy host %q, want %q (request %s)", f.HTTP.ProxyHost, tc.proxy, f.HTTP.Request)
			}
		})
	}
}
