//go:build !unix

package server

// openFileLimit returns 0: this system has no RLIMIT_NOFILE.
func openFileLimit() int { return 0 }
