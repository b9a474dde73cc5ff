module github.com/vpce-verify/vpce-verify

go 1.26.0

require (
	github.com/gopacket/gopacket v1.7.7
	golang.org/x/crypto v0.58.0
)

require (
	golang.org/x/net v0.60.0 // indirect
	golang.org/x/sys v0.49.0 // indirect
)
