//go:build race

package flow

// slowdown scales the time limits of tests: the race detector makes code
// several times slower.
const slowdown = 10
