package config

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"regexp"
	"strings"

	"go.yaml.in/yaml/v3"
)

// Load reads, expands and strictly decodes the YAML file at path on top of
// Default, applies overrides (command-line flags) in order, then validates the
// result. Every problem is reported in one joined error, each line naming the
// key or the line it is about.
func Load(path string, getenv func(string) (string, bool), overrides ...func(*Config)) (*Config, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("config: %w", err)
	}
	cfg, err := Parse(data, getenv, overrides...)
	if err != nil {
		return nil, fmt.Errorf("config %s:\n%w", path, err)
	}
	return cfg, nil
}

// Parse is Load for YAML already in memory.
func Parse(data []byte, getenv func(string) (string, bool), overrides ...func(*Config)) (*Config, error) {
	expanded, errs := expandEnv(data, getenv)
	cfg := Default()
	dec := yaml.NewDecoder(bytes.NewReader(expanded))
	dec.KnownFields(true)
	if err := dec.Decode(cfg); err != nil && !errors.Is(err, io.EOF) {
		errs = append(errs, decodeErrors(err)...)
	}
	for _, o := range overrides {
		o(cfg)
	}
	if err := cfg.Validate(); err != nil {
		errs = append(errs, err)
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	return cfg, nil
}

// decodeErrors splits yaml's joined type errors (unknown keys, wrong types)
// into one error each, so that every problem is listed.
func decodeErrors(err error) []error {
	var te *yaml.TypeError
	if !errors.As(err, &te) {
		return []error{err}
	}
	errs := make([]error, 0, len(te.Errors))
	for _, msg := range te.Errors {
		if strings.Contains(msg, "not found in type") {
			// "line 3: field upstrem not found in type config.Config"
			line, field, _ := strings.Cut(msg, ": field ")
			field, _, _ = strings.Cut(field, " not found")
			msg = fmt.Sprintf("%s: unknown key %q", line, field)
		}
		errs = append(errs, errors.New(msg))
	}
	return errs
}

var envRef = regexp.MustCompile(`\$\$|\$\{([A-Za-z_][A-Za-z0-9_]*)\}`)

// expandEnv replaces ${NAME} with the environment variable NAME and $$ with a
// literal $. It works on the text, line by line, so that line numbers in later
// errors stay true; a variable that is unset, or whose value has a line break
// (it could inject YAML keys), is an error.
func expandEnv(data []byte, getenv func(string) (string, bool)) ([]byte, []error) {
	var errs []error
	lines := bytes.Split(data, []byte("\n"))
	for i, line := range lines {
		if bytes.HasPrefix(bytes.TrimSpace(line), []byte("#")) {
			continue
		}
		lines[i] = envRef.ReplaceAllFunc(line, func(ref []byte) []byte {
			if string(ref) == "$$" {
				return []byte("$")
			}
			name := string(ref[2 : len(ref)-1])
			v, ok := getenv(name)
			switch {
			case !ok:
				errs = append(errs, fmt.Errorf("line %d: environment variable %s is not set", i+1, name))
			case strings.ContainsAny(v, "\r\n"):
				errs = append(errs, fmt.Errorf("line %d: environment variable %s contains a line break", i+1, name))
				v = ""
			}
			return []byte(v)
		})
	}
	return bytes.Join(lines, []byte("\n")), errs
}

// Marshal returns cfg as YAML with every Secret redacted.
func Marshal(cfg *Config) ([]byte, error) {
	var buf bytes.Buffer
	enc := yaml.NewEncoder(&buf)
	enc.SetIndent(2)
	if err := enc.Encode(cfg); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}
