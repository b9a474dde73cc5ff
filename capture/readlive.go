package capture

import (
	"context"
	"errors"
	"sync"
	"time"
)

// LiveLimits say when a live capture stops besides its context, and where
// else its packets go.
type LiveLimits struct {
	// Count stops the capture after this many packets (0: no limit).
	Count uint64
	// Writer, when not nil, receives every packet.
	Writer *Writer
	// Stop is asked after every packet; true stops the capture.
	Stop func() bool
}

// LiveResult says how a live capture went.
type LiveResult struct {
	Started, Stopped time.Time
	Packets, Bytes   uint64
	// StopReason is "count", "stopped" (LiveLimits.Stop), "write error",
	// or the cause of the context's end.
	StopReason string
	Stats      LiveStats
	// Err is a failure of the source or the writer; the packets before it
	// were analysed.
	Err error
}

// ReadLive feeds the packets of src to a until ctx ends or a limit is
// reached. When it stops on the context or Stop, it reads on for two block
// timeouts so that packets the kernel still holds are not lost, then
// closes src; on Count it closes src at once.
func ReadLive(ctx context.Context, src *LiveSource, a *Analyzer, lim LiveLimits) LiveResult {
	res := LiveResult{Started: time.Now()}
	var mu sync.Mutex
	reason := ""
	stop := func(why string, drain bool) {
		mu.Lock()
		defer mu.Unlock()
		if reason != "" {
			return
		}
		reason = why
		if drain {
			time.AfterFunc(2*LiveBlockTimeout, func() { src.Close() })
		} else {
			src.Close()
		}
	}
	done := make(chan struct{})
	defer close(done)
	go func() {
		select {
		case <-ctx.Done():
			why := "interrupted"
			if errors.Is(context.Cause(ctx), context.DeadlineExceeded) {
				why = "duration"
			} else if c := context.Cause(ctx); c != nil && !errors.Is(c, context.Canceled) {
				why = c.Error()
			}
			stop(why, true)
		case <-done:
		}
	}()
	var f Frame
	for {
		err := src.Next(&f)
		if err != nil {
			if !errors.Is(err, ErrClosed) {
				res.Err = err
				stop("error", false)
			}
			break
		}
		if lim.Count > 0 && res.Packets >= lim.Count {
			continue // read past the count while the source closes
		}
		if err := a.Add(&f); err != nil && res.Err == nil {
			res.Err = err
		}
		if lim.Writer != nil {
			if err := lim.Writer.Write(&f); err != nil && res.Err == nil {
				res.Err = err
				stop("write error", false)
			}
		}
		res.Packets++
		res.Bytes += uint64(max(f.WireLen, len(f.Data)))
		switch {
		case lim.Count > 0 && res.Packets >= lim.Count:
			stop("count", false)
		case lim.Stop != nil && lim.Stop():
			stop("stopped", true)
		}
	}
	res.Stopped = time.Now()
	res.Stats = src.Stats()
	mu.Lock()
	res.StopReason = reason
	mu.Unlock()
	return res
}
