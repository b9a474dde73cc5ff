package flow

import (
	"net/netip"
	"slices"
	"strings"
	"time"
)

// correlateReference is the join of DNS names to connections as it was
// first written: for every connection, a scan of every earlier answer for
// its address, and a CNAME chain walk that rescans the answers at each
// link. It is quadratic, and kept here only as the reference the indexed
// join must agree with; it returns each flow's names instead of setting
// them.
func correlateReference(flows []*Flow, txs []*DNSTransaction) [][]string {
	type sighting struct {
		ts    time.Time
		names []string
	}
	byAddr := make(map[netip.Addr][]sighting)
	for _, tx := range txs {
		if tx.ResponseTS.IsZero() || len(tx.Answers) == 0 {
			continue
		}
		for _, ans := range tx.Answers {
			if !ans.Addr.IsValid() {
				continue
			}
			addr := ans.Addr.Unmap()
			byAddr[addr] = append(byAddr[addr], sighting{tx.ResponseTS, chainToReference(tx, ans.Name)})
		}
	}
	out := make([][]string, len(flows))
	for i, fl := range flows {
		var names []string
		for _, s := range byAddr[fl.Server.Addr().Unmap()] {
			if s.ts.After(fl.FirstTS) {
				continue
			}
			for _, n := range s.names {
				if !slices.Contains(names, n) {
					names = append(names, n)
				}
			}
		}
		out[i] = names
	}
	return out
}

func chainToReference(tx *DNSTransaction, owner string) []string {
	containsFold := func(names []string, s string) bool {
		return slices.ContainsFunc(names, func(n string) bool { return strings.EqualFold(n, s) })
	}
	names := []string{owner}
	for range len(tx.Answers) {
		prev := ""
		for _, ans := range tx.Answers {
			if ans.Type == "CNAME" && strings.EqualFold(ans.Target, names[0]) && !containsFold(names, ans.Name) {
				prev = ans.Name
				break
			}
		}
		if prev == "" {
			break
		}
		names = append([]string{prev}, names...)
	}
	if tx.QName != "" && !containsFold(names, tx.QName) {
		names = append([]string{tx.QName}, names...)
	}
	return names
}
