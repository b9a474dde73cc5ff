package hello

import (
	"errors"
	"fmt"
	"strconv"

	"golang.org/x/crypto/cryptobyte"
)

// ClientHello is what a TLS ClientHello reveals about a connection.
type ClientHello struct {
	// SNI is the first host_name of the server_name extension, byte for byte
	// as sent (it may be an IP literal, carry a trailing dot or bytes that are
	// not a valid host name: escape it before printing); "" when absent.
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

// ErrNotTLS means the bytes do not begin a TLS handshake record carrying a
// ClientHello.
var ErrNotTLS = errors.New("tls: not a tls client hello")

const (
	recordHeaderLen = 5
	// maxRecord is the largest TLSPlaintext fragment (RFC 8446 section
	// 5.1); a client's first record never carries more.
	maxRecord          = 1 << 14
	handshakeHeaderLen = 4 // handshake type and uint24 length
	typeHandshake      = 22
	typeClientHello    = 1
	maxSessionID       = 32

	extServerName        = 0
	extALPN              = 16
	extSupportedVersions = 43
	extKeyShare          = 51
	// extDraftKeyShare is key_share in TLS 1.3 drafts before 23, still
	// found in old captures (tshark reads it too).
	extDraftKeyShare = 40
	extECH           = 0xfe0d
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
// records.
func parseClientHello(stream []byte) (ClientHello, int, error) {
	msg, total, need, merr := handshakeMessage(stream)
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

// handshakeMessage takes the handshake message that opens stream out of its TLS
// records. msg holds the bytes of the message that have arrived (its 4-byte
// header included), total its declared length with the header, or -1 while the
// header is incomplete. With ErrIncomplete, need is a lower bound on the
// stream length that would complete the message.
func handshakeMessage(stream []byte) (msg []byte, total, need int, err error) {
	total = -1
	owned := false // msg is a copy (the message spans records), not a view of stream
	off := 0
	for rec := 0; ; rec++ {
		rest := cryptobyte.String(stream[off:])
		var typ, major uint8
		if !rest.ReadUint8(&typ) {
			return msg, total, off + recordHeaderLen + missingBytes(msg, total), ErrIncomplete
		}
		if typ != typeHandshake {
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
			return msg, total, off + recordHeaderLen + missingBytes(msg, total), ErrIncomplete
		}
		// A handshake record may not be empty (RFC 8446 section 5.1).
		if length == 0 || length > maxRecord {
			if rec == 0 {
				return nil, -1, 0, ErrNotTLS
			}
			return nil, -1, 0, fmt.Errorf("tls: record %d at byte %d: length %d is not between 1 and %d", rec, off, length, maxRecord)
		}
		recEnd := off + recordHeaderLen + int(length)
		frag := []byte(rest)
		if len(frag) > int(length) {
			frag = frag[:length]
		}
		if rec == 0 && len(frag) > 0 && frag[0] != typeClientHello {
			return nil, -1, 0, ErrNotTLS
		}

		for len(frag) > 0 && (total < 0 || len(msg) < total) {
			n := len(frag)
			if total < 0 {
				n = min(n, handshakeHeaderLen-len(msg))
			} else {
				n = min(n, total-len(msg))
			}
			switch {
			case rec == 0:
				// Still one contiguous run of stream: no copy.
				msg = stream[recordHeaderLen : recordHeaderLen+len(msg)+n]
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
			if total < 0 && len(msg) == handshakeHeaderLen {
				total = handshakeHeaderLen + (int(msg[1])<<16 | int(msg[2])<<8 | int(msg[3]))
			}
		}
		if total >= 0 && len(msg) == total {
			return msg, total, 0, nil
		}
		if recEnd > len(stream) {
			// Cut inside this record: the rest of it carries up to
			// recEnd-len(stream) more message bytes, later records the rest.
			missing := missingBytes(msg, total)
			inRecord := recEnd - len(stream)
			if missing <= inRecord {
				return msg, total, len(stream) + missing, ErrIncomplete
			}
			return msg, total, recEnd + recordHeaderLen + missing - inRecord, ErrIncomplete
		}
		off = recEnd
	}
}

// missingBytes is a lower bound on the message bytes still to come.
func missingBytes(msg []byte, total int) int {
	if total < 0 {
		return handshakeHeaderLen - len(msg)
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
			return r.short(fieldName(field, ext) + " length")
		}
		n = int(v)
	default:
		var v uint16
		if !r.s.ReadUint16(&v) {
			return r.short(fieldName(field, ext) + " length")
		}
		n = int(v)
	}
	if left := r.total - r.pos(); n > left {
		return fmt.Errorf("tls: client hello byte %d: %s length %d runs past the end of the message (%d bytes left)", start, fieldName(field, ext), n, left)
	}
	if !r.s.ReadBytes((*[]byte)(out), n) {
		return ErrIncomplete
	}
	return nil
}

func fieldName(field string, ext uint16) string {
	if field != "" {
		return field
	}
	return extName(ext) + " extension"
}

// helloView holds what a ClientHello message says, as views into it, all
// checked: reading them cannot fail.
type helloView struct {
	legacyVersion uint16
	sni           []byte            // nil when absent
	alpn          cryptobyte.String // protocol_name_list
	versions      cryptobyte.String // supported_versions list
	keyShares     cryptobyte.String // client_shares
	seen          uint8             // extBit of each extension read
}

// parseHelloView checks the fields of a ClientHello message the way
// crypto/tls's clientHelloMsg.unmarshal reads them, allocating nothing. msg
// may be a prefix of the total bytes the header declares; then it returns what
// the prefix holds and ErrIncomplete.
func parseHelloView(msg []byte, total int) (helloView, error) {
	var v helloView
	r := helloReader{s: cryptobyte.String(msg), avail: len(msg), total: total}
	r.s.Skip(handshakeHeaderLen)

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
	if len(sessionID) > maxSessionID {
		return v, fmt.Errorf("tls: client hello byte %d: legacy_session_id length %d exceeds %d", at, len(sessionID), maxSessionID)
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
		bit := extBit(ext)
		if v.seen&bit != 0 {
			return v, fmt.Errorf("tls: client hello byte %d: second %s extension", at, extName(ext))
		}
		v.seen |= bit
		var problem string
		switch ext {
		case extServerName:
			v.sni, problem = readServerName(data)
		case extALPN:
			v.alpn, problem = readALPN(data)
		case extSupportedVersions:
			v.versions, problem = readVersions(data)
		case extKeyShare, extDraftKeyShare:
			v.keyShares, problem = readKeyShares(data)
		}
		if problem != "" {
			return v, fmt.Errorf("tls: %s extension at client hello byte %d: %s", extName(ext), at, problem)
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
	h.ECH = v.seen&extBit(extECH) != 0
	if v.seen&extBit(extALPN) != 0 {
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
	if v.seen&extBit(extSupportedVersions) != 0 {
		h.Versions = make([]uint16, 0, len(v.versions)/2)
		for list := v.versions; !list.Empty(); {
			var ver uint16
			list.ReadUint16(&ver)
			if !isGREASE(ver) {
				h.Versions = append(h.Versions, ver)
			}
		}
	} else if complete {
		h.Versions = []uint16{v.legacyVersion}
	}
	if v.seen&extBit(extKeyShare) != 0 {
		for list := v.keyShares; !list.Empty(); {
			var group uint16
			var key cryptobyte.String
			list.ReadUint16(&group)
			list.ReadUint16LengthPrefixed(&key)
			if !isGREASE(group) {
				h.KeyShareGroups = append(h.KeyShareGroups, group)
			}
		}
	}
	return h
}

func extName(ext uint16) string {
	switch ext {
	case extServerName:
		return "server_name"
	case extALPN:
		return "application_layer_protocol_negotiation"
	case extSupportedVersions:
		return "supported_versions"
	case extKeyShare:
		return "key_share"
	case extDraftKeyShare:
		return "draft key_share"
	case extECH:
		return "encrypted_client_hello"
	}
	return "type " + strconv.Itoa(int(ext))
}

func extBit(ext uint16) uint8 {
	switch ext {
	case extServerName:
		return 1 << 0
	case extALPN:
		return 1 << 1
	case extSupportedVersions:
		return 1 << 2
	case extKeyShare, extDraftKeyShare:
		return 1 << 3
	case extECH:
		return 1 << 4
	}
	return 0
}

// readServerName checks a server_name extension (RFC 6066 section 3) and
// returns its first host_name. Each readXxx extension reader returns what is
// wrong, or "".
func readServerName(data cryptobyte.String) ([]byte, string) {
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

func readALPN(data cryptobyte.String) (cryptobyte.String, string) {
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

func readVersions(data cryptobyte.String) (cryptobyte.String, string) {
	var list cryptobyte.String
	if !data.ReadUint8LengthPrefixed(&list) || !data.Empty() {
		return nil, "versions length does not match the extension length"
	}
	if list.Empty() || len(list)%2 != 0 {
		return nil, "versions length " + strconv.Itoa(len(list)) + " is not a positive even number"
	}
	return list, ""
}

func readKeyShares(data cryptobyte.String) (cryptobyte.String, string) {
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

// isGREASE reports the reserved values 0x0a0a, 0x1a1a, ... 0xfafa that
// clients send to keep servers tolerant of unknown values (RFC 8701).
func isGREASE(v uint16) bool {
	return v&0x0f0f == 0x0a0a && v>>8 == v&0xff
}
