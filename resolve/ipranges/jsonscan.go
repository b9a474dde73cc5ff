package ipranges

import (
	"fmt"
	"unicode/utf16"
	"unicode/utf8"
)

// scanner is a strict JSON reader for the one large document this package
// reads, ip-ranges.json. encoding/json spends about 24 ms and 5 MB turning
// its 2.6 MB into structs; this reader validates the same grammar (RFC 8259,
// with encoding/json's nesting limit), returns strings without copying when
// they hold no escapes, and lets the caller skip whatever it does not read.
type scanner struct {
	data  []byte
	pos   int
	depth int
	buf   []byte // unescaped text of the last string that had escapes
}

// maxDepth is encoding/json's nesting limit, so that both accept the same
// documents.
const maxDepth = 10000

// syntaxError is a JSON grammar error at a byte offset.
type syntaxError struct {
	off int
	msg string
}

func (e *syntaxError) Error() string { return fmt.Sprintf("byte %d: %s", e.off, e.msg) }

func (s *scanner) errorf(format string, args ...any) error {
	return &syntaxError{off: s.pos, msg: fmt.Sprintf(format, args...)}
}

// unexpected describes the byte at the current position, or the end of input.
func (s *scanner) unexpected(want string) error {
	if s.pos >= len(s.data) {
		return s.errorf("unexpected end of input, want %s", want)
	}
	return s.errorf("unexpected %s, want %s", quoteByte(s.data[s.pos]), want)
}

func quoteByte(c byte) string {
	if c >= 0x20 && c < 0x7f {
		return fmt.Sprintf("%q", rune(c))
	}
	return fmt.Sprintf("byte 0x%02x", c)
}

func (s *scanner) ws() {
	for s.pos < len(s.data) {
		switch s.data[s.pos] {
		case ' ', '\t', '\n', '\r':
			s.pos++
		default:
			return
		}
	}
}

// peek returns the next byte after white space, or 0 at the end of input.
func (s *scanner) peek() byte {
	s.ws()
	if s.pos >= len(s.data) {
		return 0
	}
	return s.data[s.pos]
}

// consume skips white space and the byte c, which must come next.
func (s *scanner) consume(c byte, want string) error {
	if s.peek() != c {
		return s.unexpected(want)
	}
	s.pos++
	return nil
}

// enter and leave track nesting so hostile input cannot exhaust the stack.
func (s *scanner) enter() error {
	s.depth++
	if s.depth > maxDepth {
		return s.errorf("nesting deeper than %d", maxDepth)
	}
	return nil
}

func (s *scanner) leave() { s.depth-- }

// str reads a string. The result aliases either the input or s.buf, so it is
// valid only until the next call.
func (s *scanner) str() ([]byte, error) {
	if s.peek() != '"' {
		return nil, s.unexpected("a string")
	}
	s.pos++
	start := s.pos
	for s.pos < len(s.data) {
		c := s.data[s.pos]
		switch {
		case c == '"':
			s.pos++
			return s.data[start : s.pos-1], nil
		case c == '\\':
			s.buf = append(s.buf[:0], s.data[start:s.pos]...)
			return s.strEscaped()
		case c < 0x20:
			return nil, s.errorf("control character 0x%02x in string", c)
		}
		s.pos++
	}
	return nil, s.unexpected("the end of a string")
}

func (s *scanner) strEscaped() ([]byte, error) {
	for s.pos < len(s.data) {
		c := s.data[s.pos]
		switch {
		case c == '"':
			s.pos++
			return s.buf, nil
		case c < 0x20:
			return nil, s.errorf("control character 0x%02x in string", c)
		case c != '\\':
			s.buf = append(s.buf, c)
			s.pos++
			continue
		}
		if s.pos+1 >= len(s.data) {
			s.pos = len(s.data)
			return nil, s.unexpected("an escape")
		}
		s.pos++
		switch e := s.data[s.pos]; e {
		case '"', '\\', '/':
			s.buf = append(s.buf, e)
		case 'b':
			s.buf = append(s.buf, '\b')
		case 'f':
			s.buf = append(s.buf, '\f')
		case 'n':
			s.buf = append(s.buf, '\n')
		case 'r':
			s.buf = append(s.buf, '\r')
		case 't':
			s.buf = append(s.buf, '\t')
		case 'u':
			r, err := s.hex4()
			if err != nil {
				return nil, err
			}
			// A surrogate pair is two escapes; a lone half becomes
			// U+FFFD, as encoding/json does.
			if utf16.IsSurrogate(r) {
				r2 := rune(-1)
				if s.pos+2 < len(s.data) && s.data[s.pos+1] == '\\' && s.data[s.pos+2] == 'u' {
					save := s.pos
					s.pos += 2
					var err error
					if r2, err = s.hex4(); err != nil {
						return nil, err
					}
					if utf16.DecodeRune(r, r2) == utf8.RuneError {
						s.pos = save // the second escape stands on its own
						r2 = -1
					}
				}
				r = utf16.DecodeRune(r, r2)
			}
			s.buf = utf8.AppendRune(s.buf, r)
		default:
			return nil, s.errorf("invalid escape %s in string", quoteByte(e))
		}
		s.pos++
	}
	return nil, s.unexpected("the end of a string")
}

// hex4 reads the four hex digits after \u; s.pos is on the 'u' and is left
// on the last digit.
func (s *scanner) hex4() (rune, error) {
	var r rune
	for i := 0; i < 4; i++ {
		s.pos++
		if s.pos >= len(s.data) {
			return 0, s.unexpected("a hex digit")
		}
		c := s.data[s.pos]
		switch {
		case '0' <= c && c <= '9':
			r = r<<4 | rune(c-'0')
		case 'a' <= c && c <= 'f':
			r = r<<4 | rune(c-'a'+10)
		case 'A' <= c && c <= 'F':
			r = r<<4 | rune(c-'A'+10)
		default:
			return 0, s.unexpected("a hex digit")
		}
	}
	return r, nil
}

// number checks the grammar -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?.
func (s *scanner) number() error {
	d := s.data
	if s.pos < len(d) && d[s.pos] == '-' {
		s.pos++
	}
	switch {
	case s.pos < len(d) && d[s.pos] == '0':
		s.pos++
	case s.pos < len(d) && '1' <= d[s.pos] && d[s.pos] <= '9':
		s.digits()
	default:
		return s.unexpected("a digit")
	}
	if s.pos < len(d) && d[s.pos] == '.' {
		s.pos++
		if s.digits() == 0 {
			return s.unexpected("a digit")
		}
	}
	if s.pos < len(d) && (d[s.pos] == 'e' || d[s.pos] == 'E') {
		s.pos++
		if s.pos < len(d) && (d[s.pos] == '+' || d[s.pos] == '-') {
			s.pos++
		}
		if s.digits() == 0 {
			return s.unexpected("a digit")
		}
	}
	return nil
}

func (s *scanner) digits() int {
	n := 0
	for s.pos < len(s.data) && '0' <= s.data[s.pos] && s.data[s.pos] <= '9' {
		s.pos++
		n++
	}
	return n
}

func (s *scanner) literal(word string) error {
	for i := 0; i < len(word); i++ {
		if s.pos >= len(s.data) || s.data[s.pos] != word[i] {
			return s.unexpected(fmt.Sprintf("%q", word))
		}
		s.pos++
	}
	return nil
}

// skip reads and discards one value of any kind.
func (s *scanner) skip() error {
	switch c := s.peek(); {
	case c == '{':
		return s.object(func(key []byte) error { return s.skip() })
	case c == '[':
		return s.array(func(int) error { return s.skip() })
	case c == '"':
		_, err := s.str()
		return err
	case c == '-' || '0' <= c && c <= '9':
		return s.number()
	case c == 't':
		return s.literal("true")
	case c == 'f':
		return s.literal("false")
	case c == 'n':
		return s.literal("null")
	}
	return s.unexpected("a value")
}

// object reads an object, calling member for each key with the scanner
// positioned before the value, which member must read.
func (s *scanner) object(member func(key []byte) error) error {
	if err := s.consume('{', "'{'"); err != nil {
		return err
	}
	if err := s.enter(); err != nil {
		return err
	}
	if s.peek() == '}' {
		s.pos++
		s.leave()
		return nil
	}
	for {
		key, err := s.str()
		if err != nil {
			return err
		}
		if err := s.consume(':', "':'"); err != nil {
			return err
		}
		if err := member(key); err != nil {
			return err
		}
		switch s.peek() {
		case ',':
			s.pos++
			if s.peek() != '"' {
				return s.unexpected("a key")
			}
		case '}':
			s.pos++
			s.leave()
			return nil
		default:
			return s.unexpected("',' or '}'")
		}
	}
}

// array reads an array, calling elem with each index with the scanner
// positioned before the element, which elem must read.
func (s *scanner) array(elem func(i int) error) error {
	if err := s.consume('[', "'['"); err != nil {
		return err
	}
	if err := s.enter(); err != nil {
		return err
	}
	if s.peek() == ']' {
		s.pos++
		s.leave()
		return nil
	}
	for i := 0; ; i++ {
		if err := elem(i); err != nil {
			return err
		}
		switch s.peek() {
		case ',':
			s.pos++
		case ']':
			s.pos++
			s.leave()
			return nil
		default:
			return s.unexpected("',' or ']'")
		}
	}
}

// end checks that only white space follows the top-level value.
func (s *scanner) end() error {
	if s.peek() != 0 || s.pos < len(s.data) {
		return s.unexpected("the end of input")
	}
	return nil
}
