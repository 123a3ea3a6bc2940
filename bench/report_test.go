package main

import "testing"

func TestBudget(t *testing.T) {
	f := func(v float64) *float64 { return &v }
	for _, tt := range []struct {
		name    string
		row     Row
		verdict string
		ok      bool
	}{
		{"met", Row{Target: nameES256, Conns: 50, Reference: "baseline@50", Ratio: f(0.95), P99DiffMs: f(0.4)}, "0.95×, p99 +0.40 ms: met", true},
		{"at the limits", Row{Target: nameRS256, Conns: 50, Reference: "baseline@50", Ratio: f(0.80), P99DiffMs: f(1.0)}, "0.80×, p99 +1.00 ms: met", true},
		{"too slow", Row{Target: nameES256, Conns: 50, Reference: "baseline@50", Ratio: f(0.79), P99DiffMs: f(0.4)}, "0.79×, p99 +0.40 ms: **missed**", true},
		{"p99 too far", Row{Target: nameES256, Conns: 50, Reference: "baseline@50", Ratio: f(0.95), P99DiffMs: f(1.2)}, "0.95×, p99 +1.20 ms: **missed**", true},
		{"another connection count", Row{Target: nameES256, Conns: 200, Reference: "baseline@200", Ratio: f(0.95), P99DiffMs: f(0.4)}, "", false},
		{"another reference", Row{Target: nameDocs1k, Conns: 50, Reference: "gqlguard-es256@50", Ratio: f(0.95), P99DiffMs: f(0.4)}, "", false},
		{"the baseline itself", Row{Target: nameBaseline, Conns: 50}, "", false},
		{"a gateway without its token cache", Row{Target: nameES256Uncached, Conns: 50, Reference: "baseline@50", Ratio: f(0.5), P99DiffMs: f(3)}, "", false},
	} {
		if verdict, ok := budget(tt.row); verdict != tt.verdict || ok != tt.ok {
			t.Errorf("%s: %q %v, want %q %v", tt.name, verdict, ok, tt.verdict, tt.ok)
		}
	}
}
