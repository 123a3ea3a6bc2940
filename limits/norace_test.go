//go:build !race

package limits_test

// raceEnabled reports whether the tests run under the race detector, whose
// instrumentation allocates where the compiled code does not.
const raceEnabled = false
