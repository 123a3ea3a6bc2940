package certs

import (
	"path/filepath"
	"testing"
)

func TestDefaultStateDir(t *testing.T) {
	home := t.TempDir()
	tests := []struct {
		name, xdgStateHome, want string
	}{
		{"XDG_STATE_HOME is used when set", "/var/lib/state", "/var/lib/state/gqlguard"},
		{"the home directory is used when XDG_STATE_HOME is unset", "", filepath.Join(home, ".local", "state", "gqlguard")},
		{"a relative XDG_STATE_HOME is ignored", "relative/state", filepath.Join(home, ".local", "state", "gqlguard")},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Setenv("HOME", home)
			t.Setenv("XDG_STATE_HOME", tt.xdgStateHome)
			got, err := DefaultStateDir()
			if err != nil || got != tt.want {
				t.Errorf("DefaultStateDir() = %q, %v; want %q", got, err, tt.want)
			}
		})
	}
}
