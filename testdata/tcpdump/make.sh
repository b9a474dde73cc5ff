#!/usr/bin/env bash
# make.sh: remake the capture in testdata/tcpdump and the text tcpdump
# printed of it (needs root: a network namespace and a capture on its lo).
#
#   sudo testdata/tcpdump/make.sh
#
# In a network namespace of its own (only its lo: nothing leaves it),
# dnsmasq answers as the VPC resolver (127.0.0.2), openssl s_server -WWW
# serves HTTPS as the interface endpoint (127.0.2.50) and as public S3
# (127.219.64.10), and dig and curl (from 127.0.1.25) ask for
# my-bucket.s3.ap-south-1.amazonaws.com (a CNAME to the endpoint's
# scenario address 10.0.2.50) and s3.dualstack.ap-south-1.amazonaws.com
# (52.219.64.10: DNS answers carry the scenario addresses, which no
# connection is made to; curl --resolve goes to the 127 ones), while tcpdump -i lo
# writes live.pcap and prints live.txt at the same time (--print, its
# messages kept with 2>&1: "listening on", the closing counts). Then
# tcprewrite puts the scenario addresses into seed.pcap (10.0.1.25 client,
# 10.0.0.2 resolver, 10.0.2.50 endpoint, 52.219.64.10 public S3) and
# tcpdump -nn -r prints seed.txt from it. Times are printed in UTC.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
if ((EUID != 0)); then
	echo "make.sh: must run as root (it creates a network namespace and captures on it)" >&2
	exit 2
fi
for tool in ip tcpdump dnsmasq dig curl openssl tcprewrite ss; do
	command -v "$tool" >/dev/null || { echo "make.sh: $tool not found" >&2; exit 2; }
done

ns=vpcev-tdtext
work=$(mktemp -d /tmp/vpcev-tdtext.XXXXXX)
pids=()
cleanup() {
	local p
	for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
	wait 2>/dev/null || true
	ip netns del "$ns" 2>/dev/null || true
	rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

nsx() { ip netns exec "$ns" "$@"; }
# bg runs a command in the namespace in the background; $last is its pid.
bg() {
	local log=$1
	shift
	ip netns exec "$ns" "$@" >"$log" 2>&1 &
	pids+=($!)
	last=$!
}
wait_listen() {
	local proto=$1 addr=$2 i
	for i in $(seq 100); do
		[[ -n $(nsx ss -Hln"$proto" src "$addr") ]] && return 0
		sleep 0.05
	done
	echo "make.sh: nothing listening on $addr ($proto)" >&2
	exit 1
}

ip netns del "$ns" 2>/dev/null || true
ip netns add "$ns"
nsx ip link set lo up
# One segment per skb at MTU 1500: lo cuts TCP as an Ethernet NIC does.
nsx ip link set lo mtu 1500 gso_max_segs 1

mkdir -p "$work/www"
printf 'object body\n' >"$work/www/object.txt"
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 30 \
	-subj "/O=vpce-verify testdata (not AWS)/CN=s3.ap-south-1.amazonaws.com" \
	-addext "subjectAltName=DNS:*.s3.ap-south-1.amazonaws.com,DNS:s3.dualstack.ap-south-1.amazonaws.com" \
	-keyout "$work/key.pem" -out "$work/cert.pem" 2>/dev/null

bg "$work/dnsmasq.log" dnsmasq --keep-in-foreground --conf-file=/dev/null --no-resolv --no-hosts \
	--listen-address=127.0.0.2 --bind-interfaces --port=53 --pid-file= --user=root --group=root --local-ttl=60 \
	--cname=my-bucket.s3.ap-south-1.amazonaws.com,s3-r-w.ap-south-1.amazonaws.com \
	--host-record=s3-r-w.ap-south-1.amazonaws.com,10.0.2.50 \
	--host-record=s3.dualstack.ap-south-1.amazonaws.com,52.219.64.10
wait_listen u 127.0.0.2:53
for addr in 127.0.2.50 127.219.64.10; do
	bg "$work/s_server.$addr.log" env -C "$work/www" openssl s_server -quiet -accept "$addr:443" \
		-cert "$work/cert.pem" -key "$work/key.pem" -WWW
	wait_listen t "$addr:443"
done

# tcpdump writes the pcap and prints the text of the same packets, line
# by line (-l): without it, its buffered output and its closing counts
# (written unbuffered to stderr) interleave in the middle of a line.
bg "$work/live.txt" env TZ=UTC tcpdump -i lo -nn -l -Z root --immediate-mode -U -w "$work/live.pcap" --print
cap=$last
for i in $(seq 100); do grep -q "listening on" "$work/live.txt" 2>/dev/null && break; sleep 0.05; done

nsx dig +tries=1 +time=2 @127.0.0.2 -b '127.0.1.25#40001' my-bucket.s3.ap-south-1.amazonaws.com A >/dev/null
nsx curl -sk --interface 127.0.1.25 --local-port 51002 --resolve my-bucket.s3.ap-south-1.amazonaws.com:443:127.0.2.50 \
	https://my-bucket.s3.ap-south-1.amazonaws.com/object.txt >/dev/null
nsx dig +tries=1 +time=2 @127.0.0.2 -b '127.0.1.25#40003' s3.dualstack.ap-south-1.amazonaws.com A >/dev/null
nsx curl -sk --interface 127.0.1.25 --local-port 51004 --resolve s3.dualstack.ap-south-1.amazonaws.com:443:127.219.64.10 \
	https://s3.dualstack.ap-south-1.amazonaws.com/object.txt >/dev/null
sleep 0.5
kill -INT "$cap"
wait "$cap" || true

tcprewrite --fixcsum -i "$work/live.pcap" -o "$work/seed.pcap" \
	--pnat=127.0.1.25/32:10.0.1.25/32,127.0.0.2/32:10.0.0.2/32,127.0.2.50/32:10.0.2.50/32,127.219.64.10/32:52.219.64.10/32
TZ=UTC tcpdump -nn -r "$work/seed.pcap" >"$work/seed.txt" 2>/dev/null
cp "$work/live.pcap" "$work/live.txt" "$work/seed.pcap" "$work/seed.txt" "$here/"
echo "make.sh: wrote live.pcap live.txt seed.pcap seed.txt in $here"
