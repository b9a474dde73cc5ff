package flow

import (
	"errors"
	"strings"

	"github.com/vpce-verify/vpce-verify/capture/hello"
)

const (
	// helloMaxBytes is the most a ClientHello can take: one full TLS record.
	helloMaxBytes = 16<<10 + 5
	// helloSearch is how many client segments may pass before TLS starts
	// (STARTTLS, PostgreSQL's SSLRequest) before we stop looking for it.
	helloSearch = 16
)

// firstBytes collects the client's first bytes until they say whom the
// connection is for: a TLS ClientHello, an HTTP request (and after a
// CONNECT, the ClientHello sent through the tunnel), or neither.
type firstBytes struct {
	buf  streamPrefix
	mode firstMode
	done bool
	// kept says that, done, buf still holds the bytes read, until the
	// server acknowledges them, so that a copy sent again with other
	// contents is noticed (Flow.Resent).
	kept bool
	// connect holds the CONNECT request that began a tunnel (buf goes on
	// after it), to compare a copy sent again with.
	connect  *streamPrefix // made at a CONNECT: most flows have none
	tunnel   bool          // buf starts inside a CONNECT tunnel
	segments int
	need     int // bytes needed before parsing a hello again can tell more
	parsed   int // length of buf at the last parse of a request
	// later says buf holds a request after the first, on a connection to
	// a proxy (HTTPInfo.Later).
	later bool
	// helloEnd is the sequence number after the bytes a complete
	// ClientHello was read from; after counts the client segments looked
	// at since for a second ClientHello (after a HelloRetryRequest).
	helloEnd uint32
	after    int
}

type firstMode uint8

const (
	// modeSearch: where the stream starts is unknown (the SYN was missed,
	// or the start was not a hello), so each segment is looked at for one
	// that begins a hello or a request.
	modeSearch firstMode = iota
	// modeStart: buf begins where the client stream (or the tunnel)
	// begins; its first byte tells TLS from HTTP.
	modeStart
	modeTLS
	modeHTTP
)

// looksLikeHelloStart reports whether payload begins a TLS handshake record
// that carries a ClientHello: where to start when the SYN was not captured
// or when TLS starts after a plaintext preamble.
func looksLikeHelloStart(b []byte) bool {
	return len(b) >= 3 && b[0] == 0x16 && b[1] == 3 && b[2] <= 4 && (len(b) < 6 || b[5] == 1)
}

// beginsRequest reports whether payload begins with a whole HTTP/1.x request
// line. A midstream segment must show that much: a few capitals and a space
// are too common in data to start on.
func beginsRequest(b []byte) bool {
	req, err := hello.ParseHTTPRequest(b)
	return err != hello.ErrNotHTTP && req.Target != nil
}

// clientData feeds one client segment (seq is the sequence number of its
// first payload byte) to the examination of the client's first bytes.
func (f *Flow) clientData(seq uint32, payload []byte) {
	h := f.first
	if h == nil {
		h = &firstBytes{buf: streamPrefix{sh: f.sh}}
		f.first = h
		if f.ep[0].sawSYN {
			h.buf.reset(f.ep[0].isn+1, helloMaxBytes)
			h.mode = modeStart
		}
	}
	if h.done {
		return
	}
	h.segments++
	if h.differs(seq, payload) {
		f.Resent = true
	}
	if h.mode == modeSearch {
		switch {
		case looksLikeHelloStart(payload):
			h.buf.reset(seq, helloMaxBytes)
			h.mode, h.need = modeTLS, 0
		case !h.tunnel && f.HTTP.Request != HTTPComplete && beginsRequest(payload):
			h.buf.reset(seq, hello.MaxRequestHeader)
			h.mode, h.parsed = modeHTTP, 0
		default:
			// The start of the stream was missed and this is not one.
			if f.TLS.Hello == "" {
				f.TLS.Hello = HelloNotSeen
			}
			if f.HTTP.Request == "" {
				f.HTTP.Request = HTTPNotSeen
			}
			f.searched()
			return
		}
	}
	h.buf.add(seq, payload)
	f.examine()
	if h.buf.cut && !h.done {
		f.budgetCut()
	}
}

// errBudget is the TLSInfo.Err or HTTPInfo.Err of a connection whose first
// bytes were cut because the reassembly buffers of all connections reached
// the budget.
const errBudget = "reassembly budget exhausted"

// budgetCut ends the examination of first bytes the budget refused to
// hold: what was read stays, incomplete, with the reason.
func (f *Flow) budgetCut() {
	if f.first.later {
		f.HTTP.LaterUnread = true
		f.endFirst()
		return
	}
	if f.first.mode == modeHTTP {
		f.HTTP.Request, f.HTTP.Err = HTTPIncomplete, errBudget
	} else {
		// A ClientHello, or bytes not examined yet: the start of the
		// client's stream was there, what it said is unknown.
		f.TLS.Hello, f.TLS.Err = HelloIncomplete, errBudget
	}
	f.endFirst()
}

// examine reads what the collected bytes say, switching modes as they
// tell more (from the start to TLS or HTTP, from a CONNECT to the tunnel).
func (f *Flow) examine() {
	h := f.first
	for !h.done {
		b := h.buf.bytes()
		switch h.mode {
		case modeStart:
			if len(b) == 0 {
				// The first bytes are missing (lost, or still to come
				// out of order).
				if f.TLS.Hello == "" {
					f.TLS.Hello, f.TLS.InTunnel = HelloNotSeen, h.tunnel
				}
				if f.HTTP.Request == "" {
					f.HTTP.Request = HTTPNotSeen
				}
				return
			}
			switch {
			case b[0] == 0x16:
				h.mode, h.need = modeTLS, 0
			case h.tunnel:
				// Not TLS inside the tunnel: look further on, as after
				// a plaintext preamble; the request stays the CONNECT.
				f.TLS = TLSInfo{Hello: HelloNotTLS, InTunnel: true}
				h.mode = modeSearch
				f.searched()
				return
			default:
				h.mode, h.parsed = modeHTTP, 0
				h.buf.limit = min(h.buf.limit, hello.MaxRequestHeader)
			}
		case modeTLS:
			if !f.tlsBytes(b) {
				return
			}
		case modeHTTP:
			if !f.httpBytes(b) {
				return
			}
		default:
			return
		}
	}
}

// tlsBytes parses the collected bytes as a ClientHello. It reports whether
// the mode changed with more to examine.
func (f *Flow) tlsBytes(b []byte) bool {
	h := f.first
	if len(b) < h.need && !h.buf.full() {
		return false
	}
	if f.HTTP.Request == "" || f.HTTP.Request == HTTPNotSeen {
		f.HTTP.Request = HTTPNotHTTP
	}
	f.TLS.InTunnel = h.tunnel
	ch, err := hello.ParseClientHello(b)
	switch {
	case err == nil:
		f.TLS.Hello, f.TLS.ClientHello, f.TLS.Err = HelloComplete, ch, ""
		h.helloEnd = h.buf.start + uint32(len(b))
		f.endFirst()
	case errors.Is(err, hello.ErrIncomplete):
		f.TLS.Hello, f.TLS.ClientHello = HelloIncomplete, ch
		h.need = hello.NeededBytes(b)
		if h.buf.full() {
			f.TLS.Err = "ClientHello larger than a TLS record"
			f.endFirst()
		}
	case errors.Is(err, hello.ErrNotTLS):
		// Some protocols talk in plaintext before TLS begins; look for a
		// ClientHello in the next segments.
		f.TLS.Hello = HelloNotTLS
		h.mode = modeSearch
		f.searched()
	default:
		f.TLS.Hello, f.TLS.Err = HelloMalformed, err.Error()
		f.endFirst()
	}
	return false
}

// httpBytes parses the collected bytes as an HTTP request. It reports
// whether the mode changed with more to examine: the bytes that followed a
// CONNECT, from the tunnel.
func (f *Flow) httpBytes(b []byte) bool {
	h := f.first
	if len(b) == h.parsed {
		return false
	}
	h.parsed = len(b)
	req, err := hello.ParseHTTPRequest(b)
	switch {
	case h.later:
		return f.laterRequest(req, err)
	case err == hello.ErrNotHTTP:
		f.TLS.Hello, f.HTTP.Request = HelloNotTLS, HTTPNotHTTP
		// What a cut line seemed to name (an absolute target's host) is
		// not a request's after all.
		f.HTTP.ProxyHost, f.HTTP.ProxyPort = "", 0
		h.mode = modeSearch
		f.searched()
		return false
	case err == nil && string(req.Method) == "CONNECT":
		f.setHTTP(req, HTTPComplete, "")
		// The tunnel starts after the request (and the proxy's reply,
		// which comes from the other side): its first bytes should be a
		// ClientHello for the CONNECT target.
		f.TLS = TLSInfo{Hello: HelloNotSeen, InTunnel: true}
		if h.connect == nil {
			h.connect = &streamPrefix{sh: f.sh}
		}
		h.connect.reset(h.buf.start, req.Len)
		h.connect.add(h.buf.start, b[:req.Len])
		h.buf.discard(req.Len)
		h.buf.limit = helloMaxBytes
		h.tunnel, h.mode = true, modeStart
		return true
	case err == nil:
		f.setHTTP(req, HTTPComplete, "")
		if req.ProxyHost != nil {
			// A proxy may be asked for other hosts on the same
			// connection: follow the requests.
			return f.nextRequest(req)
		}
		f.endFirst()
	case err == hello.ErrIncomplete:
		f.setHTTP(req, HTTPIncomplete, "")
	default:
		f.setHTTP(req, HTTPMalformed, err.Error())
		f.endFirst()
	}
	f.TLS.Hello = HelloNotTLS
	return false
}

// maxLater bounds HTTPInfo.Later.
const maxLater = 8

// nextRequest moves the examination past a whole request (its header and
// its body) to where the next one on the connection begins; when the
// header does not tell where the body ends, the requests that follow are
// not read (HTTPInfo.LaterUnread). It reports whether bytes of the next
// request are already there to examine.
func (f *Flow) nextRequest(req hello.HTTPRequest) bool {
	h := f.first
	f.TLS.Hello = HelloNotTLS
	if req.BodyLen < 0 {
		f.HTTP.LaterUnread = true
		f.endFirst()
		return false
	}
	h.buf.skip(int64(req.Len) + req.BodyLen)
	h.later, h.parsed = true, 0
	return len(h.buf.bytes()) > 0
}

// laterRequest takes what a request after the first said; it reports
// whether the next one is there to examine.
func (f *Flow) laterRequest(req hello.HTTPRequest, err error) bool {
	i := &f.HTTP
	switch {
	case err == hello.ErrIncomplete:
		i.LaterUnread = true // until the rest arrives
		return false
	case err != nil:
		i.LaterUnread = true
		f.endFirst()
		return false
	}
	i.LaterUnread = false
	host := req.ProxyHost
	if host == nil {
		host = req.Host
	}
	known := len(host) == 0 || string(host) == i.ProxyHost
	for _, l := range i.LaterHosts() {
		known = known || string(host) == l
	}
	switch {
	case known:
	case i.nLater < maxLater:
		if i.later == nil {
			i.later = new([maxLater]string)
		}
		i.later[i.nLater] = string(host)
		i.nLater++
	default:
		i.LaterOmitted++
	}
	return f.nextRequest(req)
}

// setHTTP records what a request said. Strings are made only when a field
// changes: once per connection, not once per segment.
func (f *Flow) setHTTP(req hello.HTTPRequest, status, problem string) {
	i := &f.HTTP
	i.Request, i.Err = status, problem
	setString(&i.Method, req.Method)
	setString(&i.Target, req.Target)
	setString(&i.Host, req.Host)
	setString(&i.ProxyHost, req.ProxyHost)
	i.ProxyPort = req.ProxyPort
}

func setString(dst *string, b []byte) {
	if string(b) != *dst {
		*dst = string(b)
	}
}

// searched ends the search once enough segments passed without a hello.
func (f *Flow) searched() {
	if f.first.segments >= helloSearch {
		f.endFirst()
	}
}

// endFirst ends the examination of the client's first bytes. While the
// budget is at most half used, the bytes read are kept until the server
// acknowledges them (acked): a copy of them sent again with other contents
// before then may be the one the server took, and it is noticed
// (Flow.Resent). Past half the budget they are let go at once, so that
// kept bytes never cut another connection's hello.
func (f *Flow) endFirst() {
	h := f.first
	h.done = true
	if (len(h.buf.buf) > 0 || h.connect != nil && len(h.connect.buf) > 0) && !h.buf.cut && f.sh.roomy() {
		h.kept = true
		return
	}
	h.release()
}

// release lets the buffers go; what they said stays.
func (h *firstBytes) release() {
	h.kept = false
	h.buf.release()
	if h.connect != nil {
		h.connect.release()
	}
}

// differs reports whether a client segment disagrees with the first bytes
// held: the CONNECT request, and what followed it or began the stream.
func (h *firstBytes) differs(seq uint32, payload []byte) bool {
	return h.connect != nil && h.connect.differs(seq, payload) || h.buf.differs(seq, payload)
}

// resent checks a client segment that came after the first bytes were
// read against the bytes kept, and, in the first few segments after a
// ClientHello, looks for a second one.
func (f *Flow) resent(seq uint32, payload []byte) {
	h := f.first
	if h.kept && h.differs(seq, payload) {
		f.Resent = true
	}
	if f.TLS.Hello == HelloComplete && h.after < helloAfter && !seqLT(seq, h.helloEnd) {
		h.after++
		f.secondHello(payload)
	}
}

// helloAfter is how many client segments after a ClientHello are looked
// at for a second one: a HelloRetryRequest's answer is the next flight.
const helloAfter = 4

// secondHello reads a ClientHello that a segment after the first one's
// begins (after a change_cipher_spec record, as TLS 1.3 clients send one
// for middleboxes): the answer to a HelloRetryRequest, which must name the
// same server (RFC 8446, 4.1.2). One that names another, or that is not
// whole in its segment, leaves the server's name unknown (Flow.Resent).
func (f *Flow) secondHello(b []byte) {
	for len(b) >= 6 && b[0] == 0x14 && b[1] == 3 && b[3] == 0 && b[4] == 1 {
		b = b[6:]
	}
	if !looksLikeHelloStart(b) || len(b) < 6 {
		return
	}
	ch, err := hello.ParseClientHello(b)
	if err != nil || !strings.EqualFold(ch.SNI, f.TLS.SNI) {
		f.Resent = true
	}
	if err == nil && f.TLS.SecondSNI == "" && !strings.EqualFold(ch.SNI, f.TLS.SNI) {
		f.TLS.SecondSNI = ch.SNI
	}
}

// acked lets the kept first bytes go once the server acknowledged them.
func (f *Flow) acked(ack uint32) {
	if h := f.first; h != nil && h.kept && !seqLT(ack, h.buf.start+uint32(len(h.buf.buf))) {
		h.release()
	}
}
