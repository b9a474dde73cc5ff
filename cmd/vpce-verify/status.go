package main

import (
	"fmt"
	"time"
)

// startStatus says how a long command is going: line, on standard error,
// at each SIGUSR1 (as tcpdump answers it) and, when standard error is a
// terminal, once a second on one line that the next overwrites. stop ends
// it and clears the line.
func (e *env) startStatus(line func() string) (stop func()) {
	if e.status == nil && !e.terminal {
		return func() {}
	}
	quit, done := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(done)
		var tick <-chan time.Time
		if e.terminal {
			t := time.NewTicker(time.Second)
			defer t.Stop()
			tick = t.C
		}
		shown := false
		for {
			select {
			case <-e.status:
				if shown {
					fmt.Fprint(e.stderr, "\r\033[K")
				}
				e.infof("%s", line())
				shown = false
			case <-tick:
				fmt.Fprintf(e.stderr, "\r\033[K%s", line())
				shown = true
			case <-quit:
				if shown {
					fmt.Fprint(e.stderr, "\r\033[K")
				}
				return
			}
		}
	}()
	return func() {
		close(quit)
		<-done
	}
}

// rate says how many a second, for a status line.
func rate(n uint64, since time.Time) uint64 {
	s := time.Since(since).Seconds()
	if s <= 0 {
		return 0
	}
	return uint64(float64(n) / s)
}

// packetCount says "1 packet" or "3 packets", as tcpdump's counts do.
func packetCount(n uint64) string {
	if n == 1 {
		return "1 packet"
	}
	return fmt.Sprintf("%d packets", n)
}
