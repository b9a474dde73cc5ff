// Package lab stands up on loopback what vpce-verify's live commands meet
// on an EC2 host: a DNS server, an "interface endpoint" and a "public S3
// address" that both accept TLS for the S3 names and plain HTTP, and an
// ip-ranges.json in AWS's shape that declares the public one S3. The live
// tests use it, and so does the README's walk-through (go run
// examples/lab/main.go).
//
// Every address is in 127.0.0.0/8: nothing leaves the host.
package lab

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"math/big"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/miekg/dns"
)

// The scenario: a VPC with an S3 interface endpoint and private DNS on.
// Name (and every bucket name under it) resolves to Endpoint; LeakName, the
// dual-stack name that private DNS does not cover, resolves to Public.
const (
	Endpoint = "127.0.2.50"
	Public   = "127.0.3.10"
	Name     = "s3.ap-south-1.amazonaws.com"
	LeakName = "s3.dualstack.ap-south-1.amazonaws.com"
)

// RequestID and ID2 are what the servers answer every HTTP request with in
// x-amz-request-id and x-amz-id-2, as S3 does.
const (
	RequestID = "LAB0REQUEST0ID01"
	ID2       = "lab/id-2/aGVsbG8gYXVkaXRvcg=="
)

// ranges lists Public's /24 as AMAZON and S3 in ap-south-1, as AWS lists
// its S3 prefixes.
const ranges = `{"syncToken":"1800000000","createDate":"2026-11-20-00-00-00","prefixes":[
{"ip_prefix":"127.0.3.0/24","region":"ap-south-1","service":"AMAZON","network_border_group":"ap-south-1"},
{"ip_prefix":"127.0.3.0/24","region":"ap-south-1","service":"S3","network_border_group":"ap-south-1"}],
"ipv6_prefixes":[]}
`

// Lab is a running loopback scenario.
type Lab struct {
	DNS        string // host:port of the DNS server, UDP and TCP
	CAFile     string // PEM of the CA that signed the servers' certificate
	RangesFile string // ip-ranges.json declaring Public S3

	stopDNS   func()
	listeners []net.Listener // TLS and plain HTTP
	wg        sync.WaitGroup
}

// Start writes ca.pem and ip-ranges.json into dir, serves DNS on dnsAddr
// (host:port; port 0 picks a free one), TLS on port 443 and plain HTTP on
// port 80 of Endpoint and Public. Ports below 1024 need root or
// CAP_NET_BIND_SERVICE.
func Start(dir, dnsAddr string) (*Lab, error) {
	l := &Lab{CAFile: filepath.Join(dir, "ca.pem"), RangesFile: filepath.Join(dir, "ip-ranges.json")}
	if err := os.WriteFile(l.RangesFile, []byte(ranges), 0o644); err != nil {
		return nil, err
	}
	cfg, caPEM, err := certificates()
	if err != nil {
		return nil, err
	}
	if err := os.WriteFile(l.CAFile, caPEM, 0o644); err != nil {
		return nil, err
	}
	bound, stop, err := ServeDNS(dnsAddr, dns.HandlerFunc(answer))
	if err != nil {
		return nil, err
	}
	l.DNS, l.stopDNS = bound.String(), stop
	for _, a := range []string{Endpoint, Public} {
		tl, err := tls.Listen("tcp", net.JoinHostPort(a, "443"), cfg)
		if err != nil {
			l.Close()
			return nil, err
		}
		l.listeners = append(l.listeners, tl)
		pl, err := net.Listen("tcp", net.JoinHostPort(a, "80"))
		if err != nil {
			l.Close()
			return nil, err
		}
		l.listeners = append(l.listeners, pl)
		for _, ln := range []net.Listener{tl, pl} {
			l.wg.Add(1)
			go l.accept(ln)
		}
	}
	return l, nil
}

// Close stops the servers and waits for their connections to end.
func (l *Lab) Close() error {
	if l.stopDNS != nil {
		l.stopDNS()
	}
	for _, ln := range l.listeners {
		ln.Close()
	}
	l.wg.Wait()
	return nil
}

// ServeDNS answers with h on UDP and TCP at one port of addr (host:port;
// port 0 picks one free for both) until stop is called. Tests use it for
// their own zones.
func ServeDNS(addr string, h dns.Handler) (bound netip.AddrPort, stop func(), err error) {
	for range 20 {
		pc, err := net.ListenPacket("udp", addr)
		if err != nil {
			return bound, nil, err
		}
		ln, err := net.Listen("tcp", pc.LocalAddr().String())
		if err != nil {
			pc.Close()
			if strings.HasSuffix(addr, ":0") {
				continue // the TCP side of a random port was taken
			}
			return bound, nil, err
		}
		var started sync.WaitGroup
		started.Add(2)
		servers := []*dns.Server{
			{PacketConn: pc, Handler: h, NotifyStartedFunc: started.Done},
			{Listener: ln, Handler: h, NotifyStartedFunc: started.Done},
		}
		for _, s := range servers {
			go s.ActivateAndServe()
		}
		started.Wait()
		stop = func() {
			for _, s := range servers {
				s.Shutdown()
			}
		}
		return pc.LocalAddr().(*net.UDPAddr).AddrPort(), stop, nil
	}
	return bound, nil, errors.New("lab: no port free for both UDP and TCP")
}

// BlackHole reads UDP datagrams on addr (port 0 picks one) and never
// answers, as a resolver that has gone away does, until stop is called.
func BlackHole(addr string) (bound netip.AddrPort, stop func(), err error) {
	pc, err := net.ListenPacket("udp", addr)
	if err != nil {
		return bound, nil, err
	}
	go func() {
		buf := make([]byte, 2048)
		for {
			if _, _, err := pc.ReadFrom(buf); err != nil {
				return
			}
		}
	}()
	return pc.LocalAddr().(*net.UDPAddr).AddrPort(), func() { pc.Close() }, nil
}

// answer is the scenario's resolver: A records for the S3 names, NODATA
// for their other types, NXDOMAIN for everything else.
func answer(w dns.ResponseWriter, r *dns.Msg) {
	m := new(dns.Msg)
	m.SetReply(r)
	m.RecursionAvailable = true
	if len(r.Question) != 1 {
		m.Rcode = dns.RcodeFormatError
		w.WriteMsg(m)
		return
	}
	q := r.Question[0]
	name := strings.ToLower(strings.TrimSuffix(q.Name, "."))
	addr := ""
	switch {
	case name == LeakName:
		addr = Public
	case name == Name || strings.HasSuffix(name, "."+Name):
		addr = Endpoint
	default:
		m.Rcode = dns.RcodeNameError
	}
	if addr != "" && q.Qtype == dns.TypeA {
		m.Answer = append(m.Answer, &dns.A{
			Hdr: dns.RR_Header{Name: q.Name, Rrtype: dns.TypeA, Class: dns.ClassINET, Ttl: 60},
			A:   net.ParseIP(addr),
		})
	}
	w.WriteMsg(m)
}

// accept serves connections, TLS or plain: each is read until the client
// closes it (or 5 s pass), and every HTTP request gets 200 OK with no body
// and S3's request headers.
func (l *Lab) accept(ln net.Listener) {
	defer l.wg.Done()
	for {
		c, err := ln.Accept()
		if err != nil {
			return
		}
		l.wg.Add(1)
		go func() {
			defer l.wg.Done()
			defer c.Close()
			c.SetDeadline(time.Now().Add(5 * time.Second))
			buf := make([]byte, 512)
			for {
				n, err := c.Read(buf)
				if err != nil {
					return
				}
				if bytes.Contains(buf[:n], []byte(" HTTP/1.")) {
					io.WriteString(c, "HTTP/1.1 200 OK\r\nx-amz-request-id: "+RequestID+"\r\nx-amz-id-2: "+ID2+"\r\nContent-Length: 0\r\n\r\n")
				}
			}
		}()
	}
}

// certificates makes a CA and a server certificate for the S3 names, valid
// for a day.
func certificates() (*tls.Config, []byte, error) {
	now := time.Now()
	caKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, nil, err
	}
	caTmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "vpce-verify lab CA"},
		NotBefore: now.Add(-time.Hour), NotAfter: now.Add(24 * time.Hour), IsCA: true,
		KeyUsage: x509.KeyUsageCertSign, BasicConstraintsValid: true}
	caDER, err := x509.CreateCertificate(rand.Reader, caTmpl, caTmpl, &caKey.PublicKey, caKey)
	if err != nil {
		return nil, nil, err
	}
	ca, err := x509.ParseCertificate(caDER)
	if err != nil {
		return nil, nil, err
	}
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, nil, err
	}
	leaf := &x509.Certificate{SerialNumber: big.NewInt(2), Subject: pkix.Name{CommonName: Name},
		DNSNames:  []string{Name, "*." + Name, LeakName},
		NotBefore: now.Add(-time.Hour), NotAfter: now.Add(24 * time.Hour),
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}}
	leafDER, err := x509.CreateCertificate(rand.Reader, leaf, ca, &key.PublicKey, caKey)
	if err != nil {
		return nil, nil, fmt.Errorf("lab: certificate: %w", err)
	}
	cfg := &tls.Config{Certificates: []tls.Certificate{{Certificate: [][]byte{leafDER}, PrivateKey: key}}}
	return cfg, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: caDER}), nil
}
