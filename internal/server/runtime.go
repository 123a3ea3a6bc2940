package server

import (
	"os"
	"runtime/debug"

	"github.com/gqlguard/gqlguard/internal/config"
)

// TuneRuntime applies the garbage-collector settings of the config, unless
// the GOGC and GOMEMLIMIT environment variables set their own. It affects
// the whole process, so it is called by the commands, not by New.
func TuneRuntime(cfg config.Server) {
	if os.Getenv("GOGC") == "" && cfg.GCPercent > 0 {
		debug.SetGCPercent(cfg.GCPercent)
	}
	if os.Getenv("GOMEMLIMIT") == "" && cfg.MemoryLimitMiB > 0 {
		debug.SetMemoryLimit(int64(cfg.MemoryLimitMiB) << 20)
	}
}
