// Command scale measures how the real gqlguard serve starts with a large
// folder of trusted documents: it builds the binary, generates the documents
// in a temporary folder, starts gqlguard serve on 127.0.0.1 with a
// self-signed certificate, and reports how long the HTTPS listener takes to
// answer a trusted-document request and the process's resident memory
// (VmRSS, and its peak VmHWM, from /proc/PID/status) at that moment, when the
// background verification of every document has finished, and after the
// first full re-scan of the folder.
//
//	make scale                           # 1 and 100 000 documents, about 30 s
//	go run ./bench/scale -docs 100000    # one size
//
// It runs on Linux only (it reads /proc), binds ephemeral loopback ports,
// stops the gateway and removes every file it wrote before it exits, and
// gives up after -timeout. The exit status is 1 if any run failed or the
// first answer with the largest folder took longer than -budget.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"time"
)

// options are the command-line flags.
type options struct {
	sizes   []int
	timeout time.Duration
	budget  time.Duration
	poll    time.Duration
	gogc    string
}

func parseFlags() (options, error) {
	var o options
	docs := flag.String("docs", "1,100000", "comma-separated folder sizes to measure, in documents")
	flag.DurationVar(&o.timeout, "timeout", 3*time.Minute, "give up after this long (building the binary included)")
	flag.DurationVar(&o.budget, "budget", 5*time.Second, "the largest folder must be answered from within this long after the process starts")
	flag.DurationVar(&o.poll, "poll-interval", 200*time.Millisecond, "documents.poll_interval of the gateway; the first full re-scan runs after 31 polls")
	flag.StringVar(&o.gogc, "gogc", "", "GOGC of the gateway process (default: its server.gc_percent, 400)")
	flag.Parse()
	for _, f := range strings.Split(*docs, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil || n < 1 {
			return o, fmt.Errorf("-docs: %q is not a number of documents (at least 1)", f)
		}
		o.sizes = append(o.sizes, n)
	}
	return o, nil
}

func main() {
	o, err := parseFlags()
	if err != nil {
		fmt.Fprintln(os.Stderr, "scale:", err)
		os.Exit(2)
	}
	if err := run(o, os.Stdout, os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "scale:", err)
		os.Exit(1)
	}
}

func run(o options, stdout, stderr io.Writer) error {
	if runtime.GOOS != "linux" {
		return errors.New("the memory figures come from /proc/PID/status: run it on Linux")
	}
	ctx, cancel := context.WithTimeout(context.Background(), o.timeout)
	defer cancel()
	tmp, err := os.MkdirTemp("", "gqlguard-scale-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmp)

	fmt.Fprintln(stderr, "building gqlguard…")
	bin, err := build(ctx, tmp)
	if err != nil {
		return err
	}
	cert, err := selfSigned(tmp)
	if err != nil {
		return err
	}
	up, err := startUpstream()
	if err != nil {
		return err
	}
	defer up.Close()

	var results []result
	for _, n := range o.sizes {
		dir := filepath.Join(tmp, fmt.Sprintf("docs-%d", n))
		fmt.Fprintf(stderr, "generating %d documents…\n", n)
		start := time.Now()
		id, err := generate(dir, n)
		if err != nil {
			return err
		}
		generated := time.Since(start)
		fmt.Fprintf(stderr, "measuring gqlguard serve with %d documents…\n", n)
		res, err := measure(ctx, measurement{bin: bin, dir: dir, tmp: tmp, cert: cert, upstream: up.url, id: id, poll: o.poll, gogc: o.gogc})
		if err != nil {
			return fmt.Errorf("%d documents: %w", n, err)
		}
		res.docs, res.generated = n, generated
		results = append(results, res)
		if err := os.RemoveAll(dir); err != nil {
			return err
		}
	}
	report(stdout, results)
	last := results[len(results)-1]
	if first := last.phases[0].at; first > o.budget {
		return fmt.Errorf("with %d documents the first answer came after %v, over the budget of %v", last.docs, first.Round(time.Millisecond), o.budget)
	}
	return nil
}

// build compiles gqlguard serve from the module this command is in.
func build(ctx context.Context, tmp string) (string, error) {
	root, err := moduleRoot()
	if err != nil {
		return "", err
	}
	bin := filepath.Join(tmp, "gqlguard")
	goTool, err := exec.LookPath("go")
	if err != nil {
		return "", fmt.Errorf("the go command builds gqlguard: %w", err)
	}
	cmd := exec.CommandContext(ctx, goTool, "build", "-o", bin, "./cmd/gqlguard")
	cmd.Dir = root
	if out, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("go build ./cmd/gqlguard: %w\n%s", err, out)
	}
	return bin, nil
}

// moduleRoot finds the folder of go.mod from the working directory up.
func moduleRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("no go.mod above the working directory: run it from the repository")
		}
		dir = parent
	}
}
