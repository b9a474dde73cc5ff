package savefile

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Stdout is the name that writes to standard output, as tcpdump -w -.
const Stdout = "-"

// FormatOf says how a file named name is written, as the name tells it:
// pcapng when it ends in .pcapng (before any .gz), pcap otherwise (any other
// name, standard output included), gzip-compressed when it ends in .gz.
// Case is ignored.
func FormatOf(name string) (format string, gzip bool) {
	lower := strings.ToLower(name)
	base, gzip := strings.CutSuffix(lower, ".gz")
	if strings.HasSuffix(base, ".pcapng") {
		return "pcapng", gzip
	}
	return "pcap", gzip
}

// conversions are the strftime conversions a -G name may hold, as tcpdump
// hands its -w name to strftime(3); others are refused rather than written
// into the name as they stand.
const conversions = "YmdHMSyjFTsz%"

// CheckPattern says whether pattern holds only the strftime conversions
// Expand knows, and whether it holds any time at all: a -G name without one
// names every file the same, so each overwrites the one before (as in
// tcpdump).
func CheckPattern(pattern string) (hasTime bool, err error) {
	for i := 0; i < len(pattern); i++ {
		if pattern[i] != '%' {
			continue
		}
		if i+1 == len(pattern) {
			return false, fmt.Errorf("%q ends in a lone %%: write %%%% for a %% sign", pattern)
		}
		i++
		c := pattern[i]
		if !strings.ContainsRune(conversions, rune(c)) {
			return false, fmt.Errorf("%q: %%%c is not a time conversion this program knows (%%Y %%m %%d %%H %%M %%S %%y %%j %%F %%T %%s %%z, and %%%% for %%)", pattern, c)
		}
		if c != '%' {
			hasTime = true
		}
	}
	return hasTime, nil
}

// Expand replaces the strftime conversions of pattern with t's fields, as
// strftime(3) does with localtime: %Y year, %m month, %d day, %H hour, %M
// minute, %S second (each zero-padded), %y two-digit year, %j day of the
// year, %F = %Y-%m-%d, %T = %H:%M:%S, %s seconds since the epoch, %z the
// offset from UTC (+hhmm), %% a percent sign. A conversion it does not know
// stays as it is (CheckPattern refuses those first).
func Expand(pattern string, t time.Time) string {
	if !strings.Contains(pattern, "%") {
		return pattern
	}
	var b strings.Builder
	pad := func(n, width int) {
		s := strconv.Itoa(n)
		for range width - len(s) {
			b.WriteByte('0')
		}
		b.WriteString(s)
	}
	for i := 0; i < len(pattern); i++ {
		c := pattern[i]
		if c != '%' || i+1 == len(pattern) {
			b.WriteByte(c)
			continue
		}
		i++
		switch pattern[i] {
		case 'Y':
			pad(t.Year(), 4)
		case 'm':
			pad(int(t.Month()), 2)
		case 'd':
			pad(t.Day(), 2)
		case 'H':
			pad(t.Hour(), 2)
		case 'M':
			pad(t.Minute(), 2)
		case 'S':
			pad(t.Second(), 2)
		case 'y':
			pad(t.Year()%100, 2)
		case 'j':
			pad(t.YearDay(), 3)
		case 'F':
			pad(t.Year(), 4)
			b.WriteByte('-')
			pad(int(t.Month()), 2)
			b.WriteByte('-')
			pad(t.Day(), 2)
		case 'T':
			pad(t.Hour(), 2)
			b.WriteByte(':')
			pad(t.Minute(), 2)
			b.WriteByte(':')
			pad(t.Second(), 2)
		case 's':
			b.WriteString(strconv.FormatInt(t.Unix(), 10))
		case 'z':
			b.WriteString(t.Format("-0700"))
		case '%':
			b.WriteByte('%')
		default:
			b.WriteByte('%')
			b.WriteByte(pattern[i])
		}
	}
	return b.String()
}

// countDigits is how many digits the file numbers of a ring of files files
// take, as tcpdump pads them so that the names sort: the digits of
// files-1 (1 for 2 to 10 files, 2 for 11 to 100); 0 without a ring.
func countDigits(files int) int {
	d := 0
	for x := files - 1; x > 0; x /= 10 {
		d++
	}
	return d
}

// numbered is the name of file number n of a -C series, as tcpdump makes
// it: the name itself for the first file when no padding is wanted, else
// the name with the number appended (file, file1, file2; or file0, file1
// with digits 1).
func numbered(name string, n, digits int) string {
	if n == 0 && digits == 0 {
		return name
	}
	s := strconv.Itoa(n)
	for len(s) < digits {
		s = "0" + s
	}
	return name + s
}
