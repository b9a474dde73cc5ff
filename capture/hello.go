package capture

import (
	"errors"

	"github.com/vpce-verify/vpce-verify/capture/hello"
)

const (
	// helloMaxBytes is the most a ClientHello can take: one full TLS record.
	helloMaxBytes = 16<<10 + 5
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
	need     int // bytes needed before parsing again can tell more
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
			h.buf.reset(f.ep[0].isn+1, helloMaxBytes)
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
		h.buf.reset(seq, helloMaxBytes)
		h.started, h.need = true, 0
	}
	h.buf.add(seq, payload)
	b := h.buf.bytes()
	if len(b) < h.need && !h.buf.full() {
		return
	}
	ch, err := hello.ParseClientHello(b)
	switch {
	case err == nil:
		f.TLS.Hello, f.TLS.ClientHello, f.TLS.Err = HelloComplete, ch, ""
		f.endHello()
	case errors.Is(err, hello.ErrIncomplete):
		f.TLS.Hello, f.TLS.ClientHello = HelloIncomplete, ch
		h.need = hello.NeededBytes(b)
		if h.buf.full() {
			f.TLS.Err = "ClientHello larger than a TLS record"
			f.endHello()
		}
	case errors.Is(err, hello.ErrNotTLS):
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
