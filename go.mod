module github.com/vpce-verify/vpce-verify

go 1.26.0

require github.com/gopacket/gopacket v1.7.7

require (
	github.com/miekg/dns v1.1.73 // indirect
	golang.org/x/net v0.57.0 // indirect
	golang.org/x/sys v0.47.0 // indirect
)
