package main

import (
	"bytes"
	"encoding/json"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// The harness tests run scripts/testssl with a stand-in for testssl.sh that
// writes a given report, and check what the harness leaves behind: nothing
// running, no files, and a verdict that follows the report.

// stubTestssl stands in for testssl.sh: it records its arguments, checks
// that the gateway it was pointed at answers, writes $STUB_REPORT (if set)
// to its --jsonfile and exits with $STUB_EXIT.
const stubTestssl = `#!/usr/bin/env bash
if [ "${1:-}" = --version ]; then echo " testssl       3.0.8 from https://testssl.sh/"; exit 0; fi
printf '%s\n' "$@" >"$STUB_DIR/args"
prev= json=
for a in "$@"; do [ "$prev" = --jsonfile ] && json=$a; prev=$a; done
url=${!#}; port=${url##*:}
if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then echo up >"$STUB_DIR/gateway"; fi
[ -n "${STUB_REPORT:-}" ] && cp "$STUB_REPORT" "$json"
exit "${STUB_EXIT:-0}"
`

// stubGo is the go command, except that building tools/testsslenv copies
// $FAKE_ENV instead when that is set.
const stubGo = `#!/usr/bin/env bash
if [ -n "${FAKE_ENV:-}" ] && [ "$1" = build ] && [ "${!#}" = ./tools/testsslenv ]; then
	cp "$FAKE_ENV" "$3" && chmod +x "$3"; exit
fi
exec "$REAL_GO" "$@"
`

type harnessRun struct {
	out      string
	exitCode int
	stubDir  string
	args     []string
}

func runHarness(t *testing.T, env ...string) harnessRun {
	t.Helper()
	if testing.Short() {
		t.Skip("builds and runs the scan environment; skipped with -short")
	}
	realGo, err := exec.LookPath("go")
	if err != nil {
		t.Skip("no go command")
	}
	bash, err := exec.LookPath("bash")
	if err != nil {
		t.Skip("no bash")
	}
	stubDir := t.TempDir()
	for name, body := range map[string]string{"testssl": stubTestssl, "go": stubGo} {
		if err := os.WriteFile(filepath.Join(stubDir, name), []byte(body), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	cmd := exec.Command(bash, "../../scripts/testssl")
	cmd.Env = append(os.Environ(), "PATH="+stubDir+string(os.PathListSeparator)+os.Getenv("PATH"),
		"REAL_GO="+realGo, "STUB_DIR="+stubDir, "TMPDIR="+t.TempDir())
	cmd.Env = append(cmd.Env, env...)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	err = cmd.Run()
	r := harnessRun{out: out.String(), stubDir: stubDir}
	if ee, ok := err.(*exec.ExitError); ok {
		r.exitCode = ee.ExitCode()
	} else if err != nil {
		t.Fatal(err)
	}
	if b, err := os.ReadFile(filepath.Join(stubDir, "args")); err == nil {
		r.args = strings.Split(strings.TrimSpace(string(b)), "\n")
	}
	return r
}

// arg returns the value after flag in the stub's arguments.
func (r harnessRun) arg(t *testing.T, flag string) string {
	t.Helper()
	for i, a := range r.args {
		if a == flag && i+1 < len(r.args) {
			return r.args[i+1]
		}
	}
	t.Fatalf("testssl.sh was not given %s: %q\n%s", flag, r.args, r.out)
	return ""
}

// assertCleanedUp checks that the gateway scanned no longer answers and that
// the directory with the CA's key is gone.
func (r harnessRun) assertCleanedUp(t *testing.T) {
	t.Helper()
	if _, err := os.Stat(filepath.Join(r.stubDir, "gateway")); err != nil {
		t.Errorf("the gateway did not answer during the scan:\n%s", r.out)
	}
	url := r.args[len(r.args)-1]
	port := url[strings.LastIndex(url, ":")+1:]
	if conn, err := net.DialTimeout("tcp", "127.0.0.1:"+port, time.Second); err == nil {
		conn.Close()
		t.Errorf("the gateway on port %s still answers after the harness exited", port)
	}
	ca := r.arg(t, "--add-ca")
	if _, err := os.Stat(filepath.Dir(ca)); !os.IsNotExist(err) {
		t.Errorf("%s, with the CA's key, was left behind (stat: %v)", filepath.Dir(ca), err)
	}
}

func writeReport(t *testing.T, findings []finding) string {
	t.Helper()
	data, err := json.Marshal(findings)
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "report.json")
	if err := os.WriteFile(path, data, 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestHarnessPassesACompleteScanAndStopsTheGateway(t *testing.T) {
	r := runHarness(t, "STUB_REPORT="+writeReport(t, readReport(t)))
	if r.exitCode != 0 || !strings.Contains(r.out, "PASS") {
		t.Errorf("exit %d for a complete scan, want 0 and PASS:\n%s", r.exitCode, r.out)
	}
	r.assertCleanedUp(t)
}

func TestHarnessFailsAScanThatDidNotRun(t *testing.T) {
	aborted := []finding{{ID: "scanProblem", Severity: "FATAL", Finding: "Can't connect to 127.0.0.1"}}
	tests := []struct {
		name string
		env  []string
		says string
	}{
		{"FATAL from testssl.sh", []string{"STUB_REPORT=" + writeReport(t, aborted), "STUB_EXIT=246"}, "FATAL finding scanProblem"},
		{"no report at all", []string{"STUB_EXIT=1"}, "no testssl.sh report"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := runHarness(t, tt.env...)
			if r.exitCode != 1 || !strings.Contains(r.out, tt.says) {
				t.Errorf("exit %d, want 1 and a message saying %q:\n%s", r.exitCode, tt.says, r.out)
			}
			r.assertCleanedUp(t)
		})
	}
}

func TestHarnessReportsAGatewayThatIsNotReady(t *testing.T) {
	dir := t.TempDir()
	pidFile := filepath.Join(dir, "pid")
	hang := filepath.Join(dir, "hang")
	die := filepath.Join(dir, "die")
	for path, body := range map[string]string{
		hang: "#!/usr/bin/env bash\necho $$ >" + pidFile + "\necho starting\nexec sleep 300\n",
		die:  "#!/usr/bin/env bash\necho 'testsslenv: listen tcp: address already in use' >&2\nexit 1\n",
	} {
		if err := os.WriteFile(path, []byte(body), 0o755); err != nil {
			t.Fatal(err)
		}
	}

	r := runHarness(t, "FAKE_ENV="+hang, "READY_TIMEOUT=2")
	if r.exitCode != 1 || !strings.Contains(r.out, "did not print READY within 2s") || !strings.Contains(r.out, "starting") {
		t.Errorf("exit %d, want 1 and a message naming the timeout and the gateway's output:\n%s", r.exitCode, r.out)
	}
	b, err := os.ReadFile(pidFile)
	if err != nil {
		t.Fatalf("the gateway never started: %v\n%s", err, r.out)
	}
	pid, _ := strconv.Atoi(strings.TrimSpace(string(b)))
	if _, err := os.Stat("/proc/" + strconv.Itoa(pid)); err == nil {
		t.Errorf("the gateway that never got ready (pid %d) is still running", pid)
	}

	r = runHarness(t, "FAKE_ENV="+die)
	if r.exitCode != 1 || !strings.Contains(r.out, "exited before it was ready") || !strings.Contains(r.out, "address already in use") {
		t.Errorf("exit %d, want 1 and a message with the gateway's error:\n%s", r.exitCode, r.out)
	}
	if len(r.args) != 0 {
		t.Errorf("testssl.sh ran without a gateway: %q", r.args)
	}
}
