package report

import (
	"bufio"
	"encoding/json"
	"io"
	"reflect"
	"strings"
)

// writeStreamed writes the struct v as json.Encoder with a two-space
// indent would, byte for byte, but encodes the elements of its list fields
// one at a time: a report listing ten thousand connections never holds
// their JSON all at once (the encoder marshals the whole value, then
// indents a copy of it).
func writeStreamed(out io.Writer, v any) error {
	w := bufio.NewWriterSize(out, 64<<10)
	rv := reflect.ValueOf(v)
	if rv.Kind() == reflect.Pointer {
		rv = rv.Elem()
	}
	rt := rv.Type()
	w.WriteString("{")
	first := true
	for i := range rt.NumField() {
		sf := rt.Field(i)
		if !sf.IsExported() {
			continue
		}
		name, opts, _ := strings.Cut(sf.Tag.Get("json"), ",")
		if name == "-" {
			continue
		}
		if name == "" {
			name = sf.Name
		}
		fv := rv.Field(i)
		if strings.Contains(opts, "omitempty") && fv.IsZero() {
			continue
		}
		if !first {
			w.WriteString(",")
		}
		first = false
		key, _ := json.Marshal(name)
		w.WriteString("\n  ")
		w.Write(key)
		w.WriteString(": ")
		if fv.Kind() == reflect.Slice && !fv.IsNil() && fv.Len() > 0 && fv.Type().Elem().Kind() == reflect.Struct {
			w.WriteString("[")
			for j := range fv.Len() {
				b, err := json.MarshalIndent(fv.Index(j).Interface(), "    ", "  ")
				if err != nil {
					return err
				}
				if j > 0 {
					w.WriteString(",")
				}
				w.WriteString("\n    ")
				w.Write(b)
			}
			w.WriteString("\n  ]")
			continue
		}
		b, err := json.MarshalIndent(fv.Interface(), "  ", "  ")
		if err != nil {
			return err
		}
		w.Write(b)
	}
	if !first {
		w.WriteString("\n")
	}
	w.WriteString("}\n")
	return w.Flush()
}
