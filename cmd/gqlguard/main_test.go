//go:build unix

package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/gqlguard/gqlguard/internal/testutil/logbuf"
)

// binary is the gqlguard executable built by TestMain. The end-to-end tests
// in this package run it as its own process, the way an operator does.
var binary string

func TestMain(m *testing.M) {
	os.Exit(buildAndRun(m))
}

// buildAndRun builds the binary into a temporary directory, runs the tests
// and removes the directory. Under -race the binary is built with -race too,
// so that a data race in the gateway fails the test that triggered it.
func buildAndRun(m *testing.M) int {
	dir, err := os.MkdirTemp("", "gqlguard-e2e-")
	if err != nil {
		fmt.Fprintf(os.Stderr, "e2e: %v\n", err)
		return 1
	}
	defer os.RemoveAll(dir)
	binary = filepath.Join(dir, "gqlguard")

	goTool, err := findGoTool()
	if err != nil {
		fmt.Fprintf(os.Stderr, "e2e: %v\n", err)
		return 1
	}
	args := []string{"build", "-o", binary}
	if raceEnabled {
		args = append(args, "-race")
		// A race-enabled binary sleeps a second before it exits, and the
		// tests start a dozen processes.
		_ = os.Setenv("GORACE", strings.TrimSpace(os.Getenv("GORACE")+" atexit_sleep_ms=0"))
	}
	out, err := exec.Command(goTool, append(args, ".")...).CombinedOutput()
	if err != nil {
		fmt.Fprintf(os.Stderr, "e2e: go build: %v\n%s", err, out)
		return 1
	}
	return m.Run()
}

// findGoTool returns the go command of the toolchain running the tests: go
// test puts its own GOROOT/bin first on PATH.
func findGoTool() (string, error) {
	p, err := exec.LookPath("go")
	if err != nil {
		return "", fmt.Errorf("no go command on PATH: %w", err)
	}
	return p, nil
}

// process is a running gqlguard with its output captured.
type process struct {
	cmd            *exec.Cmd
	stdout, stderr *logbuf.Buffer
	exited         chan struct{}
	waitErr        error // set before exited is closed
}

// startProcess runs the binary with args. env nil means the test's
// environment. At the end of the test the process and any child it left
// running are killed.
func startProcess(t *testing.T, env []string, args ...string) *process {
	t.Helper()
	p := &process{
		cmd:    exec.Command(binary, args...),
		stdout: &logbuf.Buffer{},
		stderr: &logbuf.Buffer{},
		exited: make(chan struct{}),
	}
	p.cmd.Env = env
	p.cmd.Stdout, p.cmd.Stderr = p.stdout, p.stderr
	// Its own process group, so that cleanup also reaches children that a
	// broken gqlguard leaves behind.
	p.cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	// A child process that outlives gqlguard keeps the output pipes open:
	// Wait gives up after WaitDelay and reports exec.ErrWaitDelay.
	p.cmd.WaitDelay = 3 * time.Second
	if err := p.cmd.Start(); err != nil {
		t.Fatalf("start gqlguard %s: %v", strings.Join(args, " "), err)
	}
	go func() {
		p.waitErr = p.cmd.Wait()
		close(p.exited)
	}()
	t.Cleanup(func() {
		_ = syscall.Kill(-p.cmd.Process.Pid, syscall.SIGKILL)
		<-p.exited
	})
	return p
}

// waitFor polls out until it contains want and returns what out holds then.
// It fails the test when the process exits first or timeout passes.
func (p *process) waitFor(t *testing.T, out *logbuf.Buffer, want string, timeout time.Duration) string {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		s := out.String()
		if strings.Contains(s, want) {
			return s
		}
		select {
		case <-p.exited:
			if s = out.String(); strings.Contains(s, want) {
				return s
			}
			t.Fatalf("gqlguard exited (%v) before printing %q\nstdout:\n%s\nstderr:\n%s", p.waitErr, want, p.stdout, p.stderr)
		case <-time.After(10 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			t.Fatalf("gqlguard did not print %q within %v\nstdout:\n%s\nstderr:\n%s", want, timeout, p.stdout, p.stderr)
		}
	}
}

// terminate sends SIGTERM and returns the exit code. It fails the test when
// the process is still running after timeout.
func (p *process) terminate(t *testing.T, timeout time.Duration) int {
	t.Helper()
	if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatalf("SIGTERM: %v", err)
	}
	return p.wait(t, timeout)
}

// wait returns the exit code once the process has exited, failing the test
// after timeout.
func (p *process) wait(t *testing.T, timeout time.Duration) int {
	t.Helper()
	select {
	case <-p.exited:
		return p.cmd.ProcessState.ExitCode()
	case <-time.After(timeout):
		t.Fatalf("gqlguard still running %v after SIGTERM\nstderr:\n%s", timeout, p.stderr)
		return -1
	}
}

// result is the outcome of a gqlguard command that runs to completion.
type result struct {
	code           int
	stdout, stderr string
}

// runCommand runs the binary with args to completion, within 20 s.
func runCommand(t *testing.T, env []string, args ...string) result {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, binary, args...)
	cmd.Env = env
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	var exitErr *exec.ExitError
	if err != nil && !errors.As(err, &exitErr) {
		t.Fatalf("gqlguard %s: %v", strings.Join(args, " "), err)
	}
	return result{code: cmd.ProcessState.ExitCode(), stdout: stdout.String(), stderr: stderr.String()}
}

// envWithout returns the test's environment without the named variables.
func envWithout(names ...string) []string {
	return slices.DeleteFunc(os.Environ(), func(kv string) bool {
		name, _, _ := strings.Cut(kv, "=")
		return slices.Contains(names, name)
	})
}

// logRecords decodes the JSON lines of a slog JSON log; other lines are
// skipped.
func logRecords(log string) []map[string]any {
	var records []map[string]any
	for line := range strings.Lines(log) {
		var rec map[string]any
		if json.Unmarshal([]byte(line), &rec) == nil {
			records = append(records, rec)
		}
	}
	return records
}
