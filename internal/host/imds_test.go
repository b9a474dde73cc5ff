package host

import (
	"context"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"
)

// imdsStandIn answers as EC2's metadata service does with IMDSv2
// required: a PUT for a token, then GETs that must carry it. It records
// the requests it was sent.
type imdsStandIn struct {
	mu   sync.Mutex
	seen []string
}

func (s *imdsStandIn) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	s.seen = append(s.seen, r.Method+" "+r.URL.Path)
	s.mu.Unlock()
	const token = "AQAEAtoken=="
	if r.URL.Path == "/latest/api/token" {
		if r.Method != http.MethodPut || r.Header.Get("X-aws-ec2-metadata-token-ttl-seconds") == "" {
			http.Error(w, "", http.StatusBadRequest)
			return
		}
		w.Write([]byte(token))
		return
	}
	if r.Method != http.MethodGet || r.Header.Get("X-aws-ec2-metadata-token") != token {
		http.Error(w, "", http.StatusUnauthorized) // IMDSv1 refused
		return
	}
	answers := map[string]string{
		"/latest/meta-data/instance-id":                                         "i-0123456789abcdef0",
		"/latest/meta-data/placement/availability-zone":                         "ap-south-1a",
		"/latest/meta-data/placement/region":                                    "ap-south-1",
		"/latest/meta-data/mac":                                                 "0a:1b:2c:3d:4e:5f",
		"/latest/meta-data/network/interfaces/macs/0a:1b:2c:3d:4e:5f/vpc-id":    "vpc-0a1b2c3d",
		"/latest/meta-data/network/interfaces/macs/0a:1b:2c:3d:4e:5f/subnet-id": "subnet-0a1b2c3d",
		"/latest/dynamic/instance-identity/document": `{"accountId":"123456789012","instanceId":"i-0123456789abcdef0",` +
			`"region":"ap-south-1","availabilityZone":"ap-south-1a"}`,
	}
	a, ok := answers[r.URL.Path]
	if !ok {
		http.NotFound(w, r)
		return
	}
	w.Write([]byte(a + "\n"))
}

func TestEC2IdentityIMDSv2(t *testing.T) {
	s := &imdsStandIn{}
	srv := httptest.NewServer(s) // on 127.0.0.1
	defer srv.Close()
	got, err := EC2Identity(context.Background(), srv.URL, 2*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	want := EC2{InstanceID: "i-0123456789abcdef0", AccountID: "123456789012", Region: "ap-south-1",
		AvailabilityZone: "ap-south-1a", VPCID: "vpc-0a1b2c3d", SubnetID: "subnet-0a1b2c3d", MAC: "0a:1b:2c:3d:4e:5f"}
	if *got != want {
		t.Errorf("got %+v\nwant %+v", *got, want)
	}
	if len(s.seen) == 0 || s.seen[0] != "PUT /latest/api/token" {
		t.Errorf("first request %q, want the token PUT", s.seen)
	}
	for _, r := range s.seen[1:] {
		if !strings.HasPrefix(r, "GET ") {
			t.Errorf("request %q after the token: want GETs only", r)
		}
	}
}

// A service that accepts connections and never answers (a laptop has no
// such thing, but a firewall that drops the packets looks the same): the
// answer comes within the timeout, without EC2 facts.
func TestEC2IdentityNoAnswer(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	var conns []net.Conn
	var mu sync.Mutex
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			conns = append(conns, c) // held open, never read or answered
			mu.Unlock()
		}
	}()
	defer func() {
		mu.Lock()
		for _, c := range conns {
			c.Close()
		}
		mu.Unlock()
	}()
	start := time.Now()
	got, err := EC2Identity(context.Background(), "http://"+ln.Addr().String(), IMDSTimeout)
	if d := time.Since(start); d > IMDSTimeout+200*time.Millisecond {
		t.Errorf("took %v, want about %v", d, IMDSTimeout)
	}
	if got != nil || err == nil || !strings.Contains(err.Error(), "no answer within 300ms") {
		t.Errorf("got %+v, %v; want no facts and a timeout", got, err)
	}
}

// IMDSv1 only (no token) is refused by a host that requires IMDSv2, and a
// service that does not know the token path is not EC2's.
func TestEC2IdentityRefused(t *testing.T) {
	srv := httptest.NewServer(http.NotFoundHandler())
	defer srv.Close()
	got, err := EC2Identity(context.Background(), srv.URL, time.Second)
	if got != nil || err == nil || !strings.Contains(err.Error(), "/latest/api/token: 404") {
		t.Errorf("got %+v, %v", got, err)
	}
}
