// Command gen is the Go half of testdata/real/make.sh: a TLS client whose
// ClientHello carries Go's default post-quantum key share (X25519MLKEM768,
// about 1.5 KB, so it spans two TCP segments at MTU 1500), a small server
// that answers one HTTP GET per connection (TLS, or plain HTTP behind a
// proxy), an HTTPS server that reads and discards uploads (sink), and a
// listener that never answers a SYN (hold). make.sh runs them inside a
// network namespace on 127.x addresses only; nothing here is meant to reach
// a real network.
//
//	go run ./gen server -listen 127.0.2.50:443 -cert cert.pem -key key.pem
//	go run ./gen server -plain -listen 127.0.2.50:80
//	go run ./gen sink -listen 127.219.64.10:443 -cert cert.pem -key key.pem
//	go run ./gen hold -listen 127.0.2.50:443 -filler 127.0.9.9
//	go run ./gen client -connect 127.0.2.50:443 -local 127.0.1.25:49002 -sni my-bucket.s3.ap-south-1.amazonaws.com
package main

import (
	"bufio"
	"crypto/tls"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"
)

func main() {
	if len(os.Args) < 2 {
		fmt.Fprintln(os.Stderr, "usage: gen client|server|sink|hold [flags]")
		os.Exit(2)
	}
	var err error
	switch os.Args[1] {
	case "client":
		err = client(os.Args[2:])
	case "server":
		err = server(os.Args[2:])
	case "sink":
		err = sink(os.Args[2:])
	case "hold":
		err = hold(os.Args[2:])
	default:
		err = fmt.Errorf("unknown mode %q", os.Args[1])
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "gen: error:", err)
		os.Exit(1)
	}
}

func client(args []string) error {
	fs := flag.NewFlagSet("client", flag.ExitOnError)
	connect := fs.String("connect", "", "server address ip:port (a 127.x address)")
	local := fs.String("local", "", "local address ip:port to bind, so captures are reproducible")
	sni := fs.String("sni", "", "server name sent in the ClientHello")
	fs.Parse(args)
	if *connect == "" || *sni == "" {
		return errors.New("client needs -connect and -sni")
	}
	d := net.Dialer{Timeout: 5 * time.Second}
	if *local != "" {
		la, err := net.ResolveTCPAddr("tcp", *local)
		if err != nil {
			return fmt.Errorf("local address: %w", err)
		}
		d.LocalAddr = la
	}
	// The default CurvePreferences are kept on purpose: they are what puts
	// the ML-KEM key share, and so the two-segment ClientHello, on the wire.
	// The server certificate is a throwaway self-signed one.
	conn, err := tls.DialWithDialer(&d, "tcp", *connect, &tls.Config{
		ServerName:         *sni,
		InsecureSkipVerify: true,
		NextProtos:         []string{"http/1.1"},
	})
	if err != nil {
		return fmt.Errorf("dial %s: %w", *connect, err)
	}
	defer conn.Close()
	st := conn.ConnectionState()
	fmt.Fprintf(os.Stderr, "gen: connected to %s, TLS version %#04x, group %s\n", *connect, st.Version, st.CurveID)
	req := "GET /object.txt HTTP/1.1\r\nHost: " + *sni + "\r\nUser-Agent: vpce-verify-gen\r\nConnection: close\r\n\r\n"
	if _, err := io.WriteString(conn, req); err != nil {
		return fmt.Errorf("write request: %w", err)
	}
	body, err := io.ReadAll(conn)
	if err != nil {
		return fmt.Errorf("read response: %w", err)
	}
	status, _, _ := strings.Cut(string(body), "\r\n")
	fmt.Fprintln(os.Stderr, "gen:", status)
	return nil
}

func server(args []string) error {
	fs := flag.NewFlagSet("server", flag.ExitOnError)
	listen := fs.String("listen", "", "address ip:port to listen on (a 127.x address or [::1])")
	certFile := fs.String("cert", "cert.pem", "PEM certificate")
	keyFile := fs.String("key", "key.pem", "PEM private key")
	plain := fs.Bool("plain", false, "plain HTTP, no TLS (the origin behind a proxy's absolute-URI request)")
	fs.Parse(args)
	var ln net.Listener
	var err error
	if *plain {
		ln, err = net.Listen("tcp", *listen)
	} else {
		var cert tls.Certificate
		cert, err = tls.LoadX509KeyPair(*certFile, *keyFile)
		if err != nil {
			return fmt.Errorf("load key pair: %w", err)
		}
		ln, err = tls.Listen("tcp", *listen, &tls.Config{
			Certificates: []tls.Certificate{cert},
			NextProtos:   []string{"http/1.1"},
		})
	}
	if err != nil {
		return fmt.Errorf("listen %s: %w", *listen, err)
	}
	fmt.Fprintln(os.Stderr, "gen: listening on", ln.Addr())
	for {
		c, err := ln.Accept()
		if err != nil {
			return fmt.Errorf("accept: %w", err)
		}
		go serve(c)
	}
}

// serve answers one request with a small HTTP/1.1 200. It half-closes first
// and waits for the client's close_notify, so the capture ends with a FIN
// from each side instead of a RST for data arriving on a closed socket.
func serve(c net.Conn) {
	defer c.Close()
	c.SetDeadline(time.Now().Add(10 * time.Second))
	r := bufio.NewReader(c)
	for {
		line, err := r.ReadString('\n')
		if err != nil {
			return
		}
		if line == "\r\n" {
			break
		}
	}
	body := "hello from a test server\n"
	fmt.Fprintf(c, "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: %d\r\nConnection: close\r\n\r\n%s", len(body), body)
	if cw, ok := c.(interface{ CloseWrite() error }); ok {
		cw.CloseWrite()
	}
	io.Copy(io.Discard, r)
}

// sink is an HTTPS server that reads every request body to the end,
// discards it and says how many bytes it read, on stderr (make.sh checks
// the upload arrived whole) and in a small 200. HTTP/2 is off so the upload
// is one HTTP/1.1 request on one connection; net/http answers curl's
// "Expect: 100-continue" itself.
func sink(args []string) error {
	fs := flag.NewFlagSet("sink", flag.ExitOnError)
	listen := fs.String("listen", "", "address ip:port to listen on (a 127.x address)")
	certFile := fs.String("cert", "cert.pem", "PEM certificate")
	keyFile := fs.String("key", "key.pem", "PEM private key")
	fs.Parse(args)
	ln, err := net.Listen("tcp", *listen)
	if err != nil {
		return fmt.Errorf("listen %s: %w", *listen, err)
	}
	fmt.Fprintln(os.Stderr, "gen: listening on", ln.Addr())
	srv := &http.Server{
		Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			n, err := io.Copy(io.Discard, r.Body)
			if err != nil {
				fmt.Fprintf(os.Stderr, "gen: sink %s %s: read %d bytes, then %v\n", r.Method, r.URL.Path, n, err)
				return
			}
			fmt.Fprintf(os.Stderr, "gen: sink %s %s: received %d bytes\n", r.Method, r.URL.Path, n)
			fmt.Fprintf(w, "received %d bytes\n", n)
		}),
		TLSNextProto: map[string]func(*http.Server, *tls.Conn, http.Handler){},
	}
	return srv.ServeTLS(ln, *certFile, *keyFile)
}

// hold makes a port where SYNs go unanswered, the loopback stand-in for a
// security group that drops them, without netfilter or tc actions (the
// kernel may have neither). It listens with a backlog of 0 and fills the one
// accept-queue slot with its own connection from the -filler address, which
// it never accepts; Linux then drops every further SYN to that port, so a
// client sees only its own retransmitted SYNs (Zeek S0). make.sh leaves the
// filler's address out of the capture with a tcpdump filter.
func hold(args []string) error {
	fs := flag.NewFlagSet("hold", flag.ExitOnError)
	listen := fs.String("listen", "", "address ip:port to hold")
	filler := fs.String("filler", "127.0.9.9", "source address of the connection that fills the accept queue")
	fs.Parse(args)
	ln, err := net.Listen("tcp", *listen)
	if err != nil {
		return fmt.Errorf("listen %s: %w", *listen, err)
	}
	defer ln.Close()
	rc, err := ln.(*net.TCPListener).SyscallConn()
	if err != nil {
		return fmt.Errorf("raw listener: %w", err)
	}
	var lerr error
	// Calling listen again on a listening socket only changes its backlog.
	if err := rc.Control(func(fd uintptr) { lerr = syscall.Listen(int(fd), 0) }); err != nil {
		return fmt.Errorf("raw listener: %w", err)
	}
	if lerr != nil {
		return fmt.Errorf("set backlog 0: %w", lerr)
	}
	d := net.Dialer{Timeout: 2 * time.Second, LocalAddr: &net.TCPAddr{IP: net.ParseIP(*filler)}}
	c, err := d.Dial("tcp", *listen)
	if err != nil {
		return fmt.Errorf("filler dial: %w", err)
	}
	defer c.Close()
	fmt.Fprintln(os.Stderr, "gen: holding", ln.Addr())
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, syscall.SIGTERM, os.Interrupt)
	<-sig
	return nil
}
