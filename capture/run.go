package capture

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"time"
)

// Progress counts what Run has given to the sink so far, for a progress
// line or a status report another goroutine prints (SIGUSR1, as tcpdump
// answers it). It is updated every Every frames (default 64: an atomic
// store per frame would cost a file's analysis several percent) and at the
// end; a source that can wait for packets (standard input, a live
// capture) wants 1, so that a status asked while it waits is exact.
type Progress struct {
	Packets, Bytes atomic.Uint64
	Every          uint64
}

// RunOptions say when Run stops besides the source's end and its context,
// and where else the frames go.
type RunOptions struct {
	// Count stops after this many frames (0: no limit).
	Count uint64
	// Writer, when not nil, also receives every frame (capture -w).
	Writer interface{ Write(*Frame) error }
	// Stop is asked after every frame; true stops the run.
	Stop func() bool
	// StopReason is what RunResult.StopReason says when Stop ended the
	// run ("stopped" when empty): the caller knows why it stopped.
	StopReason string
	// Drain is how long to read on after the context ends or Stop says
	// so, before the source is closed: a live capture's kernel ring still
	// holds packets captured before the stop.
	Drain time.Duration
	// Progress, when not nil, is kept up to date while the run goes.
	Progress *Progress
}

// RunResult says how a run went.
type RunResult struct {
	Started, Stopped time.Time
	Packets, Bytes   uint64
	// StopReason is "end" (the source ended), "count", "stopped"
	// (RunOptions.Stop, or its StopReason), "write error", "error" (the source failed),
	// "interrupted", "duration", or the cause of the context's end.
	StopReason string
	// Err is a failure of the source, the sink or the writer; the frames
	// before it were given to the sink.
	Err error
}

// Run feeds the frames of src to sink until src ends, the context ends or
// a limit is reached; then it closes src. It is the one loop between every
// kind of source and the analysis.
func Run(ctx context.Context, src Source, sink Sink, opt RunOptions) RunResult {
	res := RunResult{Started: time.Now()}
	var mu sync.Mutex
	reason := ""
	stop := func(why string, drain bool) {
		mu.Lock()
		defer mu.Unlock()
		if reason != "" {
			return
		}
		reason = why
		if drain && opt.Drain > 0 {
			time.AfterFunc(opt.Drain, func() { src.Close() })
		} else {
			src.Close()
		}
	}
	finished := make(chan struct{})
	defer close(finished)
	ended := func() {
		why := "interrupted"
		if errors.Is(context.Cause(ctx), context.DeadlineExceeded) {
			why = "duration"
		} else if c := context.Cause(ctx); c != nil && !errors.Is(c, context.Canceled) {
			why = c.Error()
		}
		stop(why, true)
	}
	go func() {
		select {
		case <-ctx.Done():
			ended()
		case <-finished:
		}
	}()
	every := uint64(64)
	if opt.Progress != nil && opt.Progress.Every > 0 {
		every = opt.Progress.Every
	}
	var f Frame
	for n := 0; ; n++ {
		// The watcher above closes src when the context ends; asking here
		// too keeps a source that never blocks from racing past it.
		if n%1024 == 0 && ctx.Err() != nil {
			ended()
		}
		err := src.Next(&f)
		if err != nil {
			if !done(err) {
				res.Err = err
				stop("error", false)
			} else {
				stop("end", false)
			}
			break
		}
		if opt.Count > 0 && res.Packets >= opt.Count {
			continue // read past the count while the source closes
		}
		if err := sink.Add(&f); err != nil && res.Err == nil {
			res.Err = err
			stop("error", false)
		}
		if opt.Writer != nil {
			if err := opt.Writer.Write(&f); err != nil && res.Err == nil {
				res.Err = err
				stop("write error", false)
			}
		}
		res.Packets++
		res.Bytes += uint64(max(f.WireLen, len(f.Data)))
		if opt.Progress != nil && res.Packets%every == 0 {
			opt.Progress.Packets.Store(res.Packets)
			opt.Progress.Bytes.Store(res.Bytes)
		}
		switch {
		case opt.Count > 0 && res.Packets >= opt.Count:
			stop("count", false)
		case opt.Stop != nil && opt.Stop():
			why := opt.StopReason
			if why == "" {
				why = "stopped"
			}
			stop(why, true)
		}
	}
	res.Stopped = time.Now()
	if opt.Progress != nil {
		opt.Progress.Packets.Store(res.Packets)
		opt.Progress.Bytes.Store(res.Bytes)
	}
	mu.Lock()
	res.StopReason = reason
	mu.Unlock()
	return res
}
