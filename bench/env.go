package main

import (
	"bufio"
	"context"
	"os"
	"runtime"
	"runtime/pprof"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// Env describes the machine and toolchain a run measured.
type Env struct {
	Go         string `json:"go"`
	OS         string `json:"os"`
	Arch       string `json:"arch"`
	CPU        string `json:"cpu"`
	Cores      int    `json:"cores"`
	GOMAXPROCS int    `json:"gomaxprocs"`
	Date       string `json:"date"`
	Args       string `json:"args"`
}

func currentEnv() Env {
	return Env{
		Go:         runtime.Version(),
		OS:         runtime.GOOS,
		Arch:       runtime.GOARCH,
		CPU:        cpuModel(),
		Cores:      runtime.NumCPU(),
		GOMAXPROCS: runtime.GOMAXPROCS(0),
		Date:       time.Now().UTC().Format("2006-01-02 15:04 UTC"),
		Args:       strings.Join(os.Args[1:], " "),
	}
}

// cpuModel returns the first "model name" of /proc/cpuinfo, or "unknown".
func cpuModel() string {
	f, err := os.Open("/proc/cpuinfo")
	if err != nil {
		return "unknown"
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		key, value, ok := strings.Cut(sc.Text(), ":")
		if ok && strings.TrimSpace(key) == "model name" {
			return strings.TrimSpace(value)
		}
	}
	return "unknown"
}

// cpuTime returns the user plus system CPU time this process has used so
// far, over all its threads: load generator, servers and upstream alike.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// machineBusy returns how much CPU time the whole machine has spent busy
// so far, from the first line of /proc/stat: user, nice, system, irq,
// softirq and steal (time the hypervisor gave to other machines), in clock
// ticks of 1/100 s. It returns false where /proc/stat cannot be read.
func machineBusy() (time.Duration, bool) {
	data, err := os.ReadFile("/proc/stat")
	if err != nil {
		return 0, false
	}
	line, _, _ := strings.Cut(string(data), "\n")
	fields := strings.Fields(line)
	if len(fields) < 9 || fields[0] != "cpu" {
		return 0, false
	}
	var ticks int64
	for _, i := range []int{1, 2, 3, 6, 7, 8} { // user nice system irq softirq steal
		n, err := strconv.ParseInt(fields[i], 10, 64)
		if err != nil {
			return 0, false
		}
		ticks += n
	}
	return time.Duration(ticks) * 10 * time.Millisecond, true
}

// tempRoot returns where the bench keeps its files: $TMPDIR when set, else
// /dev/shm when it is a writable folder (a store of 100 000 documents is
// written there in a second instead of several on a disk), else the system
// default.
func tempRoot() string {
	if os.Getenv("TMPDIR") != "" {
		return ""
	}
	if f, err := os.CreateTemp("/dev/shm", "gqlguard-bench-probe-"); err == nil {
		_ = f.Close()
		_ = os.Remove(f.Name())
		return "/dev/shm"
	}
	return ""
}

// labeled runs f with the profiler label role=<role>. Goroutines inherit
// labels from the goroutine that starts them, so every connection of a
// server, and every connection a client dials, carries the role of its
// owner: `go tool pprof -tags` then splits a profile of this one process
// between load generator, upstream and the proxy under test.
func labeled(role string, f func()) {
	pprof.Do(context.Background(), pprof.Labels("role", role), func(context.Context) { f() })
}
