package main

import (
	"encoding/json"
	"fmt"
	"io"
	"math"
	"os"
	"slices"
	"strings"
)

// Report is the whole run, as written by -json.
type Report struct {
	Env      Env             `json:"env"`
	Settings Settings        `json:"settings"`
	Sections []SectionReport `json:"sections"`
	Errors   int64           `json:"errors"`
}

// Settings are the flags that shaped the run.
type Settings struct {
	Duration      string `json:"duration"`
	Warmup        string `json:"warmup"`
	FirstWarmup   string `json:"first_warmup"` // of a job's first round in a section, at least
	Rounds        int    `json:"rounds"`
	Conns         int    `json:"conns"`
	CurveDuration string `json:"curve_duration"`
	CurveRounds   int    `json:"curve_rounds"`
}

// SectionReport is one table.
type SectionReport struct {
	Name  string `json:"name"`
	Title string `json:"title"`
	Rows  []Row  `json:"rows"`
}

// Row is one target at one connection count: the medians over its rounds
// and, when it has a reference, how it compares.
type Row struct {
	Target    string  `json:"target"`
	Conns     int     `json:"conns"`
	Median    Summary `json:"median"`
	Reference string  `json:"reference,omitempty"`
	// The comparisons are paired: each round's figure against the
	// reference's in the same round (they ran seconds apart), then the
	// median over the rounds; machine drift between rounds cancels out.
	Ratio     *float64 `json:"req_per_sec_ratio,omitempty"` // median of req/s ÷ the reference's
	RatioMin  *float64 `json:"req_per_sec_ratio_min,omitempty"`
	RatioMax  *float64 `json:"req_per_sec_ratio_max,omitempty"`
	P50DiffMs *float64 `json:"p50_diff_ms,omitempty"` // median of p50 − the reference's
	P99DiffMs *float64 `json:"p99_diff_ms,omitempty"` // median of p99 − the reference's
	CPUDiffUs *float64 `json:"cpu_diff_us,omitempty"` // median of CPU µs/req − the reference's
	Rounds    []Round  `json:"rounds"`
}

// compare sets row's paired comparisons with ref's rounds.
func (row *Row) compare(ref []Round) {
	n := min(len(row.Rounds), len(ref))
	var ratios, p50, p99, cpu []float64
	for i := range n {
		a, b := row.Rounds[i], ref[i]
		if b.ReqPerSec <= 0 || a.Requests == 0 || b.Requests == 0 {
			continue
		}
		ratios = append(ratios, a.ReqPerSec/b.ReqPerSec)
		p50 = append(p50, a.P50ms-b.P50ms)
		p99 = append(p99, a.P99ms-b.P99ms)
		cpu = append(cpu, a.CPUusPerReq-b.CPUusPerReq)
	}
	if len(ratios) == 0 {
		return
	}
	row.Ratio, row.RatioMin, row.RatioMax = ptr(median(ratios)), ptr(slices.Min(ratios)), ptr(slices.Max(ratios))
	row.P50DiffMs, row.P99DiffMs = ptr(median(p50)), ptr(median(p99))
	row.CPUDiffUs = ptr(median(cpu))
}

// Summary holds the medians over a job's rounds.
type Summary struct {
	ReqPerSec   float64 `json:"req_per_sec"`
	SpreadPct   float64 `json:"spread_pct"` // half the req/s range, in % of the median
	P50ms       float64 `json:"p50_ms"`
	P99ms       float64 `json:"p99_ms"`
	CPUusPerReq float64 `json:"cpu_us_per_req"`
	CoresBusy   float64 `json:"cores_busy"`
	OtherCores  float64 `json:"other_cores"`
	Errors      int64   `json:"errors"` // total over the rounds
}

func summarize(rounds []Round) Summary {
	pick := func(f func(Round) float64) []float64 {
		v := make([]float64, len(rounds))
		for i, r := range rounds {
			v[i] = f(r)
		}
		return v
	}
	rps := pick(func(r Round) float64 { return r.ReqPerSec })
	s := Summary{
		ReqPerSec:   median(rps),
		P50ms:       median(pick(func(r Round) float64 { return r.P50ms })),
		P99ms:       median(pick(func(r Round) float64 { return r.P99ms })),
		CPUusPerReq: median(pick(func(r Round) float64 { return r.CPUusPerReq })),
		CoresBusy:   median(pick(func(r Round) float64 { return r.CoresBusy })),
		OtherCores:  median(pick(func(r Round) float64 { return r.OtherCores })),
	}
	if s.ReqPerSec > 0 {
		s.SpreadPct = (slices.Max(rps) - slices.Min(rps)) / 2 / s.ReqPerSec * 100
	}
	for _, r := range rounds {
		s.Errors += r.Errors
	}
	return s
}

func median(v []float64) float64 {
	if len(v) == 0 {
		return math.NaN()
	}
	v = slices.Clone(v)
	slices.Sort(v)
	if n := len(v); n%2 == 1 {
		return v[n/2]
	}
	return (v[len(v)/2-1] + v[len(v)/2]) / 2
}

func newReport(env Env, o options, sections []*section) *Report {
	rep := &Report{Env: env, Settings: Settings{
		Duration: o.duration.String(), Warmup: o.warmup.String(), FirstWarmup: max(o.warmup, firstWarmup).String(), Rounds: o.rounds, Conns: o.conns,
		CurveDuration: o.curveDuration.String(), CurveRounds: o.curveRounds,
	}}
	for _, s := range sections {
		sr := SectionReport{Name: s.name, Title: s.title}
		medians := map[*job]Summary{}
		for _, j := range s.jobs {
			medians[j] = summarize(j.rounds)
		}
		for _, j := range s.jobs {
			row := Row{Target: j.target, Conns: j.conns, Median: medians[j], Rounds: j.rounds}
			rep.Errors += row.Median.Errors
			if ref := j.ref; ref != nil {
				row.Reference = fmt.Sprintf("%s@%d", ref.target, ref.conns)
				row.compare(ref.rounds)
			}
			sr.Rows = append(sr.Rows, row)
		}
		rep.Sections = append(rep.Sections, sr)
	}
	return rep
}

func ptr(f float64) *float64 { return &f }

// descriptions explain the targets under the tables.
var descriptions = map[string]string{
	nameUpstream:      "the upstream alone over TLS 1.3, no proxy",
	nameBaseline:      "`httputil.ReverseProxy` over TLS 1.3 with a buffer pool and gqlguard's upstream transport; no checks",
	nameRS256:         "gqlguard, every protection on, RS256 bearer token (verified once, then from the token cache); a store of one document",
	nameES256:         "gqlguard, every protection on, ES256 bearer token (verified once, then from the token cache); a store of one document",
	nameRS256Uncached: "as gqlguard-rs256 with auth.jwt.cache_size 0: an RSA-2048 signature check on every request",
	nameES256Uncached: "as gqlguard-es256 with auth.jwt.cache_size 0: a P-256 signature check on every request",
	nameDocs1k:        fmt.Sprintf("as gqlguard-es256 with a store of %d documents, ids uniform over all of them (all cached after warm-up)", smallStore),
	nameDocs100kHot:   fmt.Sprintf("as gqlguard-es256 with a store of %d documents, ids uniform over %d of them (all cached after warm-up)", largeStore, hotSet),
	nameDocs100kCold:  fmt.Sprintf("as gqlguard-es256 with a store of %d documents, ids uniform over all of them: with the default cache of 10 000 parsed documents about 90%% miss (file read, hash check, parse)", largeStore),
}

func (rep *Report) markdown(w io.Writer) {
	e := rep.Env
	fmt.Fprintf(w, "## gqlguard load benchmark\n\n")
	fmt.Fprintf(w, "%s %s/%s · %s · %d cores · GOMAXPROCS %d · %s · `%s`\n\n",
		e.Go, e.OS, e.Arch, e.CPU, e.Cores, e.GOMAXPROCS, e.Date, strings.TrimSpace("go run ./bench "+e.Args))
	fmt.Fprintf(w, "One process on 127.0.0.1: load generator, servers and upstream share these cores. "+
		"HTTP/1.1 over TLS 1.3, keep-alive, one connection per worker, closed loop. "+
		"CPU µs/req is the process's user+system CPU time per request (generator and upstream included); "+
		"cores busy is that time per second of wall time, other cores the rest of the machine's busy time (other processes, hypervisor steal) over the same window. "+
		"÷ and Δ compare each round with the reference's round of the same pass (run seconds apart) and give the median over the rounds: "+
		"÷ divides req/s (in brackets the lowest and highest round), Δ subtracts. ± is half the req/s range over the rounds.\n")
	for _, s := range rep.Sections {
		fmt.Fprintf(w, "\n### %s\n\n", s.Title)
		refName := "ref"
		for _, r := range s.Rows {
			if r.Reference != "" {
				refName, _, _ = strings.Cut(r.Reference, "@")
				break
			}
		}
		fmt.Fprintf(w, "| target | conns | req/s | ± | p50 ms | p99 ms | CPU µs/req | cores busy | other cores | ÷ %s | p50 Δ ms | p99 Δ ms | CPU Δ µs/req | errors |\n", refName)
		fmt.Fprintf(w, "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |\n")
		seen := map[string]bool{}
		var names []string
		for _, r := range s.Rows {
			m := r.Median
			spread := "—"
			if len(r.Rounds) > 1 {
				spread = fmt.Sprintf("%.0f%%", m.SpreadPct)
			}
			fmt.Fprintf(w, "| %s | %d | %.0f | %s | %.2f | %.2f | %.1f | %.2f | %.2f | %s | %s | %s | %s | %d |\n",
				r.Target, r.Conns, m.ReqPerSec, spread, m.P50ms, m.P99ms, m.CPUusPerReq, m.CoresBusy, m.OtherCores,
				ratio(r), optional(r.P50DiffMs, "%+.2f"), optional(r.P99DiffMs, "%+.2f"), optional(r.CPUDiffUs, "%+.1f"), m.Errors)
			if !seen[r.Target] {
				seen[r.Target] = true
				names = append(names, r.Target)
			}
		}
		fmt.Fprintln(w)
		for _, n := range names {
			fmt.Fprintf(w, "- **%s**: %s\n", n, descriptions[n])
		}
		for _, r := range s.Rows {
			if verdict, ok := budget(r); ok {
				fmt.Fprintf(w, "- **budget** (at least %.2f× the baseline's req/s, p99 within %.0f ms of it, at %d connections): %s %s\n",
					budgetRatio, budgetP99ms, budgetConns, r.Target, verdict)
			}
		}
	}
	if n := rep.emptyRounds(); n > 0 {
		fmt.Fprintf(w, "\n**%d rounds completed no request** (the process got almost no CPU, see other cores): their medians are meaningless.\n", n)
	}
	if busiest := rep.otherLoad(); busiest > 0.25 {
		fmt.Fprintf(w, "\n**Other processes were busy** (up to %.2f cores, median per target, beside this process): "+
			"req/s and latencies are depressed and noisier than on a quiet machine; CPU µs/req is the steadier figure.\n", busiest)
	}
	if rep.Errors > 0 {
		fmt.Fprintf(w, "\n**%d requests failed**: the figures above are not valid.\n", rep.Errors)
	}
}

// The budget a gateway row is held to: at budgetConns connections, at
// least budgetRatio of the baseline's req/s and a p99 at most budgetP99ms
// above the baseline's (paired medians).
const (
	budgetConns = 50
	budgetRatio = 0.80
	budgetP99ms = 1.0
)

// budget says whether row, a gateway with every protection on (and its
// token cache) compared with the baseline at budgetConns connections,
// keeps the budget; ok is false for any other row.
func budget(row Row) (verdict string, ok bool) {
	if row.Target != nameRS256 && row.Target != nameES256 || row.Reference != fmt.Sprintf("%s@%d", nameBaseline, budgetConns) ||
		row.Conns != budgetConns || row.Ratio == nil || row.P99DiffMs == nil {
		return "", false
	}
	verdict = fmt.Sprintf("%.2f×, p99 %+.2f ms: ", *row.Ratio, *row.P99DiffMs)
	if *row.Ratio >= budgetRatio && *row.P99DiffMs <= budgetP99ms {
		return verdict + "met", true
	}
	return verdict + "**missed**", true
}

// emptyRounds counts the rounds in which no request completed.
func (rep *Report) emptyRounds() int {
	n := 0
	for _, s := range rep.Sections {
		for _, r := range s.Rows {
			for _, rd := range r.Rounds {
				if rd.Requests == 0 {
					n++
				}
			}
		}
	}
	return n
}

// otherLoad returns the largest median "other cores" of any row.
func (rep *Report) otherLoad() float64 {
	var busiest float64
	for _, s := range rep.Sections {
		for _, r := range s.Rows {
			busiest = max(busiest, r.Median.OtherCores)
		}
	}
	return busiest
}

// ratio is the ÷ cell: the median ratio, and its range over two or more
// rounds.
func ratio(r Row) string {
	if r.Ratio == nil {
		return "—"
	}
	if *r.RatioMin == *r.RatioMax {
		return fmt.Sprintf("%.2f", *r.Ratio)
	}
	return fmt.Sprintf("%.2f (%.2f–%.2f)", *r.Ratio, *r.RatioMin, *r.RatioMax)
}

func optional(v *float64, format string) string {
	if v == nil {
		return "—"
	}
	return fmt.Sprintf(format, *v)
}

func (rep *Report) writeJSON(path string) error {
	data, err := json.MarshalIndent(rep, "", "  ")
	if err != nil {
		return err
	}
	return os.WriteFile(path, append(data, '\n'), 0o644)
}
