package certs

import (
	"context"
	"log/slog"

	"go.uber.org/zap/zapcore"
)

// acmeLogCore is a zapcore.Core that writes to a slog.Handler, so that
// certmagic, which logs with zap, logs into the gateway's log. The zap
// logger's name (certmagic.obtain, certmagic.maintenance, …) becomes the
// "logger" attribute.
type acmeLogCore struct {
	h slog.Handler
	// with holds the fields of With, converted only when a record is
	// written: certmagic adds fields on every handshake for debug lines
	// that are usually not wanted.
	with []zapcore.Field
}

func newACMELogCore(logger *slog.Logger) zapcore.Core {
	return acmeLogCore{h: logger.Handler()}
}

// Enabled asks the handler whether it wants level.
func (c acmeLogCore) Enabled(level zapcore.Level) bool {
	return c.h.Enabled(context.Background(), acmeSlogLevel(level))
}

// With returns a core whose records carry fields.
func (c acmeLogCore) With(fields []zapcore.Field) zapcore.Core {
	return acmeLogCore{h: c.h, with: append(c.with[:len(c.with):len(c.with)], fields...)}
}

// Check adds c to ce when the entry's level is enabled.
func (c acmeLogCore) Check(ent zapcore.Entry, ce *zapcore.CheckedEntry) *zapcore.CheckedEntry {
	if c.Enabled(ent.Level) {
		return ce.AddCore(ent, c)
	}
	return ce
}

// Write hands the entry to the handler as a slog record.
func (c acmeLogCore) Write(ent zapcore.Entry, fields []zapcore.Field) error {
	rec := slog.NewRecord(ent.Time, acmeSlogLevel(ent.Level), ent.Message, 0)
	if ent.LoggerName != "" {
		rec.AddAttrs(slog.String("logger", ent.LoggerName))
	}
	rec.AddAttrs(acmeAttrs(c.with)...)
	rec.AddAttrs(acmeAttrs(fields)...)
	return c.h.Handle(context.Background(), rec)
}

// Sync has nothing to flush: slog handlers write through.
func (acmeLogCore) Sync() error { return nil }

func acmeSlogLevel(l zapcore.Level) slog.Level {
	switch {
	case l <= zapcore.DebugLevel:
		return slog.LevelDebug
	case l == zapcore.InfoLevel:
		return slog.LevelInfo
	case l == zapcore.WarnLevel:
		return slog.LevelWarn
	default:
		return slog.LevelError
	}
}

// acmeAttrs converts zap fields, keeping their order. Each field is encoded
// on its own, so a zap namespace does not nest the fields after it.
func acmeAttrs(fields []zapcore.Field) []slog.Attr {
	attrs := make([]slog.Attr, 0, len(fields))
	for _, f := range fields {
		enc := zapcore.NewMapObjectEncoder()
		f.AddTo(enc)
		for k, v := range enc.Fields {
			attrs = append(attrs, slog.Any(k, v))
		}
	}
	return attrs
}

var _ zapcore.Core = acmeLogCore{}
