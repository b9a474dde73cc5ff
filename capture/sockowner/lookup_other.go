//go:build !linux

package sockowner

import (
	"errors"
	"runtime"
)

func newLookuper() (lookuper, error) {
	return nil, errors.New("process attribution needs Linux (socket diagnostics); not on " + runtime.GOOS)
}
