package main

import (
	"fmt"
	"os"
	"runtime"
	"runtime/pprof"
	"time"
)

// job is one target at one connection count, measured once per round.
type job struct {
	target string
	conns  int
	ref    *job // the job this one is compared with; nil for none
	rounds []Round
}

// section is a set of jobs run in alternating rounds: every job once per
// round, in the same order, so slow drift of the machine spreads evenly.
type section struct {
	name, title      string
	rounds           int
	duration, warmup time.Duration
	jobs             []*job
}

// setReference makes every other job of s compare with ref.
func (s *section) setReference(ref *job) {
	if ref == nil {
		return
	}
	for _, j := range s.jobs {
		if j != ref && j.ref == nil {
			j.ref = ref
		}
	}
}

// runner runs sections against the targets.
type runner struct {
	opts    options
	setup   *setup
	targets map[string]*target
	started map[string]bool
}

// ensure starts and checks a target the first time it is needed, so that
// no server starts inside a measured round.
func (r *runner) ensure(name string) (*target, error) {
	t := r.targets[name]
	if r.started == nil {
		r.started = map[string]bool{}
	}
	if !r.started[name] {
		began := time.Now()
		if err := t.start(); err != nil {
			return nil, err
		}
		fmt.Fprintf(os.Stderr, "started %s in %v\n", name, time.Since(began).Round(time.Millisecond))
		r.started[name] = true
	}
	return t, nil
}

func (r *runner) runSection(s *section) error {
	for _, j := range s.jobs {
		if _, err := r.ensure(j.target); err != nil {
			return err
		}
	}
	for round := range s.rounds {
		for n, j := range s.jobs {
			t := r.targets[j.target]
			res, err := r.setup.client.runRound(t, roundSpec{
				conns: j.conns, warmup: s.warmup, duration: s.duration,
				seed: uint64(round*len(s.jobs) + n),
			})
			if err != nil {
				return err
			}
			j.rounds = append(j.rounds, res)
			fmt.Fprintf(os.Stderr, "[%s %d/%d] %-24s %4d conns  %7.0f req/s  p50 %6.2f ms  p99 %6.2f ms  %6.1f µs CPU/req  %.2f cores (+%.2f others)  %d errors\n",
				s.name, round+1, s.rounds, j.target, j.conns, res.ReqPerSec, res.P50ms, res.P99ms, res.CPUusPerReq, res.CoresBusy, res.OtherCores, res.Errors)
			for _, msg := range res.ErrorSamples {
				fmt.Fprintf(os.Stderr, "    error: %s\n", msg)
			}
		}
	}
	// The next section starts from closed connections, as this one did:
	// idle ones left open would grow the heap and the goroutines every
	// later round runs with.
	r.setup.client.close()
	return nil
}

// profile runs one extra round of the profiled target (gqlguard-es256
// unless -profile-target says otherwise) with the main settings and profiles
// the whole process during its measured window. It is kept out of the
// table: profiling costs a little CPU of its own.
func (r *runner) profile() error {
	t, err := r.ensure(r.opts.profileTarget)
	if err != nil {
		return err
	}
	var cpuFile *os.File
	var profErr error
	spec := roundSpec{conns: r.opts.conns, warmup: r.opts.warmup, duration: r.opts.duration, seed: 1 << 32}
	spec.begin = func() {
		if r.opts.memPro != "" {
			runtime.GC()
			profErr = writeAllocs(r.opts.memPro + ".base")
		}
		if r.opts.cpuProfile != "" && profErr == nil {
			if cpuFile, profErr = os.Create(r.opts.cpuProfile); profErr == nil {
				profErr = pprof.StartCPUProfile(cpuFile)
			}
		}
	}
	spec.end = func() {
		if cpuFile != nil {
			pprof.StopCPUProfile()
			if err := cpuFile.Close(); err != nil && profErr == nil {
				profErr = err
			}
		}
		if r.opts.memPro != "" && profErr == nil {
			runtime.GC()
			profErr = writeAllocs(r.opts.memPro)
		}
	}
	res, err := r.setup.client.runRound(t, spec)
	// Like a section, the profile round leaves no connection open for the
	// next one to inherit.
	r.setup.client.close()
	if err != nil {
		return err
	}
	if profErr != nil {
		return profErr
	}
	fmt.Fprintf(os.Stderr, "[profile] %s %d conns  %7.0f req/s  p99 %6.2f ms  %6.1f µs CPU/req  %d errors\n",
		t.name, spec.conns, res.ReqPerSec, res.P99ms, res.CPUusPerReq, res.Errors)
	if r.opts.cpuProfile != "" {
		fmt.Fprintf(os.Stderr, "CPU profile: go tool pprof -top -nodecount=25 %s\n", r.opts.cpuProfile)
	}
	if r.opts.memPro != "" {
		fmt.Fprintf(os.Stderr, "allocation profile: go tool pprof -sample_index=alloc_space -top -base %s.base %s\n", r.opts.memPro, r.opts.memPro)
	}
	if res.Errors > 0 {
		return fmt.Errorf("%d requests failed during the profiled round", res.Errors)
	}
	return nil
}

// writeAllocs writes the allocation profile (cumulative since the start of
// the process, as of the last garbage collection) to path.
func writeAllocs(path string) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	if err := pprof.Lookup("allocs").WriteTo(f, 0); err != nil {
		_ = f.Close()
		return err
	}
	return f.Close()
}
