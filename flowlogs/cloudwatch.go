package flowlogs

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
)

// readCloudWatch reads the JSON that `aws logs filter-log-events` (or
// get-log-events) prints: {"events": [{"message": "2 123456789010 ...",
// "timestamp": ...}, ...], ...}, one document or several in a row (pages
// saved one after another). Each message is a text record in format, the
// default format when nil: CloudWatch Logs has no header line.
func readCloudWatch(r io.Reader, format *Format, emit func(*Record), bad func(where string, err error)) error {
	if format == nil {
		format = DefaultFormat()
	}
	cr := &capReader{r: r}
	dec := json.NewDecoder(cr)
	cr.dec = dec
	var rec Record
	n, docs := 0, 0
	for {
		tok, err := dec.Token()
		if err == io.EOF {
			if docs == 0 {
				return errors.New("no JSON object in it")
			}
			return nil
		}
		if err != nil {
			return jsonErr(dec, err)
		}
		if d, ok := tok.(json.Delim); !ok || d != '{' {
			return fmt.Errorf("at byte %d: want a JSON object like the output of aws logs filter-log-events", dec.InputOffset())
		}
		for dec.More() {
			tok, err := dec.Token()
			if err != nil {
				return jsonErr(dec, err)
			}
			if key, _ := tok.(string); key != "events" {
				if err := skipValue(dec); err != nil {
					return jsonErr(dec, err)
				}
				continue
			}
			if tok, err := dec.Token(); err != nil {
				return jsonErr(dec, err)
			} else if d, ok := tok.(json.Delim); !ok || d != '[' {
				return fmt.Errorf("at byte %d: events is not an array", dec.InputOffset())
			}
			for dec.More() {
				n++
				var ev struct {
					Message *string `json:"message"`
				}
				if err := dec.Decode(&ev); err != nil {
					var te *json.UnmarshalTypeError
					if errors.As(err, &te) {
						bad(fmt.Sprintf("event %d", n), fmt.Errorf("not an event object: %v", err))
						continue
					}
					return jsonErr(dec, err)
				}
				if ev.Message == nil {
					bad(fmt.Sprintf("event %d", n), errors.New("no message"))
					continue
				}
				if err := parseLine(format, []byte(*ev.Message), &rec); err != nil {
					bad(fmt.Sprintf("event %d", n), err)
					continue
				}
				emit(&rec)
			}
			if _, err := dec.Token(); err != nil { // ]
				return jsonErr(dec, err)
			}
		}
		if _, err := dec.Token(); err != nil { // }
			return jsonErr(dec, err)
		}
		docs++
	}
}

func jsonErr(dec *json.Decoder, err error) error {
	if err == io.ErrUnexpectedEOF {
		return fmt.Errorf("the JSON ends early, at byte %d", dec.InputOffset())
	}
	return fmt.Errorf("at byte %d: %w", dec.InputOffset(), err)
}

// skipValue skips the next value token by token, so that a long value
// beside the events (searchedLogStreams of thousands of ENIs) is never
// held whole.
func skipValue(dec *json.Decoder) error {
	depth := 0
	for {
		tok, err := dec.Token()
		if err != nil {
			return err
		}
		if d, ok := tok.(json.Delim); ok {
			if d == '{' || d == '[' {
				depth++
			} else {
				depth--
			}
		}
		if depth == 0 {
			return nil
		}
	}
}

// maxJSONValue bounds what the decoder holds at once: one event (a few
// hundred bytes) or one token beside the events. A longer one is damage,
// not a reason to allocate.
const maxJSONValue = 1 << 20

var errJSONValueTooLong = fmt.Errorf("a JSON value longer than %d MiB: not an export of flow log events", maxJSONValue>>20)

// capReader refuses to read further while the decoder holds more than
// maxJSONValue bytes of one value it has not finished.
type capReader struct {
	r   io.Reader
	dec *json.Decoder
	n   int64
}

func (c *capReader) Read(p []byte) (int, error) {
	if c.n-c.dec.InputOffset() > maxJSONValue {
		return 0, errJSONValueTooLong
	}
	k, err := c.r.Read(p)
	c.n += int64(k)
	return k, err
}
