#!/bin/sh
# Feeds vpce-verify analyze an endless or very long standard input and
# prints the time and peak memory (GNU time's maximum resident set size).
#
#   bench/files/stdin.sh zeros 10G     # pcap header, then 10 GB of empty records,
#                                      # gzip-compressed on the fly: read to the end
#   bench/files/stdin.sh damaged       # pcap header, a record claiming 4 MiB, then
#                                      # /dev/zero forever: one error line, at once
#
# VPCE_VERIFY names the binary (default: vpce-verify on PATH).
set -eu
mode=${1:-zeros}
size=${2:-10G}
bin=${VPCE_VERIFY:-vpce-verify}
# Little-endian microsecond pcap header: version 2.4, snap length 65535, Ethernet.
header() {
	printf '\324\303\262\241\002\000\004\000\000\000\000\000\000\000\000\000\377\377\000\000\001\000\000\000'
}
case $mode in
zeros)
	{ header; head -c "$size" /dev/zero; } | gzip -1 |
		/usr/bin/time -f "$mode $size: %e s, %M KiB max resident" "$bin" analyze --format json -o /dev/null - || true
	;;
damaged)
	# Record 1: timestamps 0, then caplen and origlen 4 MiB.
	{ header; printf '\000\000\000\000\000\000\000\000\000\000\100\000\000\000\100\000'; cat /dev/zero; } |
		/usr/bin/time -f "$mode: %e s, %M KiB max resident" "$bin" analyze --format json -o /dev/null - || true
	;;
*)
	echo "usage: $0 zeros [SIZE] | damaged" >&2
	exit 2
	;;
esac
