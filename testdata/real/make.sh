#!/usr/bin/env bash
# make.sh: regenerate the captures in testdata/real from scratch.
#
#   sudo ./make.sh            make every capture (needs root: netns, tcpdump)
#   sudo ./make.sh NAME...    make only these (e.g. proxy-connect), so the
#                             others keep the bytes the README describes
#   ./make.sh facts [FILE...] print the tshark/capinfos facts the README quotes
#
# Every real packet stays inside a network namespace this script creates
# (only its lo and, for replays, a veth pair whose both ends live in it).
# Clients and servers talk over 127.x and ::1; the AWS scenario addresses
# (10.0.x, 52.219.64.10, 2406:da60:a000::10, fd00:10:...) exist only in DNS
# answers (dnsmasq records) and in the files, after offline rewriting with
# tcprewrite. No connection is ever made to them.
#
# Real address -> scenario address (tcprewrite --pnat / --endpoints):
#   127.0.1.25     -> 10.0.1.25         client host
#   127.0.0.2      -> 10.0.0.2          VPC resolver (dnsmasq, port 53)
#   127.0.2.50     -> 10.0.2.50         S3 interface endpoint ENI
#   127.0.3.10     -> 10.0.3.10         HTTP proxy (tinyproxy, port 3128)
#   127.219.64.10  -> 52.219.64.10      public S3, ap-south-1 (52.219.64.0/22)
#   127.216.8.10   -> 52.216.8.10       public S3, us-east-1 (52.216.0.0/15)
#   ::1 client     -> fd00:10:0:1::25   client host, IPv6
#   ::1 server     -> fd00:10:0:2::50   endpoint ENI, IPv6   (ipv6.pcap)
#                  -> 2406:da60:a000::10 public S3, IPv6     (ipv6-public.pcap)
set -euo pipefail
export PATH=$PATH:/usr/local/go/bin

here=$(cd "$(dirname "$0")" && pwd)
out=${OUT:-$here}

pnat=127.0.1.25/32:10.0.1.25/32,127.0.0.2/32:10.0.0.2/32,127.0.2.50/32:10.0.2.50/32,127.219.64.10/32:52.219.64.10/32,127.216.8.10/32:52.216.8.10/32,127.0.3.10/32:10.0.3.10/32
client6=fd00:10:0:1::25
client=127.0.1.25
resolver=127.0.0.2
endpoint=127.0.2.50
public=127.219.64.10
public_use1=127.216.8.10
proxy=127.0.3.10
vpce=bucket.vpce-0a1b2c3d4e5f67890-9hnenorg.s3.ap-south-1.vpce.amazonaws.com
# Locally administered MACs for the replayed files (the lo captures keep
# lo's all-zero MACs): the client ENI and the VPC router.
client_mac=0a:1f:6e:3c:5d:25
router_mac=0a:1f:6e:00:00:01

# ---------------------------------------------------------------- facts --

# dns_type maps the numeric RR types tshark prints to their names.
facts_awk_types='BEGIN { t[1]="A"; t[5]="CNAME"; t[28]="AAAA"; t[41]="OPT"; t[12]="PTR"; t[2]="NS"; t[6]="SOA"
  rc[0]="NOERROR"; rc[1]="FORMERR"; rc[2]="SERVFAIL"; rc[3]="NXDOMAIN"; rc[4]="NOTIMP"; rc[5]="REFUSED" }'

facts_one() {
	local f=$1
	echo "### $(basename "$f")"
	capinfos -t -E -c -s -d "$f" | sed -n 's/^\(File type\|File encapsulation\|Number of packets\|File size\|Data size\): */\1: /p'
	echo "tcp streams (client -> server; conn_state by the awk rules below, not by Zeek):"
	tshark -n -r "$f" -Y tcp -T fields -E separator=/t \
		-e tcp.stream -e ip.src -e ipv6.src -e tcp.srcport -e ip.dst -e ipv6.dst -e tcp.dstport \
		-e tcp.flags.syn -e tcp.flags.ack -e tcp.flags.fin -e tcp.flags.reset -e tcp.len -e ip.len -e ipv6.plen \
		-e tcp.seq_raw -e tcp.ack_raw |
		awk -F'\t' '
		function ep(a, p) { return (a ~ /:/) ? "[" a "]:" p : a ":" p }
		{
			s = $1; src = ep($2 $3, $4); dst = ep($5 $6, $7)
			if (!(s in cli)) {
				order[n++] = s
				# Without a SYN (a capture begun midstream) the server is
				# the end with the lower port.
				if ($8 == 1 && $9 == 1 || $8 != 1 && $4 + 0 < $7 + 0) { cli[s] = dst; srv[s] = src } else { cli[s] = src; srv[s] = dst }
			}
			d = (src == cli[s]) ? "c" : "s"
			pk[s, d]++; by[s, d] += $12; ipb[s, d] += ($13 != "") ? $13 : $14 + 40
			# acked[s]: some packet acknowledged exactly the end of a data
			# segment the other side sent in this file.
			if ($12 > 0) nxt[s, d, sprintf("%.0f", ($15 + $12) % 4294967296)] = 1
			if ($9 == 1 && nxt[s, (d == "c" ? "s" : "c"), sprintf("%.0f", $16)]) acked[s] = 1
			if ($8 == 1 && $9 == 0) syn[s]++
			if ($8 == 1 && $9 == 1) synack[s]++
			if ($10 == 1) fin[s, d]++
			if ($11 == 1) rst[s, d]++
		}
		END {
			for (i = 0; i < n; i++) {
				s = order[i]
				# PRODUCT.md: a SYN-ACK answered the SYN or, when the start was
				# not captured, the other side acknowledged data.
				est = (syn[s] && synack[s]) || (!syn[s] && !synack[s] && acked[s])
				st = "OTH"
				if (syn[s] && !synack[s] && rst[s, "s"] && pk[s, "s"] == rst[s, "s"]) st = "REJ"
				else if (syn[s] && !synack[s] && !pk[s, "s"]) st = "S0"
				else if (syn[s] && synack[s] && fin[s, "c"] && fin[s, "s"] && !rst[s, "c"] && !rst[s, "s"]) st = "SF"
				printf "  stream %d: %s -> %s  pkts %d/%d  payload %d/%d bytes  ip %d/%d bytes  SYN %d  SYN-ACK %d  FIN c/s %d/%d  RST c/s %d/%d  established %s  conn_state %s\n",
					s, cli[s], srv[s], pk[s, "c"], pk[s, "s"], by[s, "c"], by[s, "s"], ipb[s, "c"], ipb[s, "s"], syn[s], synack[s],
					fin[s, "c"], fin[s, "s"], rst[s, "c"], rst[s, "s"], est ? "yes" : "no", st
			}
		}'
	echo "tls client hellos (frame where complete, stream, SNI, record length without its 5-byte header, segments):"
	tshark -n -r "$f" -d tcp.port==3128,http -Y 'tls.handshake.type==1' -T fields -E separator=/t \
		-e frame.number -e tcp.stream -e tls.handshake.extensions_server_name -e tls.record.length -e tcp.segment -e tcp.segment.count |
		awk -F'\t' '{ split($4, l, ","); printf "  frame %s stream %s SNI %s record %s bytes, %s\n", $1, $2, $3, l[1], ($6 == "" ? "1 segment" : $6 " segments (frames " $5 ")") }'
	local http
	http=$(tshark -n -r "$f" -d tcp.port==3128,http -Y http.request -T fields -E separator=/t \
		-e frame.number -e tcp.stream -e http.request.method -e http.request.uri -e http.host)
	if [[ -n $http ]]; then
		echo "http requests (frame, stream, method, request target, Host):"
		awk -F'\t' '{ printf "  frame %s stream %s %s %s Host %s\n", $1, $2, $3, $4, $5 }' <<<"$http"
	fi
	echo "dns messages (frame, transport, client/server, id, query or response):"
	tshark -n -r "$f" -Y dns -T fields -E separator=/t \
		-e frame.number -e udp.srcport -e tcp.srcport -e udp.dstport -e tcp.dstport \
		-e ip.src -e ipv6.src -e ip.dst -e ipv6.dst -e dns.id \
		-e dns.flags.response -e dns.flags.truncated -e dns.flags.rcode -e dns.qry.name -e dns.qry.type \
		-e dns.count.answers -e dns.resp.name -e dns.resp.type -e dns.resp.ttl -e dns.a -e dns.aaaa -e dns.cname |
		awk -F'\t' "$facts_awk_types"'
		function ep(a, p) { return (a ~ /:/) ? "[" a "]:" p : a ":" p }
		{
			tr = ($2 != "") ? "udp" : "tcp"
			line = sprintf("  frame %s %s %s -> %s id %s %s %s %s", $1, tr, ep($6 $7, $2 $3), ep($8 $9, $4 $5), $10,
				($11 == 1 ? "response" : "query"), $14, t[$15])
			if ($11 == 1) {
				n = $16
				line = line sprintf(" rcode %s%s answers %d", rc[$13], ($12 == 1 ? " TC" : ""), n)
				split($17, rn, ","); split($18, rt, ","); split($19, rl, ",")
				split($20, a4, ","); split($21, a6, ","); split($22, cn, ",")
				i4 = i6 = ic = 0; shown = 0
				for (i = 1; i <= n; i++) {
					if (rt[i] == 1) data = a4[++i4]; else if (rt[i] == 28) data = a6[++i6]; else if (rt[i] == 5) data = cn[++ic]; else data = "?"
					if (n > 6 && i > 3 && i < n) { if (!shown) { line = line " ..."; shown = 1 }; continue }
					line = line sprintf(" | %s %s %s ttl %s", rn[i], t[rt[i]], data, rl[i])
				}
			}
			print line
		}'
	if [[ $(capinfos -T -r -E "$f" | cut -f2) == linux-sll2 ]]; then
		echo "sll2 direction (packet type, interface index, hardware type: frames):"
		tshark -n -r "$f" -T fields -e sll.pkttype -e sll.ifindex -e sll.hatype | sort | uniq -c |
			awk '{ printf "  pkttype %s (%s) ifindex %s hatype %s: %d frames\n", $2, ($2 == 4 ? "outgoing" : $2 == 0 ? "to us" : "other"), $3, $4, $1 }'
	fi
	if [[ $f == *.pcapng ]]; then
		echo "pcapng blocks (capinfos):"
		capinfos "$f" | grep -E '^(Capture comment|Capture oper-sys|Capture application|Number of interfaces)|^ *(Interface #|Name|Encapsulation|Number of stat)' | sed 's/^ */  /'
	fi
	local bad left
	bad=$(tshark -n -r "$f" -o tcp.check_checksum:TRUE -o ip.check_checksum:TRUE -o udp.check_checksum:TRUE \
		-Y 'ip.checksum.status==0 || tcp.checksum.status==0 || udp.checksum.status==0' | wc -l)
	left=$(tshark -n -r "$f" -Y 'ip.addr==127.0.0.0/8 || ipv6.addr==::1' | wc -l)
	echo "frames with a bad IP/TCP/UDP checksum: $bad; frames still carrying a loopback address: $left"
	echo
}

if [[ ${1:-} == facts ]]; then
	shift
	if (($# == 0)); then set -- "$here"/*.pcap "$here"/*.pcapng; fi
	for f in "$@"; do facts_one "$f"; done
	exit 0
fi

# ----------------------------------------------------------- generation --

captures=(endpoint-pass public-fail mixed cname-chain refused-endpoint dns-tcp ipv6 ipv6-public
	pq-split global-name example proxy-connect midstream-upload)
for name in "$@"; do
	if [[ " ${captures[*]} " != *" $name "* ]]; then
		echo "make.sh: no capture named $name (known: ${captures[*]})" >&2
		exit 2
	fi
done
only=("$@")

# want says whether the capture NAME is to be made in this run.
want() {
	((${#only[@]} == 0)) || [[ " ${only[*]} " == *" $1 "* ]]
}

if ((EUID != 0)); then
	echo "make.sh: must run as root (it creates a network namespace and captures on it)" >&2
	exit 2
fi
tools=(ip tcpdump dumpcap dnsmasq dig curl openssl tcprewrite tcpprep tcpreplay tshark capinfos ss go)
if want proxy-connect; then tools+=(tinyproxy); fi
for tool in "${tools[@]}"; do
	command -v "$tool" >/dev/null || { echo "make.sh: $tool not found" >&2; exit 2; }
done

ns=vpcev-real
work=$(mktemp -d /tmp/vpcev-real.XXXXXX)
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

# bg starts a command in the namespace and records its pid. It calls ip
# directly, not nsx: a function would run in a forked subshell and $! would
# be that subshell; ip netns exec execs the command, so $! is the command.
bg() {
	local log=$1
	shift
	ip netns exec "$ns" "$@" >"$log" 2>&1 &
	pids+=($!)
	last=$!
}

stop() {
	local p=$1 sig=${2:-TERM}
	kill -"$sig" "$p" 2>/dev/null || true
	wait "$p" 2>/dev/null || true
	local keep=() q
	for q in "${pids[@]}"; do [[ $q == "$p" ]] || keep+=("$q"); done
	pids=("${keep[@]}")
}

# reap waits for a command started by bg to end by itself and returns its
# exit status.
reap() {
	local p=$1 rc=0
	wait "$p" || rc=$?
	local keep=() q
	for q in "${pids[@]}"; do [[ $q == "$p" ]] || keep+=("$q"); done
	pids=("${keep[@]}")
	return "$rc"
}

# wait_for waits until a file contains a pattern (a server or capture
# announcing it is ready).
wait_for() {
	local file=$1 pattern=$2 i
	for i in $(seq 100); do
		grep -q -- "$pattern" "$file" 2>/dev/null && return 0
		sleep 0.05
	done
	echo "make.sh: timed out waiting for '$pattern' in $file:" >&2
	cat "$file" >&2
	exit 1
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

echo "make.sh: building the Go client/server (testdata/real/gen)"
(cd "$here/gen" && CGO_ENABLED=0 go build -o "$work/gen" .)

ip netns del "$ns" 2>/dev/null || true
ip netns add "$ns"
nsx ip link set lo up
# A 1500-byte MTU and one segment per skb make lo cut TCP like an Ethernet
# NIC would, so a 1.5 KB ClientHello shows up as two segments.
nsx ip link set lo mtu 1500 gso_max_segs 1
nsx sysctl -qw net.ipv4.ip_forward=0 net.ipv6.conf.default.disable_ipv6=1
# Replay target for the SLL2 and pcapng files: a veth pair whose ends both
# stay in the namespace, with no addresses (the kernel drops what arrives)
# and no IPv6 (no router or neighbour solicitations in the capture).
nsx ip link add ens5 address "$client_mac" mtu 1500 type veth peer name rtr0 address "$router_mac" mtu 1500
nsx ip link set ens5 up
nsx ip link set rtr0 up

mkdir -p "$work/www/my-bucket" "$work/www/logs-bucket"
printf 'object body\n' >"$work/www/object.txt"
printf 'object body\n' >"$work/www/my-bucket/object.txt"
printf 'date,bytes\n2026-11-01,42\n' >"$work/www/report.csv"
printf 'date,bytes\n2026-11-01,42\n' >"$work/www/my-bucket/report.csv"
printf 'app log line\n' >"$work/www/logs-bucket/app.log"
printf 'app log line\n' >"$work/www/app.log"

# One throwaway certificate for every server; clients use -k / skip
# verification, and in TLS 1.3 it is encrypted on the wire anyway.
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 30 \
	-subj "/O=vpce-verify testdata (not AWS)/CN=s3.ap-south-1.amazonaws.com" \
	-addext "subjectAltName=DNS:s3.ap-south-1.amazonaws.com,DNS:*.s3.ap-south-1.amazonaws.com,DNS:s3.dualstack.ap-south-1.amazonaws.com,DNS:*.s3.dualstack.ap-south-1.amazonaws.com,DNS:*.vpce-0a1b2c3d4e5f67890-9hnenorg.s3.ap-south-1.vpce.amazonaws.com,DNS:s3.amazonaws.com,DNS:*.s3.amazonaws.com" \
	-keyout "$work/key.pem" -out "$work/cert.pem" 2>/dev/null

# dns_start runs dnsmasq as the VPC resolver with only the records given.
dns_start() {
	bg "$work/dnsmasq.log" dnsmasq --keep-in-foreground --conf-file=/dev/null --no-resolv --no-hosts \
		--listen-address="$resolver" --bind-interfaces --port=53 --pid-file= --user=root --group=root \
		--local-ttl=60 --log-queries --log-facility=- "$@"
	dns_pid=$last
	wait_listen u "$resolver:53"
}

# tls_start runs openssl s_server -WWW (one HTTP/1.0 GET per connection,
# then close_notify and FIN) on ADDR:443.
tls_start() {
	local addr=$1
	bg "$work/s_server.${addr//[^0-9a-z]/_}.log" env -C "$work/www" openssl s_server -quiet -accept "$addr:443" \
		-cert "$work/cert.pem" -key "$work/key.pem" -WWW
	wait_listen t "$addr:443"
}

cap_start() {
	local name=$1
	shift
	bg "$work/$name.tcpdump.log" tcpdump -i lo -Z root --immediate-mode -U -w "$work/$name.lo.pcap" "$@"
	cap_pid=$last
	wait_for "$work/$name.tcpdump.log" "listening on"
}

cap_stop() {
	sleep 0.5
	stop "$cap_pid" INT
	tcpdump_complete "$work/$1.tcpdump.log"
}

# tcpdump_complete fails unless tcpdump wrote every packet the kernel gave it.
# On lo the kernel hands over each packet twice (as sent and as received)
# and libpcap keeps only the received copy, so "received by filter" is
# twice "captured" when nothing was lost.
tcpdump_complete() {
	local log=$1 captured received dropped
	captured=$(sed -n 's/^\([0-9]*\) packets\? captured$/\1/p' "$log")
	received=$(sed -n 's/^\([0-9]*\) packets\? received by filter$/\1/p' "$log")
	dropped=$(sed -n 's/^\([0-9]*\) packets\? dropped by kernel$/\1/p' "$log")
	if [[ -z $captured || $((2 * captured)) != "$received" || $dropped != 0 ]]; then
		echo "make.sh: incomplete capture, see $log:" >&2
		cat "$log" >&2
		exit 1
	fi
}

qdig() { # qdig PORT NAME TYPE [dig options]
	local port=$1 name=$2 type=$3
	shift 3
	HOME=$work nsx dig @"$resolver" -b "$client#$port" +tries=1 +time=2 "$name" "$type" "$@" >>"$work/dig.log"
	sleep 0.2
}

qcurl() { # qcurl PORT URL CONNECT_ADDR [LOCAL_ADDR] [curl options]
	local port=$1 url=$2 to=$3 local_addr=${4:-$client}
	shift 4 || shift $#
	local host=${url#https://}
	host=${host%%/*}
	rm -f "$work/body"
	HOME=$work nsx curl -q -sS -k --noproxy '*' --max-time 10 --interface "$local_addr" --local-port "$port" \
		--connect-to "$host:443:$to:443" -o "$work/body" -w "curl $url -> %{http_code}\n" "$@" "$url" >>"$work/curl.log" 2>&1 || true
	# s_server -WWW answers "200 ok" even when the file is missing, so look
	# at the body, not the status.
	if [[ -s $work/body ]] && grep -q 'Error opening' "$work/body"; then
		echo "make.sh: s_server could not serve $url" >&2
		exit 1
	fi
	sleep 0.2
}

# pcurl sends one request through the proxy and fails unless the body holds
# what the origin serves (the proxy answers errors with pages of its own).
pcurl() { # pcurl PORT URL WANT_BODY [curl options]
	local port=$1 url=$2 body=$3
	shift 3
	rm -f "$work/body"
	if ! HOME=$work nsx curl -q -sS --max-time 10 --interface "$client" --local-port "$port" -x "http://$proxy:3128" \
		-o "$work/body" -w "curl -x http://$proxy:3128 $url -> CONNECT %{http_connect} (000: none), HTTP %{http_code}\n" "$@" "$url" >>"$work/curl.log" 2>&1 ||
		! grep -qF "$body" "$work/body"; then
		echo "make.sh: $url through the proxy failed:" >&2
		cat "$work/curl.log" "$work/tinyproxy.log" >&2
		exit 1
	fi
	sleep 0.2
}

rewrite4() { # rewrite4 IN OUT
	tcprewrite --pnat="$pnat" --fixcsum -i "$1" -o "$2"
}

rewrite6() { # rewrite6 IN OUT SERVER6: IPv4 by --pnat, then ::1<->::1 by port direction
	rewrite4 "$1" "$work/r6.tmp.pcap"
	tcpprep --port --cachefile="$work/r6.cache" --pcap="$work/r6.tmp.pcap"
	tcprewrite --cachefile="$work/r6.cache" --endpoints="[$client6]:[$3]" --fixcsum -i "$work/r6.tmp.pcap" -o "$2"
}

# replay sends a rewritten lo capture through the ens5/rtr0 veth pair,
# client->server out of ens5 and server->client out of rtr0 (tcpprep --port
# decides which is which), and records ens5 with the given capture command.
# Only the link layer and the timestamps differ from the input file.
replay() { # replay IN NAME any|dumpcap OUT [comment]
	local in=$1 name=$2 how=$3 dest=$4 comment=${5:-}
	tcpprep --port --cachefile="$work/$name.cache" --pcap="$in"
	tcprewrite --cachefile="$work/$name.cache" --enet-smac="$client_mac,$router_mac" \
		--enet-dmac="$router_mac,$client_mac" -i "$in" -o "$work/$name.mac.pcap"
	if [[ $how == any ]]; then
		local idx
		idx=$(nsx cat /sys/class/net/ens5/ifindex)
		bg "$work/$name.replay.log" tcpdump -i any -Z root --immediate-mode -U -w "$dest" ifindex "$idx"
		wait_for "$work/$name.replay.log" "listening on"
	else
		bg "$work/$name.replay.log" dumpcap -i ens5 -w "$dest" --capture-comment "$comment"
		wait_for "$work/$name.replay.log" "Capturing on"
	fi
	local p=$last
	nsx tcpreplay -q --cachefile="$work/$name.cache" -i ens5 -I rtr0 "$work/$name.mac.pcap" >"$work/$name.tcpreplay.log" 2>&1
	sleep 1.5
	stop "$p" INT
	chmod 644 "$dest"
	# The replay must carry exactly the input's packets, nothing else.
	local a b
	a=$(tshark -n -r "$in" -T fields -e ip.src -e ipv6.src -e ip.dst -e ipv6.dst -e tcp.srcport -e tcp.dstport -e tcp.flags -e tcp.len -e udp.length | md5sum)
	b=$(tshark -n -r "$dest" -T fields -e ip.src -e ipv6.src -e ip.dst -e ipv6.dst -e tcp.srcport -e tcp.dstport -e tcp.flags -e tcp.len -e udp.length | md5sum)
	if [[ $a != "$b" ]]; then
		echo "make.sh: replayed $dest differs from $in" >&2
		exit 1
	fi
}

check() { # check FILE: rewritten, checksums right, nothing left on loopback
	local f=$1 bad left
	bad=$(tshark -n -r "$f" -o tcp.check_checksum:TRUE -o ip.check_checksum:TRUE -o udp.check_checksum:TRUE \
		-Y 'ip.checksum.status==0 || tcp.checksum.status==0 || udp.checksum.status==0' | wc -l)
	left=$(tshark -n -r "$f" -Y 'ip.addr==127.0.0.0/8 || ipv6.addr==::1' | wc -l)
	if ((bad != 0 || left != 0)); then
		echo "make.sh: $f: $bad frames with bad checksums, $left frames with loopback addresses" >&2
		exit 1
	fi
	echo "make.sh: wrote $(basename "$f"): $(capinfos -T -r -E -c "$f" | cut -f2-)"
}

# ------------------------------------------------------------- captures --

# 1. endpoint-pass: DNS says endpoint, TLS goes to the endpoint.
if want endpoint-pass; then
	dns_start --host-record=s3.ap-south-1.amazonaws.com,10.0.2.50,60
	tls_start "$endpoint"
	srv=$last
	cap_start endpoint-pass
	qdig 41001 s3.ap-south-1.amazonaws.com A
	qcurl 41002 https://s3.ap-south-1.amazonaws.com/my-bucket/object.txt "$endpoint"
	cap_stop endpoint-pass
	stop "$srv"
	stop "$dns_pid"
	rewrite4 "$work/endpoint-pass.lo.pcap" "$out/endpoint-pass.pcap"
	check "$out/endpoint-pass.pcap"
fi

# 2. public-fail: DNS says public S3, TLS goes there. Recorded again with
# tcpdump -i any from a replay, so the file is LINUX_SLL2.
if want public-fail; then
	dns_start --host-record=s3.ap-south-1.amazonaws.com,52.219.64.10,5
	tls_start "$public"
	srv=$last
	cap_start public-fail
	qdig 42001 s3.ap-south-1.amazonaws.com A
	qcurl 42002 https://s3.ap-south-1.amazonaws.com/my-bucket/object.txt "$public"
	cap_stop public-fail
	stop "$srv"
	stop "$dns_pid"
	rewrite4 "$work/public-fail.lo.pcap" "$work/public-fail.en10mb.pcap"
	replay "$work/public-fail.en10mb.pcap" public-fail any "$out/public-fail.pcap"
	check "$out/public-fail.pcap"
fi

# 3. mixed: one bucket through the endpoint, another to public S3.
if want mixed; then
	dns_start --host-record=my-bucket.s3.ap-south-1.amazonaws.com,10.0.2.50,60 \
		--host-record=logs-bucket.s3.ap-south-1.amazonaws.com,52.219.64.10,5
	tls_start "$endpoint"
	srv1=$last
	tls_start "$public"
	srv2=$last
	cap_start mixed
	qdig 43001 my-bucket.s3.ap-south-1.amazonaws.com A
	qcurl 43002 https://my-bucket.s3.ap-south-1.amazonaws.com/object.txt "$endpoint"
	qdig 43003 logs-bucket.s3.ap-south-1.amazonaws.com A
	qcurl 43004 https://logs-bucket.s3.ap-south-1.amazonaws.com/app.log "$public"
	cap_stop mixed
	stop "$srv1"
	stop "$srv2"
	stop "$dns_pid"
	rewrite4 "$work/mixed.lo.pcap" "$out/mixed.pcap"
	check "$out/mixed.pcap"
fi

# 4. cname-chain: bucket name -> CNAME -> A endpoint.
if want cname-chain; then
	dns_start --host-record=s3-r-w.ap-south-1.amazonaws.com,10.0.2.50,60 \
		--cname=my-bucket.s3.ap-south-1.amazonaws.com,s3-r-w.ap-south-1.amazonaws.com,60
	tls_start "$endpoint"
	srv=$last
	cap_start cname-chain
	qdig 44001 my-bucket.s3.ap-south-1.amazonaws.com A
	qcurl 44002 https://my-bucket.s3.ap-south-1.amazonaws.com/object.txt "$endpoint"
	cap_stop cname-chain
	stop "$srv"
	stop "$dns_pid"
	rewrite4 "$work/cname-chain.lo.pcap" "$out/cname-chain.pcap"
	check "$out/cname-chain.pcap"
fi

# 5. refused-endpoint: port 443 closed on the endpoint (RST, REJ), then a
# listener whose accept queue is full (SYNs dropped, S0). The queue-filling
# connection comes from 127.0.9.9 and is filtered out of the capture.
if want refused-endpoint; then
	dns_start --host-record=s3.ap-south-1.amazonaws.com,10.0.2.50,60
	cap_start refused-endpoint not host 127.0.9.9
	qdig 45001 s3.ap-south-1.amazonaws.com A
	qcurl 45002 https://s3.ap-south-1.amazonaws.com/my-bucket/object.txt "$endpoint"
	bg "$work/hold.log" "$work/gen" hold -listen "$endpoint:443" -filler 127.0.9.9
	hold=$last
	wait_for "$work/hold.log" "holding"
	qcurl 45003 https://s3.ap-south-1.amazonaws.com/my-bucket/object.txt "$endpoint" "$client" --connect-timeout 4
	cap_stop refused-endpoint
	stop "$hold"
	stop "$dns_pid"
	rewrite4 "$work/refused-endpoint.lo.pcap" "$out/refused-endpoint.pcap"
	check "$out/refused-endpoint.pcap"
fi

# 6. dns-tcp: 100 A records do not fit dig's 1232-byte EDNS buffer; the UDP
# answer comes back truncated (TC) and dig retries over TCP.
if want dns-tcp; then
	many=()
	for i in $(seq 1 100); do many+=("--host-record=s3.ap-south-1.amazonaws.com,52.219.64.$i,5"); done
	dns_start "${many[@]}"
	cap_start dns-tcp
	qdig 46001 s3.ap-south-1.amazonaws.com A
	cap_stop dns-tcp
	stop "$dns_pid"
	rewrite4 "$work/dns-tcp.lo.pcap" "$out/dns-tcp.pcap"
	check "$out/dns-tcp.pcap"
fi

# 7. ipv6 and ipv6-public: A and AAAA over IPv4 to the resolver, TLS over ::1.
ipv6_capture() { # ipv6_capture NAME A A6 TTL PORTBASE
	local name=$1 a4=$2 a6=$3 ttl=$4 base=$5
	dns_start --host-record=s3.ap-south-1.amazonaws.com,"$a4","$a6","$ttl"
	tls_start "[::1]"
	local srv=$last
	cap_start "$name"
	qdig "${base}1" s3.ap-south-1.amazonaws.com A
	qdig "${base}2" s3.ap-south-1.amazonaws.com AAAA
	qcurl "${base}3" https://s3.ap-south-1.amazonaws.com/my-bucket/object.txt "[::1]" ::1 -6
	cap_stop "$name"
	stop "$srv"
	stop "$dns_pid"
	rewrite6 "$work/$name.lo.pcap" "$out/$name.pcap" "$a6"
	check "$out/$name.pcap"
}
if want ipv6; then
	ipv6_capture ipv6 10.0.2.50 fd00:10:0:2::50 60 4700
fi
if want ipv6-public; then
	ipv6_capture ipv6-public 52.219.64.10 2406:da60:a000::10 5 4800
fi

# 8. pq-split: Go's default ClientHello (X25519MLKEM768 key share) spans two
# TCP segments at MTU 1500.
if want pq-split; then
	dns_start --host-record=my-bucket.s3.ap-south-1.amazonaws.com,10.0.2.50,60
	bg "$work/gen-server.log" "$work/gen" server -listen "$endpoint:443" -cert "$work/cert.pem" -key "$work/key.pem"
	srv=$last
	wait_for "$work/gen-server.log" "listening"
	cap_start pq-split
	qdig 49001 my-bucket.s3.ap-south-1.amazonaws.com A
	nsx "$work/gen" client -connect "$endpoint:443" -local "$client:49002" -sni my-bucket.s3.ap-south-1.amazonaws.com 2>>"$work/gen-client.log"
	cap_stop pq-split
	stop "$srv"
	stop "$dns_pid"
	rewrite4 "$work/pq-split.lo.pcap" "$out/pq-split.pcap"
	check "$out/pq-split.pcap"
fi

# 9. global-name: the legacy global name, answered with a us-east-1 S3 address.
if want global-name; then
	dns_start --host-record=s3.amazonaws.com,52.216.8.10,5
	tls_start "$public_use1"
	srv=$last
	cap_start global-name
	qdig 50001 s3.amazonaws.com A
	qcurl 50002 https://s3.amazonaws.com/my-bucket/object.txt "$public_use1"
	cap_stop global-name
	stop "$srv"
	stop "$dns_pid"
	rewrite4 "$work/global-name.lo.pcap" "$out/global-name.pcap"
	check "$out/global-name.pcap"
fi

# 10. example: two names through the endpoint, one leak to public S3;
# replayed onto ens5 and written by dumpcap, so it is pcapng.
if want example; then
	dns_start --host-record="$vpce",10.0.2.50,60 \
		--host-record=my-bucket.s3.ap-south-1.amazonaws.com,10.0.2.50,60 \
		--host-record=s3.dualstack.ap-south-1.amazonaws.com,52.219.64.10,5
	tls_start "$endpoint"
	srv1=$last
	tls_start "$public"
	srv2=$last
	cap_start example
	qdig 51001 "$vpce" A
	qcurl 51002 "https://$vpce/my-bucket/report.csv" "$endpoint"
	qdig 51003 my-bucket.s3.ap-south-1.amazonaws.com A
	qcurl 51004 https://my-bucket.s3.ap-south-1.amazonaws.com/report.csv "$endpoint"
	qdig 51005 s3.dualstack.ap-south-1.amazonaws.com A
	qcurl 51006 https://s3.dualstack.ap-south-1.amazonaws.com/logs-bucket/app.log "$public"
	cap_stop example
	stop "$srv1"
	stop "$srv2"
	stop "$dns_pid"
	rewrite4 "$work/example.lo.pcap" "$work/example.en10mb.pcap"
	replay "$work/example.en10mb.pcap" example dumpcap "$out/example.pcapng" \
		"vpce-verify testdata: curl/openssl/dig/dnsmasq on loopback in a netns, addresses rewritten by tcprewrite, replayed by tcpreplay onto a veth (ens5) and written by dumpcap; not traffic from AWS"
	check "$out/example.pcapng"
fi

# 11. proxy-connect: the client reaches S3 only through an HTTP proxy
# (tinyproxy on 127.0.3.10:3128): a CONNECT tunnel carrying TLS for the
# endpoint's own name, then a plain-HTTP GET in absolute form. curl hands
# the names to the proxy, which resolves them itself (--resolve would change
# nothing), from a hosts file bind-mounted over /etc/hosts in the mount
# namespace ip netns exec gives the proxy alone; the host's /etc/hosts is
# untouched. Bind makes the proxy's own connections leave from its address.
# The file keeps the client's side only (host 127.0.1.25), as tcpdump on the
# client host would see it: the proxy's connections to 127.0.2.50 are on lo
# too, but filtered out.
if want proxy-connect; then
	tls_start "$endpoint"
	srv1=$last
	bg "$work/gen-plain.log" "$work/gen" server -plain -listen "$endpoint:80"
	srv2=$last
	wait_for "$work/gen-plain.log" "listening"
	cat >"$work/tinyproxy.conf" <<-EOF
		Port 3128
		Listen $proxy
		Bind $proxy
		Allow 127.0.0.0/8
		ConnectPort 443
		Timeout 30
		LogLevel Info
	EOF
	printf '%s %s my-bucket.s3.ap-south-1.amazonaws.com\n' "$endpoint" "$vpce" >"$work/proxy.hosts"
	# shellcheck disable=SC2016 # $1 and $2 are the inner shell's arguments
	bg "$work/tinyproxy.log" sh -c 'mount --bind "$1" /etc/hosts && exec tinyproxy -d -c "$2"' \
		sh "$work/proxy.hosts" "$work/tinyproxy.conf"
	px=$last
	wait_listen t "$proxy:3128"
	cap_start proxy-connect host "$client"
	pcurl 52001 "https://$vpce/my-bucket/object.txt" 'object body' --cacert "$work/cert.pem"
	pcurl 52002 http://my-bucket.s3.ap-south-1.amazonaws.com/object.txt 'hello from a test server'
	cap_stop proxy-connect
	stop "$px"
	stop "$srv1"
	stop "$srv2"
	rewrite4 "$work/proxy-connect.lo.pcap" "$out/proxy-connect.pcap"
	check "$out/proxy-connect.pcap"
	# The scenario, as tshark reads it: one CONNECT, its tunnel's SNI, one
	# absolute-URI GET, no other client connection.
	got=$(tshark -n -r "$out/proxy-connect.pcap" -d tcp.port==3128,http -Y 'http.request || tls.handshake.type==1' \
		-T fields -e tcp.stream -e http.request.method -e http.request.uri -e tls.handshake.extensions_server_name | tr '\t' ' ')
	want_got=$(printf '%s\n' "0 CONNECT $vpce:443 " "0   $vpce" "1 GET http://my-bucket.s3.ap-south-1.amazonaws.com/object.txt ")
	if [[ $got != "$want_got" ]]; then
		printf 'make.sh: proxy-connect: tshark sees\n%s\nwant\n%s\n' "$got" "$want_got" >&2
		exit 1
	fi
fi

# 12. midstream-upload: a 1.25 MiB HTTPS upload (curl -T, PUT) to public S3,
# recorded only while under way. --limit-rate 256K makes it last about five
# seconds; tcpdump starts a second after curl and stops a second later, so
# the file has neither SYN nor FIN. gen sink reads the body and throws it
# away. -B: curl sends 64 KB bursts, which on lo overflow tcpdump's default
# 2 MB buffer here (the kernel dropped packets in trials); 64 MB does not.
if want midstream-upload; then
	head -c $((1280 * 1024)) /dev/urandom >"$work/upload.bin"
	bg "$work/gen-sink.log" "$work/gen" sink -listen "$public:443" -cert "$work/cert.pem" -key "$work/key.pem"
	srv=$last
	wait_for "$work/gen-sink.log" "listening"
	bg "$work/curl-upload.log" env HOME="$work" curl -q -sS -k --http1.1 --noproxy '*' --max-time 30 \
		--interface "$client" --local-port 53001 \
		--connect-to "my-bucket.s3.ap-south-1.amazonaws.com:443:$public:443" --limit-rate 256K \
		-T "$work/upload.bin" -o "$work/upload.body" \
		-w 'curl -T upload.bin https://my-bucket.s3.ap-south-1.amazonaws.com/uploads/big.bin -> %{http_code}, %{size_upload} bytes in %{time_total} s\n' \
		https://my-bucket.s3.ap-south-1.amazonaws.com/uploads/big.bin
	up=$last
	sleep 1
	bg "$work/midstream-upload.tcpdump.log" tcpdump -i lo -B 65536 -Z root --immediate-mode -U \
		-w "$work/midstream-upload.lo.pcap" tcp port 443 and host "$client"
	cap_pid=$last
	wait_for "$work/midstream-upload.tcpdump.log" "listening on"
	sleep 1
	stop "$cap_pid" INT
	tcpdump_complete "$work/midstream-upload.tcpdump.log"
	if ! reap "$up" || ! grep -q "received $((1280 * 1024)) bytes" "$work/gen-sink.log"; then
		echo "make.sh: midstream-upload: the upload did not arrive whole:" >&2
		cat "$work/curl-upload.log" "$work/gen-sink.log" >&2
		exit 1
	fi
	cat "$work/curl-upload.log" >>"$work/curl.log"
	stop "$srv"
	rewrite4 "$work/midstream-upload.lo.pcap" "$out/midstream-upload.pcap"
	check "$out/midstream-upload.pcap"
	# Midstream means no SYN, no FIN, no RST, and ACKs coming back.
	f=$out/midstream-upload.pcap
	n_syn=$(tshark -n -r "$f" -Y 'tcp.flags.syn==1' | wc -l)
	n_end=$(tshark -n -r "$f" -Y 'tcp.flags.fin==1 || tcp.flags.reset==1' | wc -l)
	n_ack=$(tshark -n -r "$f" -Y "ip.src==52.219.64.10 && tcp.flags.ack==1 && tcp.len==0" | wc -l)
	n_streams=$(tshark -n -r "$f" -T fields -e tcp.stream | sort -u | wc -l)
	if ((n_syn != 0 || n_end != 0 || n_ack == 0 || n_streams != 1)); then
		echo "make.sh: midstream-upload: $n_syn SYN, $n_end FIN/RST, $n_ack ACKs from the server, $n_streams streams" >&2
		exit 1
	fi
fi

echo "make.sh: done; client logs:"
for log in "$work/curl.log" "$work/gen-client.log"; do
	[[ -f $log ]] && cat "$log"
done
exit 0
