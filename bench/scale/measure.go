package main

import (
	"bufio"
	"cmp"
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

// measurement is one run of gqlguard serve on a folder.
type measurement struct {
	bin, dir, tmp string
	cert          certFiles
	upstream      string
	id            string // a document of the folder
	poll          time.Duration
	gogc          string // GOGC of the process; "" leaves it to the config
}

// phase is a moment of the run and the process's memory then.
type phase struct {
	name     string
	at       time.Duration // since the process was started
	rss, hwm int64         // kB, from /proc/PID/status
}

// result is what one run measured.
type result struct {
	docs      int
	generated time.Duration
	open      time.Duration // the folder store's Open, as it logs it
	phases    []phase
}

// The log messages the run waits for.
const (
	msgServing  = "gqlguard serving"
	msgOpened   = "trusted documents folder opened"
	msgVerified = "trusted documents verified"
	msgScanned  = "trusted documents folder scanned"
)

func (m measurement) config() string {
	return fmt.Sprintf(`listen: {https: "127.0.0.1:0", http: "", admin: "127.0.0.1:0"}
tls: {cert_file: %q, key_file: %q}
upstream: {url: %q}
documents: {mode: strict, dir: %q, poll_interval: %s}
log: {level: debug}
`, m.cert.cert, m.cert.key, m.upstream, m.dir, m.poll)
}

// measure starts gqlguard serve on m's folder, waits for its first answer
// to a trusted-document request, its verification of every document and its
// first full re-scan, and stops it.
func measure(ctx context.Context, m measurement) (result, error) {
	cfg := filepath.Join(m.tmp, "gqlguard.yaml")
	if err := os.WriteFile(cfg, []byte(m.config()), 0o600); err != nil {
		return result{}, err
	}
	cmd := exec.Command(m.bin, "serve", "-c", cfg)
	cmd.Dir = m.tmp
	cmd.Env = os.Environ()
	if m.gogc != "" {
		cmd.Env = append(cmd.Env, "GOGC="+m.gogc)
	}
	logs, err := cmd.StderrPipe()
	if err != nil {
		return result{}, err
	}
	start := time.Now()
	if err := cmd.Start(); err != nil {
		return result{}, err
	}
	w := &watcher{pid: cmd.Process.Pid, start: start, seen: map[string]phase{}, changed: make(chan struct{}, 1)}
	go w.read(logs)
	exited := &process{done: make(chan struct{})}
	go func() { exited.err = cmd.Wait(); close(exited.done) }()
	defer stop(cmd, exited)

	addr, err := w.waitServing(ctx, exited)
	if err != nil {
		return result{}, err
	}
	ready, err := firstAnswer(ctx, exited, addr, m, start, cmd.Process.Pid)
	if err != nil {
		return result{}, err
	}
	res := result{phases: []phase{ready}}
	if err := w.waitFor(ctx, exited, msgVerified, msgScanned); err != nil {
		return result{}, err
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	res.open = w.open
	res.phases = append(res.phases, w.seen[msgVerified], w.seen[msgScanned])
	slices.SortStableFunc(res.phases, func(a, b phase) int { return cmp.Compare(a.at, b.at) })
	return res, nil
}

// firstAnswer sends the trusted-document request until it is answered
// with 200 and returns that moment with the memory then.
func firstAnswer(ctx context.Context, exited *process, addr string, m measurement, start time.Time, pid int) (phase, error) {
	client := &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: m.cert.pool, MinVersion: tls.VersionTLS12}}}
	defer client.CloseIdleConnections()
	body := `{"documentId":"` + m.id + `","variables":{"first":10}}`
	for {
		req, err := http.NewRequestWithContext(ctx, http.MethodPost, "https://"+addr+"/graphql", strings.NewReader(body))
		if err != nil {
			return phase{}, err
		}
		req.Header.Set("Content-Type", "application/json")
		res, err := client.Do(req)
		if err == nil {
			answer, _ := io.ReadAll(res.Body)
			res.Body.Close()
			if res.StatusCode == http.StatusOK {
				p := phase{name: "first trusted-document answer", at: time.Since(start)}
				p.rss, p.hwm, err = memory(pid)
				return p, err
			}
			if res.StatusCode != http.StatusServiceUnavailable {
				return phase{}, fmt.Errorf("the trusted document was answered %d: %s", res.StatusCode, answer)
			}
		}
		select {
		case <-ctx.Done():
			return phase{}, fmt.Errorf("no answer from https://%s: %w", addr, ctx.Err())
		case <-exited.done:
			return phase{}, fmt.Errorf("gqlguard serve exited (%v) before it answered", exited.err)
		case <-time.After(5 * time.Millisecond):
		}
	}
}

// watcher reads the gateway's JSON log and notes, with the memory at that
// moment, the first time each message it waits for appears.
type watcher struct {
	pid   int
	start time.Time

	mu      sync.Mutex
	https   string
	open    time.Duration
	seen    map[string]phase
	tail    []string // the last lines, for errors
	changed chan struct{}
}

var phaseNames = map[string]string{
	msgVerified: "background verification of every document done",
	msgScanned:  "first full re-scan of the folder done",
}

func (w *watcher) read(r io.Reader) {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		var rec map[string]any
		_ = json.Unmarshal([]byte(line), &rec)
		msg, _ := rec["msg"].(string)
		var p phase
		if name, ok := phaseNames[msg]; ok {
			p = phase{name: name, at: time.Since(w.start)}
			p.rss, p.hwm, _ = memory(w.pid)
		}
		w.mu.Lock()
		w.tail = append(w.tail[max(0, len(w.tail)-19):], line)
		switch _, dup := w.seen[msg]; {
		case msg == msgServing:
			w.https, _ = rec["https"].(string)
		case msg == msgOpened:
			us, _ := rec["duration_us"].(float64)
			w.open = time.Duration(us) * time.Microsecond
		case p.name != "" && !dup:
			w.seen[msg] = p
		}
		w.mu.Unlock()
		select {
		case w.changed <- struct{}{}:
		default:
		}
	}
}

// waitServing returns the HTTPS address the gateway logs it serves on.
func (w *watcher) waitServing(ctx context.Context, exited *process) (string, error) {
	var addr string
	err := w.wait(ctx, exited, func() bool { addr = w.https; return addr != "" })
	return addr, err
}

// waitFor waits until every message in msgs was logged.
func (w *watcher) waitFor(ctx context.Context, exited *process, msgs ...string) error {
	return w.wait(ctx, exited, func() bool {
		for _, m := range msgs {
			if _, ok := w.seen[m]; !ok {
				return false
			}
		}
		return true
	})
}

// wait waits until done, called with w.mu held, reports true.
func (w *watcher) wait(ctx context.Context, exited *process, done func() bool) error {
	for {
		w.mu.Lock()
		ok := done()
		w.mu.Unlock()
		if ok {
			return nil
		}
		select {
		case <-w.changed:
		case <-exited.done:
			return fmt.Errorf("gqlguard serve exited (%v); its last log lines:\n%s", exited.err, w.lastLines())
		case <-ctx.Done():
			return fmt.Errorf("%w; the last log lines:\n%s", ctx.Err(), w.lastLines())
		}
	}
}

func (w *watcher) lastLines() string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return strings.Join(w.tail, "\n")
}

// memory reads VmRSS and VmHWM, in kB, from /proc/PID/status.
func memory(pid int) (rss, hwm int64, err error) {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, 0, err
	}
	for line := range strings.Lines(string(data)) {
		key, value, ok := strings.Cut(line, ":")
		if !ok {
			continue
		}
		fields := strings.Fields(value)
		if len(fields) == 0 {
			continue
		}
		n, _ := strconv.ParseInt(fields[0], 10, 64)
		switch key {
		case "VmRSS":
			rss = n
		case "VmHWM":
			hwm = n
		}
	}
	if rss == 0 {
		return 0, 0, errors.New("no VmRSS in /proc/" + strconv.Itoa(pid) + "/status")
	}
	return rss, hwm, nil
}

// process is a started gateway: done closes when it has exited, with err
// from its Wait, so that any number of waiters see it.
type process struct {
	done chan struct{}
	err  error
}

// stop ends the gateway with SIGTERM, or kills it after 10 seconds.
func stop(cmd *exec.Cmd, exited *process) {
	_ = cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-exited.done:
	case <-time.After(10 * time.Second):
		_ = cmd.Process.Kill()
		<-exited.done
	}
}
