//go:build !race

package capture

// slowdown scales the time limits of tests: the race detector makes code
// several times slower.
const slowdown = 1
