package hello

import (
	"bytes"
	"errors"
	"fmt"
	"strings"
)

// MaxRequestHeader is how much of a request ParseHTTPRequest reads: a request
// line and header section that do not end within it are malformed. Real
// clients stay far below it, and S3 itself refuses more than 8 KB of request
// headers.
const MaxRequestHeader = 8 << 10

// ErrNotHTTP means the bytes do not begin an HTTP/1.x request: no request
// line of the form "METHOD SP request-target SP HTTP/1.x".
var ErrNotHTTP = errors.New("http: not an http/1.x request")

// HTTPRequest is what the request line and header fields of an HTTP/1.x
// request say. Its byte slices are views into the bytes given to
// ParseHTTPRequest, valid as long as they are: copy what must outlive them.
type HTTPRequest struct {
	// Method is the request method as sent, e.g. GET, PUT or CONNECT.
	Method []byte
	// Target is the request-target as sent; nil until the request line has
	// arrived whole.
	Target []byte
	// Host is the value of the Host header field without the whitespace
	// around it (it may carry a port); nil when no Host field arrived.
	Host []byte
	// ProxyHost is the host a proxy is asked to reach: CONNECT's
	// authority-form target, or the authority of an absolute-form target
	// ("GET http://HOST/key HTTP/1.1"), without userinfo, port or the
	// brackets of an IPv6 literal. It is nil for the origin form ("/key").
	// An absolute-form target cut after its authority gives it already.
	ProxyHost []byte
	// ProxyPort is ProxyHost's port: as sent, or by the scheme of an
	// absolute URI without one (80 for http, 443 for https, 0 for others).
	ProxyPort uint16
	// Len is the length of the request line and the header section with the
	// empty line that ends it, once they have arrived; what follows is the
	// body or, after a CONNECT, the tunnel. It is 0 until then.
	Len int
	// BodyLen is the length of the body after the header section, from
	// Content-Length (0 without one); -1 when the header does not tell
	// where the body ends (Transfer-Encoding, or a Content-Length that is
	// not one number below 2^40), so the next request on the connection
	// cannot be found.
	BodyLen int64
}

// maxBodyLen bounds a Content-Length taken as the body's length.
const maxBodyLen = 1 << 40

const (
	// maxMethod bounds the method token: the longest registered methods
	// have 17 letters, and a long run of capitals is some other protocol.
	maxMethod = 20
	// Ports by scheme for absolute-form targets without one.
	portHTTP  = 80
	portHTTPS = 443
)

// ParseHTTPRequest reads the request line and header fields that begin
// stream, the first bytes a client sent on a connection, up to
// MaxRequestHeader bytes of them. It allocates nothing (errors aside).
//
// It returns ErrNotHTTP when the bytes cannot begin an HTTP/1.x request, and
// ErrIncomplete when they begin one whose header section has not arrived
// whole; the returned request then holds what the bytes so far say (the
// method, the target once the request line is whole, the Host field once
// it is). Any other error describes a malformed request that a server
// would refuse: a header line that is not a field, a second Host field, a
// CONNECT target without a port, or a header section longer than
// MaxRequestHeader. The request holds what was read before the fault.
func ParseHTTPRequest(stream []byte) (HTTPRequest, error) {
	var req HTTPRequest
	b := stream
	capped := len(b) >= MaxRequestHeader
	if capped {
		b = b[:MaxRequestHeader]
	}

	// Request line: method SP request-target SP HTTP-version CRLF (RFC
	// 9112 section 3). Anything else is another protocol, not a faulty
	// request: an SMTP or RTSP client must not read as malformed HTTP.
	i := 0
	for i < len(b) && i <= maxMethod && isMethodByte(b[i]) {
		i++
	}
	switch {
	case i > maxMethod || (i < len(b) && (i == 0 || b[i] != ' ')):
		return HTTPRequest{}, ErrNotHTTP
	case i == len(b):
		if i > 0 {
			req.Method = b[:i]
		}
		return req.incomplete(capped)
	}
	req.Method = b[:i]
	start := i + 1
	j := start
	for j < len(b) && isTargetByte(b[j]) {
		j++
	}
	if j == len(b) {
		// The line was cut inside its target. An absolute-form target
		// whose authority has ended ("GET http://HOST/ke") already names
		// the host a proxy is asked for, as tshark shows it too; the
		// target itself stays nil until the line is whole.
		req.partialProxy(b[start:j])
		return req.incomplete(capped)
	}
	if j == start || b[j] != ' ' {
		// No target, or a line without a version (HTTP/0.9, other
		// protocols).
		return HTTPRequest{}, ErrNotHTTP
	}
	target := b[start:j]
	const version = "HTTP/1."
	v := b[j+1:]
	for k := range len(version) + 1 {
		if k == len(v) {
			return req.incomplete(capped)
		}
		if k < len(version) && v[k] != version[k] || k == len(version) && !isDigit(v[k]) {
			return HTTPRequest{}, ErrNotHTTP
		}
	}
	pos := j + 1 + len(version) + 1
	switch {
	case pos < len(b) && b[pos] != '\r' && b[pos] != '\n',
		pos+1 < len(b) && b[pos] == '\r' && b[pos+1] != '\n':
		return HTTPRequest{}, ErrNotHTTP
	}
	end, ok := lineEnd(b, pos)
	if !ok {
		return req.incomplete(capped)
	}
	pos = next(b, end)
	req.Target = target
	if err := req.setProxy(); err != nil {
		return req, err
	}

	// Header fields until the empty line (RFC 9112 section 5).
	for n := 1; ; n++ {
		end, ok := lineEnd(b, pos)
		if !ok {
			return req.incomplete(capped)
		}
		if end == pos {
			req.Len = next(b, end)
			return req, nil
		}
		line := b[pos:end]
		if line[0] == ' ' || line[0] == '\t' {
			return req, fmt.Errorf("http: header line %d is folded onto the one before (obsolete line folding)", n)
		}
		colon := bytes.IndexByte(line, ':')
		if colon <= 0 {
			return req, fmt.Errorf("http: header line %d is not a field (no name before a colon)", n)
		}
		name := line[:colon]
		for _, c := range name {
			if !isTokenByte(c) {
				return req, fmt.Errorf("http: header line %d: field name %q has a byte not allowed in a token", n, name)
			}
		}
		value := trimSpace(line[colon+1:])
		if k := bytes.IndexAny(value, "\x00\r"); k >= 0 {
			return req, fmt.Errorf("http: header line %d: field %s holds byte %#02x", n, name, value[k])
		}
		if asciiEqualFold(name, "host") {
			if req.Host != nil {
				// RFC 9112 section 3.2: a server must refuse it.
				return req, errTwoHosts
			}
			req.Host = value
		}
		switch {
		case asciiEqualFold(name, "transfer-encoding"):
			req.BodyLen = -1
		case asciiEqualFold(name, "content-length") && req.BodyLen >= 0:
			n := contentLength(value)
			if n < 0 || (req.BodyLen > 0 && n != req.BodyLen) {
				n = -1
			}
			req.BodyLen = n
		}
		pos = next(b, end)
	}
}

// contentLength reads a Content-Length value: digits, below maxBodyLen;
// -1 otherwise.
func contentLength(v []byte) int64 {
	if len(v) == 0 {
		return -1
	}
	var n int64
	for _, c := range v {
		if !isDigit(c) {
			return -1
		}
		n = n*10 + int64(c-'0')
		if n >= maxBodyLen {
			return -1
		}
	}
	return n
}

// incomplete is what running out of bytes means: more may come, unless the
// cap has been reached.
func (req HTTPRequest) incomplete(capped bool) (HTTPRequest, error) {
	if capped {
		return req, errTooLarge
	}
	return req, ErrIncomplete
}

var (
	errTooLarge = fmt.Errorf("http: request line and header fields do not end within %d bytes", MaxRequestHeader)
	errTwoHosts = errors.New("http: two Host header fields")
	schemeSep   = []byte("://")
)

// partialProxy fills ProxyHost and ProxyPort from the start of an
// absolute-form target whose authority is whole: the path, query or
// fragment after it has begun. A CONNECT's authority is whole only with
// the request line.
func (req *HTTPRequest) partialProxy(t []byte) {
	if string(req.Method) == "CONNECT" {
		return
	}
	colon := bytes.Index(t, schemeSep)
	if colon <= 0 || !isScheme(t[:colon]) {
		return
	}
	rest := t[colon+3:]
	k := bytes.IndexAny(rest, "/?#")
	if k < 0 {
		return // the authority may go on
	}
	full := *req
	full.Target = t[:colon+3+k]
	if full.setProxy() == nil && full.ProxyHost != nil {
		req.ProxyHost, req.ProxyPort = full.ProxyHost, full.ProxyPort
	}
}

// setProxy fills ProxyHost and ProxyPort from the target when it asks a
// proxy for another host.
func (req *HTTPRequest) setProxy() error {
	t := req.Target
	if string(req.Method) == "CONNECT" {
		// Authority form, port required (RFC 9110 section 9.3.6).
		host, port, hasPort, ok := splitAuthority(t)
		switch {
		case !ok:
			return fmt.Errorf("http: CONNECT target %q is not host:port", t)
		case !hasPort:
			return fmt.Errorf("http: CONNECT target %q has no port", t)
		}
		req.ProxyHost, req.ProxyPort = host, port
		return nil
	}
	colon := bytes.Index(t, schemeSep)
	if colon <= 0 || !isScheme(t[:colon]) {
		return nil // origin form ("/key"), asterisk form, or no URI we know
	}
	scheme, rest := t[:colon], t[colon+3:]
	if k := bytes.IndexAny(rest, "/?#"); k >= 0 {
		rest = rest[:k]
	}
	if k := bytes.LastIndexByte(rest, '@'); k >= 0 {
		rest = rest[k+1:] // userinfo
	}
	host, port, hasPort, ok := splitAuthority(rest)
	if !ok {
		return fmt.Errorf("http: target %q has no valid authority", t)
	}
	if !hasPort {
		switch {
		case asciiEqualFold(scheme, "http"):
			port = portHTTP
		case asciiEqualFold(scheme, "https"):
			port = portHTTPS
		}
	}
	req.ProxyHost, req.ProxyPort = host, port
	return nil
}

// splitAuthority splits host[:port] or [IPv6]:port. An empty port (host:) is
// no port (RFC 3986 section 3.2.3); a port must be 1 to 65535.
func splitAuthority(a []byte) (host []byte, port uint16, hasPort, ok bool) {
	rest := a
	if len(a) > 0 && a[0] == '[' {
		end := bytes.IndexByte(a, ']')
		if end < 2 {
			return nil, 0, false, false
		}
		host, rest = a[1:end], a[end+1:]
		if len(rest) > 0 && rest[0] != ':' {
			return nil, 0, false, false
		}
	} else {
		k := bytes.LastIndexByte(a, ':')
		if k < 0 {
			k = len(a)
		}
		host, rest = a[:k], a[k:]
		if len(host) == 0 || bytes.ContainsAny(host, "[]:") {
			return nil, 0, false, false
		}
	}
	if len(rest) <= 1 {
		return host, 0, false, true
	}
	digits := rest[1:]
	if len(digits) > 5 {
		return nil, 0, false, false
	}
	n := 0
	for _, c := range digits {
		if !isDigit(c) {
			return nil, 0, false, false
		}
		n = n*10 + int(c-'0')
	}
	if n == 0 || n > 65535 {
		return nil, 0, false, false
	}
	return host, uint16(n), true, true
}

// trimSpace drops the optional whitespace (SP, HTAB) around a field value;
// unlike bytes.Trim it keeps an empty value non-nil, so that an empty Host
// field still counts as present.
func trimSpace(v []byte) []byte {
	for len(v) > 0 && (v[0] == ' ' || v[0] == '\t') {
		v = v[1:]
	}
	for len(v) > 0 && (v[len(v)-1] == ' ' || v[len(v)-1] == '\t') {
		v = v[:len(v)-1]
	}
	return v
}

// lineEnd finds the end of the line starting at pos: the index of its CR LF,
// or of a bare LF, which recipients accept (RFC 9112 section 2.2).
func lineEnd(b []byte, pos int) (int, bool) {
	k := bytes.IndexByte(b[pos:], '\n')
	if k < 0 {
		return 0, false
	}
	end := pos + k
	if end > pos && b[end-1] == '\r' {
		end--
	}
	return end, true
}

// next returns where the line whose end lineEnd found is followed.
func next(b []byte, end int) int {
	if b[end] == '\r' {
		return end + 2
	}
	return end + 1
}

// isMethodByte accepts the capitals, '-' and '_' that methods are written
// in; the token grammar allows more, but no client sends it, and a strict
// start keeps other protocols from reading as HTTP.
func isMethodByte(c byte) bool { return 'A' <= c && c <= 'Z' || c == '-' || c == '_' }

// isTargetByte accepts the visible ASCII of a URI and, leniently, the
// non-ASCII bytes some clients send unencoded; it stops at spaces and
// control bytes.
func isTargetByte(c byte) bool { return c > ' ' && c != 0x7f }

func isDigit(c byte) bool { return '0' <= c && c <= '9' }

// isTokenByte is RFC 9110's tchar.
func isTokenByte(c byte) bool {
	switch {
	case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', isDigit(c):
		return true
	}
	return strings.IndexByte("!#$%&'*+-.^_`|~", c) >= 0
}

// isScheme checks RFC 3986's scheme = ALPHA *( ALPHA / DIGIT / "+" / "-" / "." ).
func isScheme(s []byte) bool {
	for i, c := range s {
		alpha := 'a' <= c|0x20 && c|0x20 <= 'z'
		if !alpha && (i == 0 || !isDigit(c) && c != '+' && c != '-' && c != '.') {
			return false
		}
	}
	return len(s) > 0
}

// asciiEqualFold compares b with the lower-case ASCII word lower, ignoring
// case, without allocating.
func asciiEqualFold(b []byte, lower string) bool {
	if len(b) != len(lower) {
		return false
	}
	for i := range b {
		c := b[i]
		if 'A' <= c && c <= 'Z' {
			c += 'a' - 'A'
		}
		if c != lower[i] {
			return false
		}
	}
	return true
}
