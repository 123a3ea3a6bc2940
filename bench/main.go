// Command bench is gqlguard's load benchmark: an upstream, a plain Go TLS
// reverse proxy and the real gateway run in this one process on 127.0.0.1,
// and a closed-loop load generator (HTTP/1.1 over TLS 1.3, keep-alive, one
// connection per worker) measures them in alternating rounds. It prints a
// Markdown table of medians: requests per second, p50 and p99 latency, the
// process's CPU time per request, and, paired round by round with a
// reference (the baseline proxy, or a gateway with a store of one document),
// the median ratio of requests per second and differences of p99 and CPU.
//
//	go run ./bench          # about 2 minutes 25 seconds
//	go run ./bench -quick   # about 30 seconds
//
// See bench/README.md for the targets and how to read the table.
package main

import (
	"flag"
	"fmt"
	"github.com/gqlguard/gqlguard/internal/config"
	"github.com/gqlguard/gqlguard/internal/server"
	"os"
	"slices"
	"strings"
	"time"
)

// options are the command-line flags.
type options struct {
	duration, warmup   time.Duration
	rounds, conns      int
	curveDuration      time.Duration
	curveRounds        int
	quick              bool
	only               string
	cpuProfile, memPro string
	profileTarget      string
	jsonFile           string
}

func parseFlags() options {
	var o options
	flag.DurationVar(&o.duration, "duration", 1500*time.Millisecond, "measured time of each main round")
	flag.DurationVar(&o.warmup, "warmup", 250*time.Millisecond, "unmeasured warm-up before each round (at least 1s before a job's first round, which opens its connections)")
	flag.IntVar(&o.rounds, "rounds", 8, "rounds of the main comparison (targets alternate within each)")
	flag.IntVar(&o.conns, "conns", 50, "connections of the main comparison and the document-store curve")
	flag.DurationVar(&o.curveDuration, "curve-duration", 1500*time.Millisecond, "measured time of each round of the scale curves")
	flag.IntVar(&o.curveRounds, "curve-rounds", 4, "rounds of the scale curves")
	flag.BoolVar(&o.quick, "quick", false, "a smoke run of about 30 s: one short round of everything (flags given explicitly still win)")
	flag.StringVar(&o.only, "only", "", "comma-separated targets and sections to run: "+strings.Join(mainTargets, ", ")+", "+
		nameRS256Uncached+", "+nameES256Uncached+" (opt-in), "+sectionConns+", "+sectionDocs+" (or "+nameDocs1k+", "+nameDocs100kHot+", "+nameDocs100kCold+"); default all but the opt-in ones")
	flag.StringVar(&o.cpuProfile, "cpuprofile", "", "write a CPU profile of the whole process during an extra round of the profiled target to `file`")
	flag.StringVar(&o.memPro, "memprofile", "", "write an allocation profile of an extra round of the profiled target to `file` (and its starting point to file.base)")
	flag.StringVar(&o.profileTarget, "profile-target", nameES256, "the `target` -cpuprofile and -memprofile profile (with the main settings)")
	flag.StringVar(&o.jsonFile, "json", "", "write the results as JSON to `file`")
	flag.Parse()
	if o.quick {
		set := map[string]bool{}
		flag.Visit(func(f *flag.Flag) { set[f.Name] = true })
		quick := func(name string, apply func()) {
			if !set[name] {
				apply()
			}
		}
		quick("duration", func() { o.duration = time.Second })
		quick("rounds", func() { o.rounds = 1 })
		quick("curve-duration", func() { o.curveDuration = time.Second })
		quick("curve-rounds", func() { o.curveRounds = 1 })
	}
	return o
}

// mainTargets are the targets of the main comparison, in round order.
var mainTargets = []string{nameUpstream, nameBaseline, nameRS256, nameES256}

// curveConns are the connection counts of the connections curve.
var curveConns = []int{10, 50, 200}

func main() {
	o := parseFlags()
	// The gateway's production GC setting (gqlguard serve applies it too).
	// It is process-wide, so the baseline and the upstream run with it as
	// well: the comparison stays fair.
	server.TuneRuntime(config.Default().Server)
	if o.rounds < 1 || o.curveRounds < 1 || o.conns < 1 || o.duration <= 0 || o.curveDuration <= 0 || o.warmup < 0 {
		fmt.Fprintln(os.Stderr, "bench: -rounds, -curve-rounds and -conns must be at least 1, durations positive")
		os.Exit(2)
	}
	sections, err := plan(o)
	if err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(2)
	}
	env := currentEnv()
	e, err := newSetup()
	if err != nil {
		fmt.Fprintln(os.Stderr, "bench: setup:", err)
		os.Exit(1)
	}
	code := run(o, env, e, sections)
	e.close()
	os.Exit(code)
}

func run(o options, env Env, e *setup, sections []*section) int {
	ts := e.targets()
	r := &runner{opts: o, setup: e, targets: ts}
	profiled := o.cpuProfile == "" && o.memPro == ""
	for n, s := range sections {
		if err := r.runSection(s); err != nil {
			fmt.Fprintln(os.Stderr, "bench:", err)
			return 1
		}
		// The profile round follows the main comparison, or the last
		// section when there is none.
		if !profiled && (s.name == "main" || n == len(sections)-1) {
			profiled = true
			if err := r.profile(); err != nil {
				fmt.Fprintln(os.Stderr, "bench: profile:", err)
				return 1
			}
		}
	}
	report := newReport(env, o, sections)
	report.markdown(os.Stdout)
	if o.jsonFile != "" {
		if err := report.writeJSON(o.jsonFile); err != nil {
			fmt.Fprintln(os.Stderr, "bench:", err)
			return 1
		}
	}
	if report.Errors > 0 {
		fmt.Fprintf(os.Stderr, "bench: %d requests failed (see the errors column)\n", report.Errors)
		return 1
	}
	return 0
}

// warmupText says how long rounds warm up.
func warmupText(w time.Duration) string {
	if w >= firstWarmup {
		return fmt.Sprintf("%v warm-up", w)
	}
	return fmt.Sprintf("%v warm-up, %v in a job's first round", w, firstWarmup)
}

// plan turns the flags into the sections to run.
func plan(o options) ([]*section, error) {
	only := map[string]bool{}
	known := append(slices.Clone(mainTargets), nameRS256Uncached, nameES256Uncached,
		sectionConns, sectionDocs, nameDocs1k, nameDocs100kHot, nameDocs100kCold)
	for _, n := range strings.Split(o.only, ",") {
		if n = strings.TrimSpace(n); n == "" {
			continue
		}
		if !slices.Contains(known, n) {
			return nil, fmt.Errorf("-only: unknown target or section %q (known: %s)", n, strings.Join(known, ", "))
		}
		only[n] = true
	}
	if !slices.Contains(known, o.profileTarget) || o.profileTarget == sectionConns || o.profileTarget == sectionDocs {
		return nil, fmt.Errorf("-profile-target: unknown target %q", o.profileTarget)
	}
	all := len(only) == 0
	var sections []*section

	main := &section{name: "main", rounds: o.rounds, duration: o.duration, warmup: o.warmup,
		title: fmt.Sprintf("Main comparison: %d connections, medians of %d alternating rounds of %v (+%s)", o.conns, o.rounds, o.duration, warmupText(o.warmup))}
	var ref *job
	for _, n := range append(slices.Clone(mainTargets), nameRS256Uncached, nameES256Uncached) {
		optIn := n == nameRS256Uncached || n == nameES256Uncached
		if (all && !optIn) || only[n] {
			j := &job{target: n, conns: o.conns}
			if n == nameBaseline {
				ref = j
			}
			main.jobs = append(main.jobs, j)
		}
	}
	main.setReference(ref)
	if len(main.jobs) > 0 {
		sections = append(sections, main)
	}

	if all || only[sectionConns] {
		curve := &section{name: sectionConns, rounds: o.curveRounds, duration: o.curveDuration, warmup: o.warmup,
			title: fmt.Sprintf("Connections curve: baseline and gqlguard ES256, medians of %d alternating rounds of %v (+%s)", o.curveRounds, o.curveDuration, warmupText(o.warmup))}
		for _, c := range curveConns {
			b := &job{target: nameBaseline, conns: c}
			curve.jobs = append(curve.jobs, b, &job{target: nameES256, conns: c, ref: b})
		}
		sections = append(sections, curve)
	}

	// The document stores are compared with gqlguard-es256 (a store of one
	// document) in the same rounds: the large store's index and cache stay
	// in this process's heap, which every target then shares.
	docs := &section{name: sectionDocs, rounds: o.curveRounds, duration: o.curveDuration, warmup: o.warmup,
		title: fmt.Sprintf("Trusted-document stores: gqlguard ES256 at %d connections, medians of %d alternating rounds of %v (+%s)", o.conns, o.curveRounds, o.curveDuration, warmupText(o.warmup))}
	ref = &job{target: nameES256, conns: o.conns}
	for _, n := range []string{nameDocs1k, nameDocs100kHot, nameDocs100kCold} {
		if all || only[sectionDocs] || only[n] {
			docs.jobs = append(docs.jobs, &job{target: n, conns: o.conns})
		}
	}
	if len(docs.jobs) > 0 {
		docs.jobs = append([]*job{ref}, docs.jobs...)
		docs.setReference(ref)
		sections = append(sections, docs)
	}
	return sections, nil
}
