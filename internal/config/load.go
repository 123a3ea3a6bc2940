package config

import (
	"bytes"
	"encoding/json"
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
	return LoadChecked(path, getenv, nil, overrides...)
}

// LoadChecked is Load that also runs checks (such as CheckFiles, which reads
// the files the config names) on the decoded config; an empty path means
// the defaults (with the overrides). The checks run even when validation
// failed, so that one run reports every problem in the file; only a YAML
// syntax error or a repeated key, after which nothing (or not all) was
// decoded, stops them.
func LoadChecked(path string, getenv func(string) (string, bool), checks []func(*Config) error, overrides ...func(*Config)) (*Config, error) {
	var data []byte // no file: the defaults, with the overrides
	if path != "" {
		var err error
		if data, err = os.ReadFile(path); err != nil {
			return nil, fmt.Errorf("config: %w", err)
		}
	}
	cfg, err := parse(data, getenv, overrides...)
	if cfg != nil {
		for _, check := range checks {
			err = errors.Join(err, check(cfg))
		}
	}
	switch {
	case err != nil && path != "":
		return nil, fmt.Errorf("config %s:\n%w", path, err)
	case err != nil:
		return nil, err
	}
	return cfg, nil
}

// Parse is Load for YAML already in memory.
func Parse(data []byte, getenv func(string) (string, bool), overrides ...func(*Config)) (*Config, error) {
	cfg, err := parse(data, getenv, overrides...)
	if err != nil {
		return nil, err
	}
	return cfg, nil
}

// parse decodes and validates data. It returns the decoded config together
// with its problems; the config is nil only after a YAML syntax error or a
// repeated key.
func parse(data []byte, getenv func(string) (string, bool), overrides ...func(*Config)) (*Config, error) {
	expanded, errs := expandEnv(data, getenv)
	cfg := Default()
	dec := yaml.NewDecoder(bytes.NewReader(expanded))
	dec.KnownFields(true)
	if err := dec.Decode(cfg); err != nil && !errors.Is(err, io.EOF) {
		var te *yaml.TypeError
		if !errors.As(err, &te) {
			// A syntax error: the rest of the file was not read, so
			// validating it would only add noise.
			return nil, errors.Join(append(errs, err)...)
		}
		decoded, repeated := decodeErrors(te)
		errs = append(errs, decoded...)
		if repeated {
			// yaml decodes nothing of a mapping with a repeated key, so
			// validating would report keys that are set.
			return nil, errors.Join(errs...)
		}
	}
	for _, o := range overrides {
		o(cfg)
	}
	if err := cfg.Validate(); err != nil {
		errs = append(errs, err)
	}
	return cfg, errors.Join(errs...)
}

// decodeErrors splits yaml's joined type errors (unknown keys, wrong types,
// repeated keys) into one error each, so that every problem is listed, and
// reports whether a key was repeated.
func decodeErrors(te *yaml.TypeError) (errs []error, repeated bool) {
	for _, msg := range te.Errors {
		if strings.Contains(msg, "already defined") {
			// "line 5: mapping key "tls" already defined at line 3"
			repeated = true
		} else if strings.Contains(msg, "not found in type") {
			// "line 3: field upstrem not found in type config.Config"
			line, field, _ := strings.Cut(msg, ": field ")
			field, _, _ = strings.Cut(field, " not found")
			msg = fmt.Sprintf("%s: unknown key %q", line, field)
		} else if m := typeErr.FindStringSubmatch(msg); m != nil {
			// "line 7: cannot unmarshal !!str `soon` into time.Duration"
			msg = fmt.Sprintf("%s: `%s` is not %s", m[1], m[2], typeName(m[3]))
		} else if m := kindErr.FindStringSubmatch(msg); m != nil {
			// "line 3: cannot unmarshal !!seq into config.Listen"
			msg = fmt.Sprintf("%s: %s where %s belongs", m[1], kindName(m[2]), typeName(m[3]))
		}
		errs = append(errs, errors.New(msg))
	}
	return errs, repeated
}

var (
	typeErr = regexp.MustCompile("^(line \\d+): cannot unmarshal !!\\w+ `(.*)` into (.+)$")
	kindErr = regexp.MustCompile(`^(line \d+): cannot unmarshal !!(\w+) into (.+)$`)
)

// kindName says in words what a YAML node kind is.
func kindName(tag string) string {
	switch tag {
	case "seq":
		return "a list"
	case "map":
		return "a mapping"
	default:
		return "a value"
	}
}

// typeName says in words what a Go type expects in YAML.
func typeName(goType string) string {
	switch {
	case goType == "time.Duration":
		return "a duration such as 30s"
	case strings.HasPrefix(goType, "int") || strings.HasPrefix(goType, "uint"):
		return "a whole number"
	case strings.HasPrefix(goType, "float"):
		return "a number"
	case goType == "bool":
		return "true or false"
	case goType == "string" || goType == "config.Secret":
		return "a string"
	case strings.HasPrefix(goType, "[]"):
		return "a list"
	default:
		return "a mapping of keys (see docs/configuration.md)"
	}
}

var envRef = regexp.MustCompile(`\$\$|\$\{([A-Za-z_][A-Za-z0-9_]*)\}`)

// plainSafe matches values YAML reads back unchanged as plain scalars.
var plainSafe = regexp.MustCompile(`^[A-Za-z0-9_./=+,-][A-Za-z0-9_./:=+,@-]*$`)

// expandEnv replaces ${NAME} with the environment variable NAME and $$ with a
// literal $, line by line so that line numbers in later errors stay true. It
// skips comments, and inserts each value so that YAML reads it back exactly:
// escaped inside quotes, and as a double-quoted string where a plain value
// would be misread (a # or ": " in a secret, a leading * or @). A variable
// that is unset, or whose value has a line break (it could inject keys), is
// an error.
func expandEnv(data []byte, getenv func(string) (string, bool)) ([]byte, []error) {
	var errs []error
	lines := strings.Split(string(data), "\n")
	for i, line := range lines {
		code, comment := splitComment(line)
		var b strings.Builder
		last := 0
		for _, m := range envRef.FindAllStringSubmatchIndex(code, -1) {
			b.WriteString(code[last:m[0]])
			last = m[1]
			if code[m[0]:m[1]] == "$$" {
				b.WriteByte('$')
				continue
			}
			name := code[m[2]:m[3]]
			v, ok := getenv(name)
			switch {
			case !ok:
				errs = append(errs, fmt.Errorf("line %d: environment variable %s is not set", i+1, name))
				continue
			case strings.ContainsAny(v, "\r\n"):
				errs = append(errs, fmt.Errorf("line %d: environment variable %s contains a line break", i+1, name))
				continue
			}
			switch quoteAt(code, m[0]) {
			case '"':
				q, _ := json.Marshal(v)
				b.Write(q[1 : len(q)-1])
			case '\'':
				b.WriteString(strings.ReplaceAll(v, "'", "''"))
			default:
				if plainSafe.MatchString(v) {
					b.WriteString(v)
				} else if wholeValue(code, m[0], m[1]) {
					q, _ := json.Marshal(v)
					b.Write(q)
				} else {
					errs = append(errs, fmt.Errorf("line %d: environment variable %s holds characters YAML would misread here; put \"${%s}\" in double quotes", i+1, name, name))
				}
			}
		}
		b.WriteString(code[last:])
		lines[i] = b.String() + comment
	}
	return []byte(strings.Join(lines, "\n")), errs
}

// splitComment cuts a line before its comment: a # at the start or after
// white space, outside quotes.
func splitComment(line string) (code, comment string) {
	var quote byte
	for i := 0; i < len(line); i++ {
		c := line[i]
		switch {
		case quote != 0:
			if c == quote {
				quote = 0
			}
		case c == '"' || c == '\'':
			quote = c
		case c == '#' && (i == 0 || line[i-1] == ' ' || line[i-1] == '\t'):
			return line[:i], line[i:]
		}
	}
	return line, ""
}

// quoteAt returns the quote character open at position pos, or 0.
func quoteAt(line string, pos int) byte {
	var quote byte
	for i := 0; i < pos; i++ {
		switch c := line[i]; {
		case quote != 0:
			if c == quote {
				quote = 0
			}
		case c == '"' || c == '\'':
			quote = c
		}
	}
	return quote
}

// wholeValue reports whether [start, end) is the whole value of a
// "key: value" or "- value" line.
func wholeValue(line string, start, end int) bool {
	if strings.TrimSpace(line[end:]) != "" {
		return false
	}
	before := strings.TrimRight(line[:start], " \t")
	return strings.HasSuffix(before, ":") || strings.HasSuffix(strings.TrimSpace(before), "-") && strings.TrimSpace(before) == "-"
}

// Marshal returns cfg as YAML with every Secret, and any password in the
// upstream URL, redacted.
func Marshal(cfg *Config) ([]byte, error) {
	c := *cfg
	c.Upstream.URL = redactURL(c.Upstream.URL)
	cfg = &c
	var buf bytes.Buffer
	enc := yaml.NewEncoder(&buf)
	enc.SetIndent(2)
	if err := enc.Encode(cfg); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}
