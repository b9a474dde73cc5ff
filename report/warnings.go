package report

import "fmt"

// maxWarnings bounds the distinct warnings a report keeps; the rest are
// counted in one last line. Warnings of the same kind about many
// connections are grouped into one line with a count, so this is reached
// only by hostile input.
const maxWarnings = 1000

// warnings collects a report's warnings in the order first seen, each
// distinct text once, with a count: a capture of a million connections
// that all used the global S3 name gets one line, not a million.
type warnings struct {
	order   []string
	count   map[string]int
	example map[string]string // for grouped warnings: the first subject
	dropped int
}

func (w *warnings) addf(format string, args ...any) {
	w.add(fmt.Sprintf(format, args...), "")
}

// about records that subject (a connection, an address) has the property
// what: one line per what, naming the first subject and counting the rest.
func (w *warnings) about(subject, what string) { w.add(what, subject) }

func (w *warnings) add(text, subject string) {
	if w.count == nil {
		w.count, w.example = map[string]int{}, map[string]string{}
	}
	if _, ok := w.count[text]; !ok {
		if len(w.order) >= maxWarnings {
			w.dropped++
			return
		}
		w.order = append(w.order, text)
		w.example[text] = subject
	}
	w.count[text]++
}

// lines renders the warnings: a grouped one says how many connections it
// concerns and the first of them.
func (w *warnings) lines() []string {
	out := make([]string, 0, len(w.order)+1)
	for _, text := range w.order {
		subject, n := w.example[text], w.count[text]
		switch {
		case subject == "":
			out = append(out, text)
		case n == 1:
			out = append(out, subject+" "+text)
		default:
			out = append(out, fmt.Sprintf("%d connections %s (first: %s)", n, text, subject))
		}
	}
	if w.dropped > 0 {
		out = append(out, plural(w.dropped, "more distinct warning")+" left out")
	}
	return out
}
