// Package hello reads the first bytes a client sends on a TCP connection,
// the bytes that name the server it wants to reach: a TLS ClientHello (its
// SNI) or an HTTP/1.x request (its Host header, and the authority a proxy is
// asked to reach with CONNECT or an absolute URI).
//
// It owns the parsing only. The caller hands over the client's bytes in
// order, as far as they have arrived (package capture reassembles them per
// connection); when they stop early the parsers say so with ErrIncomplete
// and report what the bytes so far reveal, rather than guess. Nothing is
// allocated in proportion to a length field read from the bytes, and the
// HTTP parser allocates nothing: its results are views into the bytes given.
//
// It depends on no packet capture code, so a program that only reads hellos
// does not pull in decoding or AF_PACKET sockets.
package hello

import "errors"

// ErrIncomplete means the bytes are a valid beginning of a ClientHello or an
// HTTP request, but more are needed before it can be read whole.
var ErrIncomplete = errors.New("hello: incomplete, more bytes are needed")
