package certs

import (
	"fmt"
	"os"
	"path/filepath"
)

// DefaultStateDir returns the directory where gqlguard keeps state such as
// the development CA: $XDG_STATE_HOME/gqlguard, or ~/.local/state/gqlguard
// when XDG_STATE_HOME is unset or, against the XDG specification, relative.
func DefaultStateDir() (string, error) {
	if dir := os.Getenv("XDG_STATE_HOME"); filepath.IsAbs(dir) {
		return filepath.Join(dir, "gqlguard"), nil
	}
	home, err := os.UserHomeDir()
	if err != nil {
		return "", fmt.Errorf("certs: state directory: %w", err)
	}
	return filepath.Join(home, ".local", "state", "gqlguard"), nil
}
