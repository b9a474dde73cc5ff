// Package probe is verify's active part: it resolves the name as the
// host's applications do (or asks the servers named), makes one real TLS
// connection to the first IPv4 and the first IPv6 answer with the name as
// SNI, and tells the capture when those connections have been seen closed.
// The capture and the report are other packages' work: this one returns
// what it did, typed, and the command wires it in.
package probe

import (
	"bufio"
	"context"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"encoding/hex"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/netip"
	"strings"
	"time"
)

// Conn is one TLS connection the probe made.
type Conn struct {
	// Client is the connection's local address; zero when the dial failed
	// before it had one.
	Client, Server netip.AddrPort
	// Err is why the TCP or TLS handshake failed; "" when it completed.
	Err        string
	TLSVersion string
	// CertVerified says whether the server's certificate chain verified
	// for the name; a failure is worth knowing (a TLS-intercepting
	// middlebox), not a failed connection.
	CertVerified                     bool
	CertErr, CertSubject, CertIssuer string
	// CertSHA256 is the SHA-256 of the server certificate's DER bytes, in
	// hex: its fingerprint, as openssl x509 -fingerprint -sha256 gives it.
	CertSHA256 string
	// HTTPStatus is the status line of the answer to HEAD / (Prober.Head);
	// RequestID and ID2 are its x-amz-request-id and x-amz-id-2 headers,
	// which name the request to AWS.
	HTTPStatus, RequestID, ID2 string
}

// Prober makes verify's TLS connections: SNI Name, the certificate checked
// for Name against Roots, never failing the connection because of it.
type Prober struct {
	Name  string
	Roots *x509.CertPool
	// Head sends HEAD / after the handshake and reads the status line.
	Head      bool
	UserAgent string
	// Timeout bounds one connection: dial, handshake and HEAD (default
	// 5 s).
	Timeout time.Duration
}

// DialAll probes each address on port in turn. connected, when not nil,
// learns the client address of connection i as soon as it is connected,
// before its handshake and close, or a zero address once its dial failed.
func (p *Prober) DialAll(ctx context.Context, addrs []netip.Addr, port uint16, connected func(i int, client netip.AddrPort)) []Conn {
	out := []Conn{}
	for i, a := range addrs {
		c := p.dial(ctx, netip.AddrPortFrom(a, port), func(client netip.AddrPort) {
			if connected != nil {
				connected(i, client)
			}
		})
		if !c.Client.IsValid() && connected != nil {
			connected(i, netip.AddrPort{})
		}
		out = append(out, c)
	}
	return out
}

func (p *Prober) dial(ctx context.Context, server netip.AddrPort, connected func(client netip.AddrPort)) Conn {
	c := Conn{Server: server}
	timeout := p.Timeout
	if timeout <= 0 {
		timeout = 5 * time.Second
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	var d net.Dialer
	conn, err := d.DialContext(ctx, "tcp", server.String())
	if err != nil {
		c.Err = err.Error()
		return c
	}
	if local, err := netip.ParseAddrPort(conn.LocalAddr().String()); err == nil {
		c.Client = netip.AddrPortFrom(local.Addr().Unmap(), local.Port())
		connected(c.Client)
	}
	if dl, ok := ctx.Deadline(); ok {
		conn.SetDeadline(dl)
	}
	// The certificate is checked below, by hand, so that a failure is
	// reported rather than ending the handshake the evidence is about.
	tc := tls.Client(conn, &tls.Config{ServerName: p.Name, InsecureSkipVerify: true, NextProtos: []string{"http/1.1"}})
	defer tc.Close()
	if err := tc.HandshakeContext(ctx); err != nil {
		c.Err = "TLS handshake: " + err.Error()
		return c
	}
	st := tc.ConnectionState()
	c.TLSVersion = strings.ReplaceAll(tls.VersionName(st.Version), " ", "")
	if len(st.PeerCertificates) > 0 {
		leaf := st.PeerCertificates[0]
		c.CertSubject, c.CertIssuer = leaf.Subject.String(), leaf.Issuer.String()
		sum := sha256.Sum256(leaf.Raw)
		c.CertSHA256 = hex.EncodeToString(sum[:])
		inter := x509.NewCertPool()
		for _, ic := range st.PeerCertificates[1:] {
			inter.AddCert(ic)
		}
		_, err := leaf.Verify(x509.VerifyOptions{DNSName: p.Name, Roots: p.Roots, Intermediates: inter})
		c.CertVerified = err == nil
		if err != nil {
			c.CertErr = err.Error()
		}
	} else {
		c.CertErr = "the server sent no certificate"
	}
	if p.Head {
		fmt.Fprintf(tc, "HEAD / HTTP/1.1\r\nHost: %s\r\nUser-Agent: %s\r\nConnection: close\r\n\r\n", p.Name, p.UserAgent)
		resp, err := http.ReadResponse(bufio.NewReader(io.LimitReader(tc, maxHeadAnswer)), &http.Request{Method: http.MethodHead})
		if err != nil {
			c.HTTPStatus = "no response: " + err.Error()
		} else {
			c.HTTPStatus = resp.Status
			c.RequestID, c.ID2 = resp.Header.Get("X-Amz-Request-Id"), resp.Header.Get("X-Amz-Id-2")
			resp.Body.Close()
		}
	}
	closeGracefully(tc, conn)
	return c
}

// closeGracefully ends the probe the way a well-behaved client does, so
// that the capture shows a clean close (SF) rather than a reset: it sends
// close_notify and a FIN, then reads what the server still sends (TLS 1.3
// session tickets arrive after the handshake; closing with them unread
// makes the kernel answer with a RST) until the server closes too, for at
// most closeWait.
func closeGracefully(tc *tls.Conn, conn net.Conn) {
	if tc.CloseWrite() != nil {
		return
	}
	if cw, ok := conn.(interface{ CloseWrite() error }); ok {
		cw.CloseWrite()
	}
	conn.SetReadDeadline(time.Now().Add(closeWait))
	io.Copy(io.Discard, tc)
}

// maxHeadAnswer bounds what is read of the answer to HEAD /: a status line
// and headers.
const maxHeadAnswer = 64 << 10

// closeWait bounds how long the probe waits for the server's FIN.
const closeWait = time.Second
