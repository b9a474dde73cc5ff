package capture

import "errors"

const (
	// helloLimit is the most a ClientHello can take: one full TLS record.
	helloLimit = 16<<10 + 5
	// helloSearch is how many client segments may pass before TLS starts
	// (STARTTLS, PostgreSQL's SSLRequest) before we stop looking for it.
	helloSearch = 16
)

// clientHelloState collects the client's first bytes until they hold a
// whole ClientHello.
type clientHelloState struct {
	buf      streamPrefix
	started  bool
	done     bool
	segments int
}

// looksLikeHelloStart reports whether payload begins a TLS handshake record
// that carries a ClientHello: where to start when the SYN was not captured
// or when TLS starts after a plaintext preamble.
func looksLikeHelloStart(b []byte) bool {
	return len(b) >= 3 && b[0] == 0x16 && b[1] == 3 && b[2] <= 4 && (len(b) < 6 || b[5] == 1)
}

// clientData feeds one client segment (seq is the sequence number of its
// first payload byte) to the ClientHello reassembly.
func (f *Flow) clientData(seq uint32, payload []byte) {
	h := f.hello
	if h == nil {
		h = &clientHelloState{}
		f.hello = h
		if f.ep[0].sawSYN {
			h.buf.reset(f.ep[0].isn+1, helloLimit)
			h.started = true
		}
	}
	if h.done {
		return
	}
	h.segments++
	if !h.started {
		if !looksLikeHelloStart(payload) {
			f.TLS.Hello = HelloNotTLS
			if h.segments >= helloSearch {
				f.endHello()
			}
			return
		}
		h.buf.reset(seq, helloLimit)
		h.started = true
	}
	h.buf.add(seq, payload)
	ch, err := ParseClientHello(h.buf.bytes())
	switch {
	case err == nil:
		f.TLS.Hello, f.TLS.ClientHello, f.TLS.Err = HelloComplete, ch, ""
		f.endHello()
	case errors.Is(err, ErrIncomplete):
		f.TLS.Hello = HelloIncomplete
		if h.buf.full() {
			f.TLS.Err = "ClientHello larger than a TLS record"
			f.endHello()
		}
	case errors.Is(err, ErrNotTLS):
		// Some protocols talk in plaintext before TLS begins; look for a
		// ClientHello in the next segments.
		f.TLS.Hello = HelloNotTLS
		h.started = false
		if h.segments >= helloSearch {
			f.endHello()
		}
	default:
		f.TLS.Hello, f.TLS.Err = HelloMalformed, err.Error()
		f.endHello()
	}
}

func (f *Flow) endHello() {
	f.hello.done = true
	f.hello.buf.release()
}
