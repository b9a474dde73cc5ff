package capture

import (
	"errors"
	"fmt"
	"slices"
	"strconv"

	"golang.org/x/crypto/cryptobyte"
)

// ClientHello is what a TLS ClientHello reveals about a connection.
type ClientHello struct {
	// SNI is the first host_name of the server_name extension, byte for byte
	// as sent (it may be an IP literal, carry a trailing dot or bytes that are
	// not a valid host name: the report escapes it); "" when absent.
	SNI string
	// ALPN lists the protocols of the application_layer_protocol_negotiation
	// extension, in the client's order.
	ALPN []string
	// Versions lists the supported_versions extension without GREASE values,
	// or, without that extension, the legacy_version alone.
	Versions []uint16
	// KeyShareGroups lists the named groups of the key_share extension
	// without GREASE values, e.g. 4588 (X25519MLKEM768) and 29 (X25519).
	KeyShareGroups []uint16
	// ECH reports an encrypted_client_hello extension (0xfe0d). With real ECH
	// the SNI is only the outer public name; but Chrome sends a GREASE ECH
	// extension on connections without ECH too, and the two look alike on the
	// wire, so ECH means the SNI may be an outer name, not that it is.
	ECH bool
}

var (
	// ErrNotTLS means the bytes do not begin a TLS handshake record carrying
	// a ClientHello.
	ErrNotTLS = errors.New("tls: not a tls client hello")
	// ErrIncomplete means the bytes are a valid beginning of a ClientHello,
	// but more are needed; see NeededBytes.
	ErrIncomplete = errors.New("tls: client hello incomplete")
)

const (
	helloRecordHeaderLen = 5
	// helloMaxRecord is the largest TLSPlaintext fragment (RFC 8446 section
	// 5.1); a client's first record never carries more.
	helloMaxRecord    = 1 << 14
	helloHeaderLen    = 4 // handshake type and uint24 length
	helloContentType  = 22
	helloTypeClient   = 1
	helloMaxSessionID = 32

	helloExtServerName        = 0
	helloExtALPN              = 16
	helloExtSupportedVersions = 43
	helloExtKeyShare          = 51
	// helloExtDraftKeyShare is key_share in TLS 1.3 drafts before 23, still
	// found in old captures (tshark reads it too).
	helloExtDraftKeyShare = 40
	helloExtECH           = 0xfe0d
)

// ParseClientHello parses a ClientHello from the first bytes a TLS client
// sent on a TCP connection (TLS records, content type 22). The handshake
// message may span several records and the bytes may end early.
//
// It returns ErrNotTLS when the bytes cannot begin a ClientHello, and
// ErrIncomplete when they begin one that has not arrived in full; then the
// returned ClientHello already holds what the bytes so far reveal (the SNI,
// for instance, once the server_name extension has arrived whole), which is
// worth reporting when the rest never comes. Any other error describes a
// malformed hello: lengths that do not add up.
//
// Bytes after the hello are ignored. Nothing is allocated in proportion to a
// length field: a hello fragmented over several records is copied together
// only as far as its bytes are present.
func ParseClientHello(stream []byte) (ClientHello, error) {
	ch, _, err := parseClientHello(stream)
	return ch, err
}

// NeededBytes says, for a stream on which ParseClientHello returns
// ErrIncomplete, how long the stream must grow before ParseClientHello can
// return anything else. It is a lower bound (a record header not yet seen may
// add more) larger than len(stream). For any other stream it returns
// len(stream). A caller collecting a stream can skip parsing until then.
func NeededBytes(stream []byte) int {
	_, need, _ := parseClientHello(stream)
	return need
}

// parseClientHello is ParseClientHello and NeededBytes in one pass over the
// records, for a caller that wants both (the flow tracker, on every
// segment of a hello that spans several).
func parseClientHello(stream []byte) (ClientHello, int, error) {
	msg, total, need, merr := helloMessage(stream)
	if merr != nil && merr != ErrIncomplete {
		return ClientHello{}, len(stream), merr
	}
	if merr != ErrIncomplete {
		need = len(stream)
	}
	if total < 0 {
		return ClientHello{}, need, ErrIncomplete
	}
	v, err := parseHelloView(msg, total)
	if err != nil && err != ErrIncomplete {
		return ClientHello{}, len(stream), err
	}
	if err == nil {
		// A hello that parsed whole needs no more bytes.
		need = len(stream)
	}
	return v.hello(err == nil), need, err
}

// helloMessage takes the handshake message that opens stream out of its TLS
// records. msg holds the bytes of the message that have arrived (its 4-byte
// header included), total its declared length with the header, or -1 while the
// header is incomplete. With ErrIncomplete, need is a lower bound on the
// stream length that would complete the message.
func helloMessage(stream []byte) (msg []byte, total, need int, err error) {
	total = -1
	owned := false // msg is a copy (the message spans records), not a view of stream
	off := 0
	for rec := 0; ; rec++ {
		rest := cryptobyte.String(stream[off:])
		var typ, major uint8
		if !rest.ReadUint8(&typ) {
			return msg, total, off + helloRecordHeaderLen + helloMissing(msg, total), ErrIncomplete
		}
		if typ != helloContentType {
			if rec == 0 {
				return nil, -1, 0, ErrNotTLS
			}
			return nil, -1, 0, fmt.Errorf("tls: record %d at byte %d: content type %d before the client hello ends", rec, off, typ)
		}
		if rest.ReadUint8(&major) && major != 3 {
			if rec == 0 {
				return nil, -1, 0, ErrNotTLS
			}
			return nil, -1, 0, fmt.Errorf("tls: record %d at byte %d: version %d.x is not tls", rec, off, major)
		}
		var length uint16
		if !rest.Skip(1) || !rest.ReadUint16(&length) {
			return msg, total, off + helloRecordHeaderLen + helloMissing(msg, total), ErrIncomplete
		}
		// A handshake record may not be empty (RFC 8446 section 5.1).
		if length == 0 || length > helloMaxRecord {
			if rec == 0 {
				return nil, -1, 0, ErrNotTLS
			}
			return nil, -1, 0, fmt.Errorf("tls: record %d at byte %d: length %d is not between 1 and %d", rec, off, length, helloMaxRecord)
		}
		recEnd := off + helloRecordHeaderLen + int(length)
		frag := []byte(rest)
		if len(frag) > int(length) {
			frag = frag[:length]
		}
		if rec == 0 && len(frag) > 0 && frag[0] != helloTypeClient {
			return nil, -1, 0, ErrNotTLS
		}

		for len(frag) > 0 && (total < 0 || len(msg) < total) {
			n := len(frag)
			if total < 0 {
				n = min(n, helloHeaderLen-len(msg))
			} else {
				n = min(n, total-len(msg))
			}
			switch {
			case rec == 0:
				// Still one contiguous run of stream: no copy.
				msg = stream[helloRecordHeaderLen : helloRecordHeaderLen+len(msg)+n]
			case !owned:
				// The copy is bounded by the bytes present, not by the
				// declared length.
				room := len(msg) + len(stream) - off
				if total >= 0 {
					room = min(room, total)
				}
				msg = append(make([]byte, 0, room), msg...)
				owned = true
				fallthrough
			default:
				msg = append(msg, frag[:n]...)
			}
			frag = frag[n:]
			if total < 0 && len(msg) == helloHeaderLen {
				total = helloHeaderLen + (int(msg[1])<<16 | int(msg[2])<<8 | int(msg[3]))
			}
		}
		if total >= 0 && len(msg) == total {
			return msg, total, 0, nil
		}
		if recEnd > len(stream) {
			// Cut inside this record: the rest of it carries up to
			// recEnd-len(stream) more message bytes, later records the rest.
			missing := helloMissing(msg, total)
			inRecord := recEnd - len(stream)
			if missing <= inRecord {
				return msg, total, len(stream) + missing, ErrIncomplete
			}
			return msg, total, recEnd + helloRecordHeaderLen + missing - inRecord, ErrIncomplete
		}
		off = recEnd
	}
}

// helloMissing is a lower bound on the message bytes still to come.
func helloMissing(msg []byte, total int) int {
	if total < 0 {
		return helloHeaderLen - len(msg)
	}
	return total - len(msg)
}

// helloReader reads a ClientHello handshake message of which only a prefix
// may have arrived. A field that runs past the declared end of the message is
// malformed; one that only runs past the bytes present is incomplete.
type helloReader struct {
	s     cryptobyte.String // unread bytes present
	avail int               // message bytes present, header included
	total int               // declared message length, header included
}

func (r *helloReader) pos() int { return r.avail - len(r.s) }

func (r *helloReader) complete() bool { return r.avail == r.total }

// short reports a fixed-size field that does not fit in the bytes present.
func (r *helloReader) short(field string) error {
	if !r.complete() {
		return ErrIncomplete
	}
	return fmt.Errorf("tls: client hello byte %d: %s runs past the end of the message", r.pos(), field)
}

// prefixed reads a field with a lenLen-byte length prefix into out. The field
// is named by field, or when that is "" by the extension type ext: names are
// only built for errors.
func (r *helloReader) prefixed(field string, ext uint16, lenLen int, out *cryptobyte.String) error {
	start := r.pos()
	var n int
	switch lenLen {
	case 1:
		var v uint8
		if !r.s.ReadUint8(&v) {
			return r.short(helloField(field, ext) + " length")
		}
		n = int(v)
	default:
		var v uint16
		if !r.s.ReadUint16(&v) {
			return r.short(helloField(field, ext) + " length")
		}
		n = int(v)
	}
	if left := r.total - r.pos(); n > left {
		return fmt.Errorf("tls: client hello byte %d: %s length %d runs past the end of the message (%d bytes left)", start, helloField(field, ext), n, left)
	}
	if !r.s.ReadBytes((*[]byte)(out), n) {
		return ErrIncomplete
	}
	return nil
}

func helloField(field string, ext uint16) string {
	if field != "" {
		return field
	}
	return helloExtName(ext) + " extension"
}

// helloView holds what a ClientHello message says, as views into it, all
// checked: reading them cannot fail.
type helloView struct {
	legacyVersion uint16
	sni           []byte            // nil when absent
	alpn          cryptobyte.String // protocol_name_list
	versions      cryptobyte.String // supported_versions list
	keyShares     cryptobyte.String // client_shares
	seen          uint8             // helloExtBit of each extension read
}

// parseHelloView checks the fields of a ClientHello message the way
// crypto/tls's clientHelloMsg.unmarshal reads them, allocating nothing. msg
// may be a prefix of the total bytes the header declares; then it returns what
// the prefix holds and ErrIncomplete.
func parseHelloView(msg []byte, total int) (helloView, error) {
	var v helloView
	r := helloReader{s: cryptobyte.String(msg), avail: len(msg), total: total}
	r.s.Skip(helloHeaderLen)

	if !r.s.ReadUint16(&v.legacyVersion) {
		return v, r.short("legacy_version")
	}
	if !r.s.Skip(32) {
		return v, r.short("random")
	}
	var sessionID, suites, compression cryptobyte.String
	at := r.pos()
	if err := r.prefixed("legacy_session_id", 0, 1, &sessionID); err != nil {
		return v, err
	}
	if len(sessionID) > helloMaxSessionID {
		return v, fmt.Errorf("tls: client hello byte %d: legacy_session_id length %d exceeds %d", at, len(sessionID), helloMaxSessionID)
	}
	at = r.pos()
	if err := r.prefixed("cipher_suites", 0, 2, &suites); err != nil {
		return v, err
	}
	if len(suites) == 0 || len(suites)%2 != 0 {
		return v, fmt.Errorf("tls: client hello byte %d: cipher_suites length %d is not a positive even number", at, len(suites))
	}
	at = r.pos()
	if err := r.prefixed("legacy_compression_methods", 0, 1, &compression); err != nil {
		return v, err
	}
	if len(compression) == 0 {
		return v, fmt.Errorf("tls: client hello byte %d: no legacy_compression_methods", at)
	}

	if r.complete() && r.s.Empty() {
		return v, nil // extensions are optional before TLS 1.3
	}
	at = r.pos()
	var blockLen uint16
	if !r.s.ReadUint16(&blockLen) {
		return v, r.short("extensions length")
	}
	if left := r.total - r.pos(); int(blockLen) != left {
		return v, fmt.Errorf("tls: client hello byte %d: extensions length %d, but the message has %d bytes left", at, blockLen, left)
	}

	for !r.s.Empty() {
		at = r.pos()
		var ext uint16
		var data cryptobyte.String
		if !r.s.ReadUint16(&ext) {
			return v, r.short("extension type")
		}
		if err := r.prefixed("", ext, 2, &data); err != nil {
			return v, err
		}
		// crypto/tls refuses any repeated extension; the ones read here
		// would otherwise be ambiguous.
		bit := helloExtBit(ext)
		if v.seen&bit != 0 {
			return v, fmt.Errorf("tls: client hello byte %d: second %s extension", at, helloExtName(ext))
		}
		v.seen |= bit
		var problem string
		switch ext {
		case helloExtServerName:
			v.sni, problem = helloServerName(data)
		case helloExtALPN:
			v.alpn, problem = helloALPN(data)
		case helloExtSupportedVersions:
			v.versions, problem = helloVersions(data)
		case helloExtKeyShare, helloExtDraftKeyShare:
			v.keyShares, problem = helloKeyShares(data)
		}
		if problem != "" {
			return v, fmt.Errorf("tls: %s extension at client hello byte %d: %s", helloExtName(ext), at, problem)
		}
	}
	if !r.complete() {
		return v, ErrIncomplete
	}
	return v, nil
}

// hello copies the view out. Only a complete message may fall back to the
// legacy_version: a partial one may still bring supported_versions.
func (v *helloView) hello(complete bool) ClientHello {
	var h ClientHello
	if v.sni != nil {
		h.SNI = string(v.sni)
	}
	h.ECH = v.seen&helloExtBit(helloExtECH) != 0
	if v.seen&helloExtBit(helloExtALPN) != 0 {
		// One string for the whole list, the names slicing it.
		whole := string(v.alpn)
		count := 0
		for i := 0; i < len(whole); i += 1 + int(whole[i]) {
			count++
		}
		h.ALPN = make([]string, 0, count)
		for i := 0; i < len(whole); i += 1 + int(whole[i]) {
			h.ALPN = append(h.ALPN, whole[i+1:i+1+int(whole[i])])
		}
	}
	if v.seen&helloExtBit(helloExtSupportedVersions) != 0 {
		h.Versions = make([]uint16, 0, len(v.versions)/2)
		for list := v.versions; !list.Empty(); {
			var ver uint16
			list.ReadUint16(&ver)
			if !helloGREASE(ver) {
				h.Versions = append(h.Versions, ver)
			}
		}
	} else if complete {
		h.Versions = []uint16{v.legacyVersion}
	}
	if v.seen&helloExtBit(helloExtKeyShare) != 0 {
		for list := v.keyShares; !list.Empty(); {
			var group uint16
			var key cryptobyte.String
			list.ReadUint16(&group)
			list.ReadUint16LengthPrefixed(&key)
			if !helloGREASE(group) {
				h.KeyShareGroups = append(h.KeyShareGroups, group)
			}
		}
	}
	return h
}

func helloExtName(ext uint16) string {
	switch ext {
	case helloExtServerName:
		return "server_name"
	case helloExtALPN:
		return "application_layer_protocol_negotiation"
	case helloExtSupportedVersions:
		return "supported_versions"
	case helloExtKeyShare:
		return "key_share"
	case helloExtDraftKeyShare:
		return "draft key_share"
	case helloExtECH:
		return "encrypted_client_hello"
	}
	return "type " + strconv.Itoa(int(ext))
}

func helloExtBit(ext uint16) uint8 {
	switch ext {
	case helloExtServerName:
		return 1 << 0
	case helloExtALPN:
		return 1 << 1
	case helloExtSupportedVersions:
		return 1 << 2
	case helloExtKeyShare, helloExtDraftKeyShare:
		return 1 << 3
	case helloExtECH:
		return 1 << 4
	}
	return 0
}

// helloServerName checks a server_name extension (RFC 6066 section 3) and
// returns its first host_name. Each helloXxx extension reader returns what is
// wrong, or "".
func helloServerName(data cryptobyte.String) ([]byte, string) {
	var list cryptobyte.String
	if !data.ReadUint16LengthPrefixed(&list) || !data.Empty() {
		return nil, "server_name_list length does not match the extension length"
	}
	if list.Empty() {
		return nil, "empty server_name_list"
	}
	var sni []byte
	for !list.Empty() {
		var nameType uint8
		var name cryptobyte.String
		if !list.ReadUint8(&nameType) || !list.ReadUint16LengthPrefixed(&name) {
			return nil, "server name runs past the server_name_list"
		}
		if nameType != 0 || sni != nil {
			continue
		}
		if name.Empty() {
			return nil, "empty host_name"
		}
		sni = name
	}
	return sni, ""
}

func helloALPN(data cryptobyte.String) (cryptobyte.String, string) {
	var list cryptobyte.String
	if !data.ReadUint16LengthPrefixed(&list) || !data.Empty() {
		return nil, "protocol_name_list length does not match the extension length"
	}
	if list.Empty() {
		return nil, "empty protocol_name_list"
	}
	for walk := list; !walk.Empty(); {
		var proto cryptobyte.String
		if !walk.ReadUint8LengthPrefixed(&proto) {
			return nil, "protocol name runs past the protocol_name_list"
		}
		if proto.Empty() {
			return nil, "empty protocol name"
		}
	}
	return list, ""
}

func helloVersions(data cryptobyte.String) (cryptobyte.String, string) {
	var list cryptobyte.String
	if !data.ReadUint8LengthPrefixed(&list) || !data.Empty() {
		return nil, "versions length does not match the extension length"
	}
	if list.Empty() || len(list)%2 != 0 {
		return nil, "versions length " + strconv.Itoa(len(list)) + " is not a positive even number"
	}
	return list, ""
}

func helloKeyShares(data cryptobyte.String) (cryptobyte.String, string) {
	var list cryptobyte.String
	if !data.ReadUint16LengthPrefixed(&list) || !data.Empty() {
		return nil, "client_shares length does not match the extension length"
	}
	for walk := list; !walk.Empty(); {
		var group uint16
		var key cryptobyte.String
		if !walk.ReadUint16(&group) || !walk.ReadUint16LengthPrefixed(&key) {
			return nil, "key share runs past the client_shares list"
		}
		if key.Empty() {
			return nil, "empty key_exchange for group " + strconv.Itoa(int(group))
		}
	}
	return list, ""
}

// helloGREASE reports the reserved values 0x0a0a, 0x1a1a, ... 0xfafa that
// clients send to keep servers tolerant of unknown values (RFC 8701).
func helloGREASE(v uint16) bool {
	return v&0x0f0f == 0x0a0a && v>>8 == v&0xff
}

// streamPrefix collects the first bytes of one direction of a TCP stream in
// sequence order, whatever order the segments arrive in, up to a limit.
//
// Bytes beyond the contiguous prefix wait in a compact side buffer with a
// sorted list of the ranges they cover, so memory follows the bytes received,
// not the sequence numbers claimed. When retransmissions overlap with
// different bytes, the bytes that arrived first win. Receivers and capture
// tools settle this differently, and only a broken or evasive client sends
// two versions of its hello; what matters is one stated rule.
// More than prefixMaxPending separate out-of-order ranges is not a real
// connection's first flight: further ranges that open a new hole are
// dropped, so the prefix may then stay short.
type streamPrefix struct {
	start   uint32
	limit   int
	buf     []byte        // the contiguous prefix
	ooo     []byte        // bytes received beyond the prefix, in arrival order
	pending []prefixRange // what ooo holds, sorted by off, disjoint, all off > len(buf)
}

// prefixRange says that stream bytes [off, end) are held at ooo[at:].
type prefixRange struct{ off, end, at int }

const prefixMaxPending = 64

// reset starts collecting a stream whose first byte has sequence number start
// (ISN+1), keeping the buffers of a previous use.
func (s *streamPrefix) reset(start uint32, limit int) {
	s.start = start
	s.limit = max(limit, 0)
	s.buf = s.buf[:0]
	s.ooo = s.ooo[:0]
	s.pending = s.pending[:0]
}

// discard drops the first n bytes of the prefix: the stream goes on from
// start+n, with what is held beyond the prefix kept. The held bytes are
// moved to the front of ooo (in the order they sit there, so no range is
// overwritten before it moves), which keeps ooo within the limit however
// long the stream.
func (s *streamPrefix) discard(n int) {
	n = min(max(n, 0), len(s.buf))
	s.buf = s.buf[:copy(s.buf, s.buf[n:])]
	s.start += uint32(n)
	var order [prefixMaxPending]int8
	byAt := order[:len(s.pending)]
	for i := range byAt {
		byAt[i] = int8(i)
	}
	slices.SortFunc(byAt, func(a, b int8) int { return s.pending[a].at - s.pending[b].at })
	at := 0
	for _, i := range byAt {
		p := &s.pending[i]
		l := p.end - p.off
		copy(s.ooo[at:], s.ooo[p.at:p.at+l])
		p.off, p.end, p.at = p.off-n, p.end-n, at
		at += l
	}
	s.ooo = s.ooo[:at]
}

// release drops the buffers.
func (s *streamPrefix) release() { *s = streamPrefix{} }

// bytes returns the contiguous prefix received so far. It is valid until the
// next add, reset or release.
func (s *streamPrefix) bytes() []byte { return s.buf }

// full reports that the prefix has reached the limit.
func (s *streamPrefix) full() bool { return len(s.buf) >= s.limit }

// add takes the payload of a segment whose first byte has sequence number seq.
// Segments may come in any order, repeat, overlap each other or the start,
// and wrap past 2^32; bytes beyond the limit are ignored.
func (s *streamPrefix) add(seq uint32, payload []byte) {
	// Serial arithmetic (RFC 1982): within 2^31 before start is "before".
	off := int64(int32(seq - s.start))
	if off < 0 {
		if int64(len(payload)) <= -off {
			return
		}
		payload = payload[-off:]
		off = 0
	}
	if off >= int64(s.limit) {
		return
	}
	if room := int64(s.limit) - off; int64(len(payload)) > room {
		payload = payload[:room]
	}
	o := int(off)
	if o > len(s.buf) {
		s.hold(o, payload)
		return
	}
	for {
		n := len(s.buf)
		end := o + len(payload)
		if end <= n {
			return
		}
		// Up to the next held range only: its bytes came first.
		if len(s.pending) > 0 && s.pending[0].off < end {
			end = s.pending[0].off
		}
		s.buf = prefixAppend(s.buf, payload[n-o:end-o], s.limit)
		s.drain()
		if len(s.buf) == n {
			return
		}
	}
}

// drain moves the held ranges that the prefix has reached into it.
func (s *streamPrefix) drain() {
	for len(s.pending) > 0 && s.pending[0].off <= len(s.buf) {
		p := s.pending[0]
		if p.end > len(s.buf) {
			s.buf = prefixAppend(s.buf, s.ooo[p.at+len(s.buf)-p.off:p.at+p.end-p.off], s.limit)
		}
		s.pending = s.pending[:copy(s.pending, s.pending[1:])]
	}
	if len(s.pending) == 0 {
		s.ooo = s.ooo[:0]
	}
}

// hold keeps the parts of payload (stream offset o, beyond the prefix) that no
// held range covers yet.
func (s *streamPrefix) hold(o int, payload []byte) {
	end := o + len(payload)
	i := 0
	for i < len(s.pending) && s.pending[i].end <= o {
		i++
	}
	cur := o
	for cur < end {
		if i < len(s.pending) && s.pending[i].off <= cur {
			cur = max(cur, s.pending[i].end)
			i++
			continue
		}
		gapEnd := end
		if i < len(s.pending) && s.pending[i].off < gapEnd {
			gapEnd = s.pending[i].off
		}
		at := len(s.ooo)
		// Each stream offset is held at most once between drains, so ooo
		// never outgrows the limit.
		if i > 0 && s.pending[i-1].end == cur && s.pending[i-1].at+s.pending[i-1].end-s.pending[i-1].off == at {
			s.pending[i-1].end = gapEnd
		} else {
			if len(s.pending) >= prefixMaxPending {
				return
			}
			s.pending = append(s.pending, prefixRange{})
			copy(s.pending[i+1:], s.pending[i:])
			s.pending[i] = prefixRange{off: cur, end: gapEnd, at: at}
			i++
		}
		s.ooo = prefixAppend(s.ooo, payload[cur-o:gapEnd-o], s.limit)
		cur = gapEnd
	}
}

// prefixAppend appends like append, but grows the buffer to no more than
// limit: the next doubling is capped where the stream stops being collected.
func prefixAppend(b, more []byte, limit int) []byte {
	if need := len(b) + len(more); need > cap(b) {
		grown := make([]byte, len(b), min(max(need, 2*cap(b)), max(limit, need)))
		copy(grown, b)
		b = grown
	}
	return append(b, more...)
}
