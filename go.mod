module github.com/vpce-verify/vpce-verify

go 1.26.0

require github.com/gopacket/gopacket v1.7.7

require github.com/gaissmai/bart v0.30.0
