package main

import (
	"bufio"
	"context"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"io"
	"net"
	"net/netip"
	"strings"
	"sync"
	"time"

	"github.com/vpce-verify/vpce-verify/capture/flow"

	"github.com/vpce-verify/vpce-verify/report"
)

// prober makes verify's TLS connections: SNI name, the certificate checked
// for name against the system's roots (and --ca-file), never failing the
// connection because of it.
type prober struct {
	name  string
	roots *x509.CertPool
	head  bool
}

func newProber(name, caFile string, head bool) (*prober, error) {
	roots, err := caPool(caFile)
	if err != nil {
		return nil, err
	}
	return &prober{name: name, roots: roots, head: head}, nil
}

// probeTimeout bounds one connection: dial, handshake and HEAD.
const probeTimeout = 5 * time.Second

// dialAll probes each address in turn. connected, when not nil, learns the
// client address of connection i as soon as it is connected, before its
// handshake and close, or a zero address once its dial has failed.
func (p *prober) dialAll(ctx context.Context, addrs []netip.Addr, port uint16, connected func(i int, client netip.AddrPort)) []report.ProbeConn {
	out := []report.ProbeConn{}
	for i, a := range addrs {
		pc := p.dial(ctx, netip.AddrPortFrom(a, port), func(client netip.AddrPort) {
			if connected != nil {
				connected(i, client)
			}
		})
		if pc.Client == "" && connected != nil {
			connected(i, netip.AddrPort{})
		}
		out = append(out, pc)
	}
	return out
}

func (p *prober) dial(ctx context.Context, server netip.AddrPort, connected func(client netip.AddrPort)) report.ProbeConn {
	pc := report.ProbeConn{Server: server.String()}
	ctx, cancel := context.WithTimeout(ctx, probeTimeout)
	defer cancel()
	var d net.Dialer
	conn, err := d.DialContext(ctx, "tcp", server.String())
	if err != nil {
		pc.Error = err.Error()
		return pc
	}
	if local, err := netip.ParseAddrPort(conn.LocalAddr().String()); err == nil {
		client := netip.AddrPortFrom(local.Addr().Unmap(), local.Port())
		pc.Client = client.String()
		connected(client)
	}
	if dl, ok := ctx.Deadline(); ok {
		conn.SetDeadline(dl)
	}
	// The certificate is checked below, by hand, so that a failure is
	// reported rather than ending the handshake the evidence is about.
	tc := tls.Client(conn, &tls.Config{ServerName: p.name, InsecureSkipVerify: true, NextProtos: []string{"http/1.1"}})
	defer tc.Close()
	if err := tc.HandshakeContext(ctx); err != nil {
		pc.Error = "TLS handshake: " + err.Error()
		return pc
	}
	st := tc.ConnectionState()
	pc.TLSVersion = strings.ReplaceAll(tls.VersionName(st.Version), " ", "")
	if len(st.PeerCertificates) > 0 {
		leaf := st.PeerCertificates[0]
		pc.CertificateSubject, pc.CertificateIssuer = leaf.Subject.String(), leaf.Issuer.String()
		inter := x509.NewCertPool()
		for _, c := range st.PeerCertificates[1:] {
			inter.AddCert(c)
		}
		_, err := leaf.Verify(x509.VerifyOptions{DNSName: p.name, Roots: p.roots, Intermediates: inter})
		pc.CertificateVerified = err == nil
		if err != nil {
			pc.CertificateError = err.Error()
		}
	} else {
		pc.CertificateError = "the server sent no certificate"
	}
	if p.head {
		fmt.Fprintf(tc, "HEAD / HTTP/1.1\r\nHost: %s\r\nUser-Agent: vpce-verify/%s\r\nConnection: close\r\n\r\n", p.name, toolVersion())
		line, err := bufio.NewReader(tc).ReadString('\n')
		if err != nil {
			pc.HTTPStatus = "no response: " + err.Error()
		} else {
			pc.HTTPStatus = strings.TrimSpace(strings.TrimPrefix(strings.TrimPrefix(line, "HTTP/1.1 "), "HTTP/1.0 "))
		}
	}
	closeGracefully(tc, conn)
	return pc
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

// closeWait bounds how long the probe waits for the server's FIN.
const closeWait = time.Second

// probeWatch tells the capture when the probe is over: each connection
// dialled and, when it connected, its close captured. A connection's client
// address is known from its connect on, before any packet of its close can
// reach the capture, so that the last packet of the probe is never read
// before the watch can recognise it. Until start, the probe is not over:
// the capture runs while the name is resolved.
type probeWatch struct {
	mu      sync.Mutex
	port    uint16
	started bool
	servers []netip.AddrPort
	clients []netip.AddrPort // zero when the dial failed
	dialled []bool
	skip    []bool // not captured: nothing to wait for
}

func newProbeWatch(port uint16) *probeWatch { return &probeWatch{port: port} }

// start sets the probe's targets; captured says which of them the capture
// can see (nil: all).
func (w *probeWatch) start(targets []netip.Addr, captured []bool) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.started = true
	w.clients, w.dialled, w.skip = make([]netip.AddrPort, len(targets)), make([]bool, len(targets)), make([]bool, len(targets))
	for i, t := range targets {
		w.servers = append(w.servers, netip.AddrPortFrom(t, w.port))
		w.skip[i] = captured != nil && !captured[i]
	}
}

// connected records connection i's client address (zero: the dial failed).
func (w *probeWatch) connected(i int, client netip.AddrPort) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.clients[i], w.dialled[i] = client, true
}

// over reports whether a has seen every probe connection closed.
func (w *probeWatch) over(a *flow.Analyzer) bool {
	w.mu.Lock()
	defer w.mu.Unlock()
	if !w.started {
		return false
	}
	for i, server := range w.servers {
		if !w.dialled[i] {
			return false
		}
		if !w.clients[i].IsValid() || w.skip[i] {
			continue
		}
		if f := a.Flow(w.clients[i], server); f == nil || !f.Closed() {
			return false
		}
	}
	return true
}
