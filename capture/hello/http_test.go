package hello

import (
	"bufio"
	"bytes"
	"net/http"
	"strconv"
	"strings"
	"testing"
)

// httpWant is what a test expects ParseHTTPRequest to read.
type httpWant struct {
	method, target, host, proxyHost string
	hasHost                         bool
	proxyPort                       uint16
}

func httpGot(r HTTPRequest) httpWant {
	return httpWant{string(r.Method), string(r.Target), string(r.Host), string(r.ProxyHost), r.Host != nil, r.ProxyPort}
}

// TestParseHTTPRequest reads complete requests as S3 clients and proxies
// send them, and checks each against net/http's own request reader.
func TestParseHTTPRequest(t *testing.T) {
	tests := []struct {
		name string
		req  string
		want httpWant
	}{
		{"origin form, virtual-hosted bucket",
			"GET /key.txt HTTP/1.1\r\nHost: my-bucket.s3.ap-south-1.amazonaws.com\r\nUser-Agent: aws-cli/2.15\r\n\r\n",
			httpWant{method: "GET", target: "/key.txt", host: "my-bucket.s3.ap-south-1.amazonaws.com", hasHost: true}},
		{"put with a body after the headers",
			"PUT /my-bucket/k HTTP/1.1\r\nHost: s3.ap-south-1.amazonaws.com\r\nContent-Length: 5\r\n\r\nhello",
			httpWant{method: "PUT", target: "/my-bucket/k", host: "s3.ap-south-1.amazonaws.com", hasHost: true}},
		{"absolute form to a proxy",
			"GET http://bucket.s3.ap-south-1.amazonaws.com/key HTTP/1.1\r\nHost: bucket.s3.ap-south-1.amazonaws.com\r\nProxy-Connection: Keep-Alive\r\n\r\n",
			httpWant{method: "GET", target: "http://bucket.s3.ap-south-1.amazonaws.com/key", host: "bucket.s3.ap-south-1.amazonaws.com", hasHost: true,
				proxyHost: "bucket.s3.ap-south-1.amazonaws.com", proxyPort: 80}},
		{"absolute form with port, userinfo and query",
			"HEAD http://user:pw@s3.amazonaws.com:8080?list-type=2 HTTP/1.0\r\n\r\n",
			httpWant{method: "HEAD", target: "http://user:pw@s3.amazonaws.com:8080?list-type=2", proxyHost: "s3.amazonaws.com", proxyPort: 8080}},
		{"absolute https form",
			"GET HTTPS://s3.amazonaws.com/b/k HTTP/1.1\r\nHost: s3.amazonaws.com\r\n\r\n",
			httpWant{method: "GET", target: "HTTPS://s3.amazonaws.com/b/k", host: "s3.amazonaws.com", hasHost: true, proxyHost: "s3.amazonaws.com", proxyPort: 443}},
		{"connect",
			"CONNECT bucket.s3.ap-south-1.amazonaws.com:443 HTTP/1.1\r\nHost: bucket.s3.ap-south-1.amazonaws.com:443\r\nUser-Agent: curl/7.88.1\r\n\r\n",
			httpWant{method: "CONNECT", target: "bucket.s3.ap-south-1.amazonaws.com:443", host: "bucket.s3.ap-south-1.amazonaws.com:443", hasHost: true,
				proxyHost: "bucket.s3.ap-south-1.amazonaws.com", proxyPort: 443}},
		{"connect to an ipv6 literal",
			"CONNECT [2406:da60:a000::10]:443 HTTP/1.1\r\nHost: [2406:da60:a000::10]:443\r\n\r\n",
			httpWant{method: "CONNECT", target: "[2406:da60:a000::10]:443", host: "[2406:da60:a000::10]:443", hasHost: true, proxyHost: "2406:da60:a000::10", proxyPort: 443}},
		{"bare LF line ends, odd header case and whitespace",
			"DELETE /b/k HTTP/1.1\nhOsT: \t s3.amazonaws.com  \nX-Amz-Date: 20261102T100000Z\n\n",
			httpWant{method: "DELETE", target: "/b/k", host: "s3.amazonaws.com", hasHost: true}},
		{"empty host field is present",
			"GET / HTTP/1.1\r\nHost:\r\n\r\n",
			httpWant{method: "GET", target: "/", hasHost: true}},
		{"asterisk form",
			"OPTIONS * HTTP/1.1\r\nHost: s3.amazonaws.com\r\n\r\n",
			httpWant{method: "OPTIONS", target: "*", host: "s3.amazonaws.com", hasHost: true}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			stream := []byte(tt.req)
			got, err := ParseHTTPRequest(stream)
			if err != nil {
				t.Fatalf("ParseHTTPRequest: %v", err)
			}
			if httpGot(got) != tt.want {
				t.Errorf("got %+v\nwant %+v", httpGot(got), tt.want)
			}
			head, _, _ := strings.Cut(tt.req, "\r\n\r\n")
			if !strings.Contains(tt.req, "\r\n\r\n") {
				head, _, _ = strings.Cut(tt.req, "\n\n")
				head += "\n\n"
			} else {
				head += "\r\n\r\n"
			}
			if got.Len != len(head) {
				t.Errorf("Len = %d, want %d (the body or tunnel starts after it)", got.Len, len(head))
			}

			// net/http reads the same request independently.
			r, err := http.ReadRequest(bufio.NewReader(bytes.NewReader(stream)))
			if err != nil {
				t.Fatalf("net/http refuses the test request: %v", err)
			}
			if r.Method != tt.want.method || r.RequestURI != tt.want.target {
				t.Errorf("net/http read %s %s", r.Method, r.RequestURI)
			}
			switch {
			case tt.want.proxyHost != "":
				host, port := r.URL.Hostname(), r.URL.Port()
				if port == "" {
					port = map[string]string{"http": "80", "https": "443"}[r.URL.Scheme]
				}
				if !strings.EqualFold(host, tt.want.proxyHost) || port != strconv.Itoa(int(tt.want.proxyPort)) {
					t.Errorf("net/http's authority %s port %s, ours %s %d", host, port, tt.want.proxyHost, tt.want.proxyPort)
				}
			case r.Host != tt.want.host:
				t.Errorf("net/http's Host %q, ours %q", r.Host, tt.want.host)
			}
		})
	}
}

func TestParseHTTPRequestIncomplete(t *testing.T) {
	full := "CONNECT s3.ap-south-1.amazonaws.com:443 HTTP/1.1\r\nHost: s3.ap-south-1.amazonaws.com:443\r\nProxy-Authorization: Basic dTpw\r\n\r\n"
	want, err := ParseHTTPRequest([]byte(full))
	if err != nil {
		t.Fatal(err)
	}
	for cut := range len(full) {
		got, err := ParseHTTPRequest([]byte(full[:cut]))
		if err != ErrIncomplete {
			t.Fatalf("cut at %d: err = %v, want ErrIncomplete", cut, err)
		}
		// What a partial request says is either nothing yet or the truth.
		if got.Len != 0 || got.Method != nil && !bytes.HasPrefix(want.Method, got.Method) ||
			got.Target != nil && !bytes.Equal(got.Target, want.Target) ||
			got.Host != nil && !bytes.Equal(got.Host, want.Host) ||
			got.ProxyHost != nil && (!bytes.Equal(got.ProxyHost, want.ProxyHost) || got.ProxyPort != want.ProxyPort) {
			t.Fatalf("cut at %d: partial %+v disagrees with %+v", cut, httpGot(got), httpGot(want))
		}
		// Once the request line is whole, the target and proxy are known.
		if line := strings.Index(full, "\r\n") + 2; cut >= line && (got.Target == nil || string(got.ProxyHost) != "s3.ap-south-1.amazonaws.com") {
			t.Fatalf("cut at %d, after the request line: target %q proxy %q", cut, got.Target, got.ProxyHost)
		}
		// The Host field counts once its line has ended.
		if hostEnd := strings.Index(full, ":443\r\nProxy") + 6; cut >= hostEnd && got.Host == nil {
			t.Fatalf("cut at %d, after the Host line: no Host", cut)
		}
	}
}

func TestParseHTTPRequestNotHTTP(t *testing.T) {
	tests := map[string]string{
		"tls client hello":  "\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03",
		"ssh banner":        "SSH-2.0-OpenSSH_9.6p1\r\n",
		"smtp client":       "EHLO mail.example.com\r\n",
		"rtsp request":      "OPTIONS rtsp://cam.example/stream RTSP/1.0\r\nCSeq: 1\r\n\r\n",
		"http/0.9":          "GET /index.html\r\n",
		"http/2 preface":    "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n",
		"lower-case method": "get / HTTP/1.1\r\n\r\n",
		"no target":         "GET  HTTP/1.1\r\n\r\n",
		"tab separator":     "GET\t/ HTTP/1.1\r\n\r\n",
		"method too long":   "ABCDEFGHIJKLMNOPQRSTU / HTTP/1.1\r\n\r\n",
		"space after ver":   "GET / HTTP/1.1 \r\n\r\n",
		"cr without lf":     "GET / HTTP/1.1\rHost: x\r\n\r\n",
		"control in target": "GET /a\x01b HTTP/1.1\r\n\r\n",
		"postgres ssl":      "\x00\x00\x00\x08\x04\xd2\x16\x2f",
		"binary":            "\x17\x03\x03\x40\x00",
	}
	for name, s := range tests {
		t.Run(name, func(t *testing.T) {
			got, err := ParseHTTPRequest([]byte(s))
			if err != ErrNotHTTP {
				t.Errorf("err = %v, want ErrNotHTTP", err)
			}
			if got.Method != nil || got.Target != nil {
				t.Errorf("not-http result carries %+v", httpGot(got))
			}
		})
	}
}

func TestParseHTTPRequestMalformed(t *testing.T) {
	long := "GET / HTTP/1.1\r\nHost: s3.amazonaws.com\r\nX-Big: " + strings.Repeat("a", MaxRequestHeader) + "\r\n\r\n"
	tests := []struct {
		name, req, want string
		host            string // the Host read before the fault
	}{
		{"connect without port", "CONNECT s3.amazonaws.com HTTP/1.1\r\n\r\n", `CONNECT target "s3.amazonaws.com" has no port`, ""},
		{"connect with empty port", "CONNECT s3.amazonaws.com: HTTP/1.1\r\n\r\n", "has no port", ""},
		{"connect port zero", "CONNECT s3.amazonaws.com:0 HTTP/1.1\r\n\r\n", "is not host:port", ""},
		{"connect port too big", "CONNECT s3.amazonaws.com:65536 HTTP/1.1\r\n\r\n", "is not host:port", ""},
		{"connect with a URI", "CONNECT http://s3.amazonaws.com/ HTTP/1.1\r\n\r\n", "is not host:port", ""},
		{"absolute form without host", "GET http:///key HTTP/1.1\r\n\r\n", "has no valid authority", ""},
		{"second host", "GET / HTTP/1.1\r\nHost: a.example\r\nHost: s3.amazonaws.com\r\n\r\n", "two Host header fields", "a.example"},
		{"header without colon", "GET / HTTP/1.1\r\nHost: s3.amazonaws.com\r\nno colon here\r\n\r\n", "header line 2 is not a field", "s3.amazonaws.com"},
		{"space before colon", "GET / HTTP/1.1\r\nHost : s3.amazonaws.com\r\n\r\n", `field name "Host " has a byte`, ""},
		{"obsolete folding", "GET / HTTP/1.1\r\nX-A: 1\r\n 2\r\n\r\n", "header line 2 is folded", ""},
		{"nul in value", "GET / HTTP/1.1\r\nHost: s3.amazon\x00aws.com\r\n\r\n", "field Host holds byte 0x00", ""},
		{"larger than the cap", long, "do not end within 8192 bytes", "s3.amazonaws.com"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseHTTPRequest([]byte(tt.req))
			if err == nil || err == ErrIncomplete || err == ErrNotHTTP {
				t.Fatalf("err = %v, want a malformed-request error", err)
			}
			if !strings.HasPrefix(err.Error(), "http: ") || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("err = %q, want it to contain %q", err, tt.want)
			}
			if string(got.Host) != tt.host || got.Method == nil || got.Len != 0 {
				t.Errorf("got %+v, want the method and Host %q read before the fault", httpGot(got), tt.host)
			}
		})
	}
	t.Run("a request line cut at the cap", func(t *testing.T) {
		_, err := ParseHTTPRequest([]byte("GET /" + strings.Repeat("k", MaxRequestHeader)))
		if err != errTooLarge {
			t.Errorf("err = %v, want %v", err, errTooLarge)
		}
	})
}

func TestParseHTTPRequestDoesNotAllocate(t *testing.T) {
	reqs := [][]byte{
		[]byte("CONNECT bucket.s3.ap-south-1.amazonaws.com:443 HTTP/1.1\r\nHost: bucket.s3.ap-south-1.amazonaws.com:443\r\n\r\n"),
		[]byte("GET http://bucket.s3.ap-south-1.amazonaws.com/key HTTP/1.1\r\nHost: bucket.s3.ap-south-1.amazonaws.com\r\n\r\n"),
		[]byte("PUT /key HTTP/1.1\r\nHost: bucket.s3.ap-south-1.amazonaws.com\r\nContent-Length: 10\r\n"),
		[]byte("\x16\x03\x01"),
	}
	for _, r := range reqs {
		if n := testing.AllocsPerRun(100, func() { _, _ = ParseHTTPRequest(r) }); n != 0 {
			t.Errorf("%q: %v allocations per parse", r[:20], n)
		}
	}
}

func FuzzParseHTTPRequest(f *testing.F) {
	for _, s := range []string{
		"GET /key.txt HTTP/1.1\r\nHost: my-bucket.s3.ap-south-1.amazonaws.com\r\n\r\n",
		"CONNECT bucket.s3.ap-south-1.amazonaws.com:443 HTTP/1.1\r\nHost: bucket.s3.ap-south-1.amazonaws.com:443\r\n\r\n\x16\x03\x01",
		"GET http://u@[::1]:8080/k?x HTTP/1.0\nHost: a\n\n",
		"CONNECT s3.amazonaws.com HTTP/1.1\r\n\r\n",
		"PUT / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n",
		"EHLO x\r\n",
		"\x16\x03\x01\x00\x05",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, stream []byte) {
		got, err := ParseHTTPRequest(stream)
		switch {
		case err == nil, err == ErrIncomplete:
		case err == ErrNotHTTP:
			if got.Method != nil || got.Target != nil || got.Host != nil {
				t.Fatalf("ErrNotHTTP with %+v", httpGot(got))
			}
			return
		case !strings.HasPrefix(err.Error(), "http: "):
			t.Fatalf("error without the http view: %q", err)
		}
		if err == ErrIncomplete && len(stream) >= MaxRequestHeader {
			t.Fatalf("ErrIncomplete for %d bytes, beyond the cap", len(stream))
		}
		for _, v := range [][]byte{got.Method, got.Target, got.Host, got.ProxyHost} {
			if v != nil && !within(v, stream) {
				t.Fatalf("%q is not a view into the input", v)
			}
		}
		if err != nil {
			if got.Len != 0 {
				t.Fatalf("Len %d with %v", got.Len, err)
			}
			return
		}
		if got.Len <= 0 || got.Len > len(stream) || got.Len > MaxRequestHeader || stream[got.Len-1] != '\n' {
			t.Fatalf("Len %d of %d bytes", got.Len, len(stream))
		}
		// The request alone reads the same, and one byte less is not enough.
		again, err := ParseHTTPRequest(stream[:got.Len])
		if err != nil || httpGot(again) != httpGot(got) || again.Len != got.Len {
			t.Fatalf("the request alone reads %+v, %v", httpGot(again), err)
		}
		if _, err := ParseHTTPRequest(stream[:got.Len-1]); err != ErrIncomplete {
			t.Fatalf("one byte short: %v", err)
		}

		// Where net/http also accepts an origin-form request, it reads the
		// same method, target and Host.
		if got.Target[0] != '/' || got.ProxyHost != nil {
			return
		}
		r, rerr := http.ReadRequest(bufio.NewReader(bytes.NewReader(stream[:got.Len])))
		if rerr != nil {
			return
		}
		if r.Method != string(got.Method) || r.RequestURI != string(got.Target) || r.Host != string(got.Host) {
			t.Fatalf("net/http read %q %q Host %q, we %+v", r.Method, r.RequestURI, r.Host, httpGot(got))
		}
	})
}

// within reports whether v lies inside b's memory.
func within(v, b []byte) bool {
	if len(v) == 0 {
		return true
	}
	for i := range b {
		if &b[i] == &v[0] {
			return len(b)-i >= len(v)
		}
	}
	return false
}

// BodyLen tells where the next request on a keep-alive connection begins:
// Content-Length, or -1 when the header does not say.
func TestParseHTTPRequestBodyLen(t *testing.T) {
	for _, tc := range []struct {
		header string
		want   int64
	}{
		{"", 0},
		{"Content-Length: 5\r\n", 5},
		{"content-length:  1234 \r\n", 1234},
		{"Content-Length: 5\r\nContent-Length: 5\r\n", 5},
		{"Content-Length: 5\r\nContent-Length: 6\r\n", -1},
		{"Content-Length: 5, 5\r\n", -1},
		{"Content-Length: -1\r\n", -1},
		{"Content-Length: 99999999999999999999\r\n", -1},
		{"Transfer-Encoding: chunked\r\n", -1},
		{"Transfer-Encoding: chunked\r\nContent-Length: 5\r\n", -1},
	} {
		req, err := ParseHTTPRequest([]byte("POST http://api.example.com/ HTTP/1.1\r\nHost: api.example.com\r\n" + tc.header + "\r\n"))
		if err != nil || req.BodyLen != tc.want {
			t.Errorf("%q: body length %d, %v; want %d", tc.header, req.BodyLen, err, tc.want)
		}
	}
}

// An absolute-form request cut inside its target names the proxy's host
// once the authority has ended, and never anything else: what tshark
// shows of a request cut by the snap length.
func TestParseHTTPRequestCutTarget(t *testing.T) {
	for _, full := range []string{
		"GET http://my-bucket.s3.ap-south-1.amazonaws.com/reports/2026.csv HTTP/1.1\r\nHost: my-bucket.s3.ap-south-1.amazonaws.com\r\n\r\n",
		"PUT https://user@[2406:da60:a000::10]:8443?x=1 HTTP/1.1\r\n\r\n",
	} {
		want, err := ParseHTTPRequest([]byte(full))
		if err != nil || want.ProxyHost == nil {
			t.Fatalf("%q: %v %+v", full, err, httpGot(want))
		}
		authorityEnd := strings.IndexAny(full[strings.Index(full, "://")+3:], "/?") + strings.Index(full, "://") + 3
		for cut := range strings.Index(full, " HTTP/") {
			got, err := ParseHTTPRequest([]byte(full[:cut]))
			if err != ErrIncomplete || got.Target != nil {
				t.Fatalf("cut at %d: %v, target %q", cut, err, got.Target)
			}
			switch {
			case cut > authorityEnd && (!bytes.Equal(got.ProxyHost, want.ProxyHost) || got.ProxyPort != want.ProxyPort):
				t.Errorf("cut at %d, after the authority: proxy %q:%d, want %q:%d", cut, got.ProxyHost, got.ProxyPort, want.ProxyHost, want.ProxyPort)
			case cut <= authorityEnd && got.ProxyHost != nil:
				t.Errorf("cut at %d, inside the authority: proxy %q", cut, got.ProxyHost)
			}
		}
	}
	// A CONNECT's authority is whole only with its line.
	got, _ := ParseHTTPRequest([]byte("CONNECT s3.amazonaws.com:443/x"))
	if got.ProxyHost != nil {
		t.Errorf("cut CONNECT: proxy %q", got.ProxyHost)
	}
}
