package main

import (
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/gqlguard/gqlguard/internal/config"
	"github.com/gqlguard/gqlguard/internal/testutil/logbuf"
)

// The gateway's logger, in either format, lets a warning that repeats on
// every request through a few times and then reports how many more there
// were, instead of writing each.
func TestLoggerBoundsRepeatedWarnings(t *testing.T) {
	const sent = 1000
	for format, want := range map[string]struct{ line, report string }{
		"json": {`"msg":"upstream request failed"`, `"suppressed":(\d+)`},
		"text": {`msg="upstream request failed"`, `suppressed=(\d+)`},
	} {
		t.Run(format, func(t *testing.T) {
			var out logbuf.Buffer
			logger := newLogger(config.Log{Level: "info", Format: format}, &out)
			for i := range sent {
				logger.Warn("upstream request failed", "reason", "connection refused", "request_id", strconv.Itoa(i))
			}
			if passed := strings.Count(out.String(), want.line); passed >= sent/2 {
				t.Fatalf("%d of %d repeated warnings written", passed, sent)
			}
			// Each window's report comes when it ends.
			deadline := time.Now().Add(10 * time.Second)
			for {
				logs := out.String()
				passed, reported := strings.Count(logs, want.line), 0
				for _, m := range regexp.MustCompile(want.report).FindAllStringSubmatch(logs, -1) {
					n, _ := strconv.Atoi(m[1])
					reported += n
				}
				if passed+reported == sent {
					return
				}
				if time.Now().After(deadline) {
					t.Fatalf("%d written and %d reported suppressed, of %d:\n%s", passed, reported, sent, logs)
				}
				time.Sleep(20 * time.Millisecond)
			}
		})
	}
}
