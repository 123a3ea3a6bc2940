package pebble

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"testing"
	"time"
)

// Version is the Pebble release built from the module proxy.
const Version = "v2.10.1"

// binaries returns Pebble and pebble-challtestsrv, built once into the
// user's cache directory. Without the module proxy the test is skipped,
// unless GQLGUARD_REQUIRE_SERVICES=1.
func binaries(t testing.TB) (pebble, challtestsrv string) {
	t.Helper()
	cache, err := os.UserCacheDir()
	if err != nil {
		cache = os.TempDir()
	}
	dir := filepath.Join(cache, "gqlguard-test", "pebble-"+Version)
	exe := ""
	if runtime.GOOS == "windows" {
		exe = ".exe"
	}
	names := []string{"pebble" + exe, "pebble-challtestsrv" + exe}
	pebble, challtestsrv = filepath.Join(dir, names[0]), filepath.Join(dir, names[1])
	if isFile(pebble) && isFile(challtestsrv) {
		return pebble, challtestsrv
	}

	goTool, err := exec.LookPath("go")
	if err != nil {
		unavailable(t, "no go command to build Pebble with: %v", err)
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	// Build into a fresh directory and rename, so that an interrupted build
	// leaves no half-written binary in the cache.
	tmp, err := os.MkdirTemp(dir, "build-")
	if err != nil {
		t.Fatal(err)
	}
	defer os.RemoveAll(tmp)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	const mod = "github.com/letsencrypt/pebble/v2/cmd/"
	cmd := exec.CommandContext(ctx, goTool, "install",
		mod+"pebble@"+Version, mod+"pebble-challtestsrv@"+Version)
	cmd.Dir = tmp
	cmd.Env = append(os.Environ(), "GOBIN="+tmp, "GOFLAGS=", "GOWORK=off", "GO111MODULE=on")
	if out, err := cmd.CombinedOutput(); err != nil {
		unavailable(t, "building Pebble %s from the module proxy failed: %v\n%s", Version, err, out)
	}
	for _, n := range names {
		if err := os.Rename(filepath.Join(tmp, n), filepath.Join(dir, n)); err != nil {
			t.Fatal(err)
		}
	}
	return pebble, challtestsrv
}

// unavailable skips the test, or fails it when GQLGUARD_REQUIRE_SERVICES=1.
func unavailable(t testing.TB, format string, args ...any) {
	t.Helper()
	if os.Getenv("GQLGUARD_REQUIRE_SERVICES") == "1" {
		t.Fatalf(format, args...)
	}
	t.Skipf(format+"\n(set GQLGUARD_REQUIRE_SERVICES=1 to fail instead)", args...)
}

func isFile(path string) bool {
	fi, err := os.Stat(path)
	return err == nil && fi.Mode().IsRegular()
}
