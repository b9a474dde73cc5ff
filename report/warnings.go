package report

import "fmt"

// maxWarnings bounds the distinct warnings a report keeps; the rest are
// counted in one last line. Warnings of the same kind about many
// connections are grouped into one line with a count, so this is reached
// only by hostile input.
const maxWarnings = 1000

// Warning is one warning of a report with its stable code: a tool filters
// on the code (jq '.warnings_detail[] | select(.code == "s3-global-name")'),
// a person reads the message, which may change. docs/report-json.md lists
// the codes.
type Warning struct {
	Code    string `json:"code"`
	Message string `json:"message"`
}

// Warn is a Warning of code whose message is made by fmt.Sprintf.
func Warn(code, format string, args ...any) Warning {
	return Warning{Code: code, Message: fmt.Sprintf(format, args...)}
}

// messages are the warnings' messages, in order: the report's
// "warnings" list.
func messages(ws []Warning) []string {
	out := make([]string, 0, len(ws))
	for _, w := range ws {
		out = append(out, w.Message)
	}
	return out
}

// warnings collects a report's warnings in the order first seen, each
// distinct text once, with a count: a capture of a million connections
// that all used the global S3 name gets one line, not a million.
type warnings struct {
	order   []string
	count   map[string]int
	example map[string]string // for grouped warnings: the first subject
	code    map[string]string
	dropped int
}

func (w *warnings) addf(code, format string, args ...any) {
	w.add(code, fmt.Sprintf(format, args...), "")
}

// about records that subject (a connection, an address) has the property
// what: one line per what, naming the first subject and counting the rest.
func (w *warnings) about(code, subject, what string) { w.add(code, what, subject) }

func (w *warnings) add(code, text, subject string) {
	if w.count == nil {
		w.count, w.example, w.code = map[string]int{}, map[string]string{}, map[string]string{}
	}
	if _, ok := w.count[text]; !ok {
		if len(w.order) >= maxWarnings {
			w.dropped++
			return
		}
		w.order = append(w.order, text)
		w.example[text] = subject
		w.code[text] = code
	}
	w.count[text]++
}

// lines renders the warnings: a grouped one says how many connections it
// concerns and the first of them.
func (w *warnings) lines() []Warning {
	out := make([]Warning, 0, len(w.order)+1)
	for _, text := range w.order {
		subject, n, code := w.example[text], w.count[text], w.code[text]
		switch {
		case subject == "":
			out = append(out, Warning{code, text})
		case n == 1:
			out = append(out, Warning{code, subject + " " + text})
		default:
			out = append(out, Warn(code, "%d connections %s (first: %s)", n, text, subject))
		}
	}
	if w.dropped > 0 {
		out = append(out, Warning{"warnings-left-out", plural(w.dropped, "more distinct warning") + " left out"})
	}
	return out
}
