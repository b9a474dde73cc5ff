module github.com/vpce-verify/vpce-verify

go 1.26.0

require github.com/gopacket/gopacket v1.7.7

require (
	github.com/gaissmai/bart v0.30.0
	github.com/miekg/dns v1.1.73
	github.com/spf13/pflag v1.0.10
	golang.org/x/crypto v0.58.0
	golang.org/x/net v0.62.0
	golang.org/x/sys v0.49.0
)

require github.com/klauspost/compress v1.18.2

require (
	github.com/rogpeppe/go-internal v1.16.0
	golang.org/x/tools v0.48.0 // indirect
)
