package flowlogs

import (
	"context"
	"net/netip"
	"sync"
	"sync/atomic"
)

// ReadAll reads the files, up to workers at a time (files are independent:
// each worker adds to an analyzer of its own, and they are merged at the
// end), and returns the analysis and the inputs read, in the order of
// paths. When ctx ends, no new file is started; the files not started are
// left out of the inputs. records, when not nil, counts the records read
// as they are, for a progress line.
func ReadAll(ctx context.Context, paths []string, format *Format, cfg Config, workers int, records *atomic.Uint64) (*Analyzer, []Input) {
	workers = max(1, min(workers, len(paths)))
	inputs := make([]Input, len(paths))
	started := make([]bool, len(paths))
	analyzers := make([]*Analyzer, workers)
	var next atomic.Int64
	var wg sync.WaitGroup
	for w := range analyzers {
		a := NewAnalyzer(cfg)
		analyzers[w] = a
		wg.Go(func() {
			n := uint64(0)
			emit := func(r *Record) {
				a.Add(r)
				if n++; n == 4096 && records != nil {
					records.Add(n)
					n = 0
				}
			}
			for {
				i := int(next.Add(1) - 1)
				if i >= len(paths) || ctx.Err() != nil {
					return
				}
				started[i] = true
				a.file, a.seq = i, 0
				inputs[i] = ReadFile(paths[i], format, emit)
				if records != nil {
					records.Add(n)
					n = 0
				}
			}
		})
	}
	wg.Wait()
	a := analyzers[0]
	if a == nil {
		a = NewAnalyzer(cfg)
	}
	for _, o := range analyzers[1:] {
		a.Merge(o)
	}
	out := inputs[:0]
	for i, in := range inputs {
		if started[i] {
			out = append(out, in)
		}
	}
	return a, out
}

// Merge adds what o counted to a, as if a had been given o's records
// after its own; the caps apply to the sum.
func (a *Analyzer) Merge(o *Analyzer) {
	a.records += o.records
	a.noData += o.noData
	a.skipData += o.skipData
	a.outside += o.outside
	a.otherRecords += o.otherRecords
	a.nonS3Web += o.nonS3Web
	a.unnamed += o.unnamed
	for i := range a.paths {
		a.paths[i].merge(o.paths[i])
		a.omittedPaths[i].merge(o.omittedPaths[i])
	}
	a.rejected.merge(o.rejected)
	a.first, a.last = widenRange(a.first, a.last, o.first, o.last)
	a.groupsOmitted += o.groupsOmitted
	for _, og := range o.groupOrder {
		g := a.groups[og.key]
		if g == nil {
			if len(a.groups) >= a.cfg.Limits.Groups {
				for i := range og.paths {
					a.groupsOmitted += og.paths[i].Records
					a.omittedPaths[i].merge(og.paths[i])
				}
				continue
			}
			g = &group{key: og.key}
			a.groups[g.key] = g
			a.groupOrder = append(a.groupOrder, g)
		}
		g.records += og.records
		g.rejected += og.rejected
		g.srcOmitted += og.srcOmitted
		for i := range g.paths {
			g.paths[i].merge(og.paths[i])
		}
		g.first, g.last = widenRange(g.first, g.last, og.first, og.last)
		for addr, t := range og.sources {
			s := g.sources[addr]
			if s == nil {
				if len(g.sources) >= a.cfg.Limits.Sources {
					g.srcOmitted += t.Records
					continue
				}
				if g.sources == nil {
					g.sources = map[netip.Addr]*Totals{}
				}
				s = &Totals{}
				g.sources[addr] = s
			}
			s.merge(*t)
		}
	}
	if a.keep != nil && o.keep != nil {
		a.keep.merge(a, o.keep)
	}
	a.destsOmitted += mergeTable(a.dests, &a.destOrder, o.dests, o.destOrder, a.cfg.Limits.Destinations) + o.destsOmitted
	a.rejectsOmitted += mergeTable(a.rejects, &a.rejectOrder, o.rejects, o.rejectOrder, a.cfg.Limits.Rejects) + o.rejectsOmitted
}

func mergeTable(m map[destKey]*destination, order *[]destKey, om map[destKey]*destination, oorder []destKey, limit int) (omitted uint64) {
	for _, k := range oorder {
		od := om[k]
		d := m[k]
		if d == nil {
			if len(m) >= limit {
				omitted += od.Records
				continue
			}
			d = &destination{class: od.class, basis: od.basis}
			m[k] = d
			*order = append(*order, k)
		}
		d.Totals.merge(od.Totals)
		d.first, d.last = widenRange(d.first, d.last, od.first, od.last)
	}
	return omitted
}

func (t *Totals) merge(o Totals) {
	t.Records += o.Records
	t.Packets += o.Packets
	t.Bytes += o.Bytes
}

func widenRange(first, last, ofirst, olast int64) (int64, int64) {
	if ofirst != 0 && (first == 0 || ofirst < first) {
		first = ofirst
	}
	return first, max(last, olast)
}
