//go:build unix

package server

import (
	"math"
	"syscall"
)

// openFileLimit returns the process's limit on open file descriptors
// (RLIMIT_NOFILE, which the Go runtime has already raised to its hard limit),
// or 0 when it cannot be read.
func openFileLimit() int {
	var rl syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &rl); err != nil {
		return 0
	}
	return int(min(uint64(rl.Cur), math.MaxInt32))
}
