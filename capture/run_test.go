package capture

import (
	"context"
	"errors"
	"io"
	"testing"
)

// frames is a source of n empty frames.
type frames struct{ n, read int }

func (s *frames) Next(f *Frame) error {
	if s.read == s.n {
		return io.EOF
	}
	s.read++
	return nil
}
func (s *frames) Interfaces() []Interface { return nil }
func (s *frames) Inputs() []Input         { return nil }
func (s *frames) Close() error            { s.n = s.read; return nil }

type discard struct{}

func (discard) Add(*Frame) error { return nil }

// The run says why it stopped: in the caller's words when the caller's
// Stop ended it, and the context's cause when that is not a plain cancel.
func TestRunStopReason(t *testing.T) {
	after := func(n uint64) func() bool {
		seen := uint64(0)
		return func() bool { seen++; return seen >= n }
	}
	probeDone := errors.New("probe done")
	cancelled, cancel := context.WithCancelCause(context.Background())
	cancel(probeDone)
	plain, cancelPlain := context.WithCancel(context.Background())
	cancelPlain()
	tests := []struct {
		name string
		ctx  context.Context
		opt  RunOptions
		want string
	}{
		{"end", context.Background(), RunOptions{}, "end"},
		{"count", context.Background(), RunOptions{Count: 3}, "count"},
		{"stop", context.Background(), RunOptions{Stop: after(2)}, "stopped"},
		{"stop with a reason", context.Background(), RunOptions{Stop: after(2), StopReason: "probe done"}, "probe done"},
		{"context cause", cancelled, RunOptions{}, "probe done"},
		{"interrupted", plain, RunOptions{}, "interrupted"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			res := Run(tc.ctx, &frames{n: 10}, discard{}, tc.opt)
			if res.StopReason != tc.want {
				t.Errorf("stop reason %q, want %q (%d packets)", res.StopReason, tc.want, res.Packets)
			}
		})
	}
}
