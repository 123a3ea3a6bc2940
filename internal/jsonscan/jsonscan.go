// Package jsonscan moves through JSON text that json.Valid has already
// accepted: it finds where tokens start and end, without allocating. It never
// decides what is valid JSON itself: the standard library does, so the
// gateway and the upstream cannot be made to disagree by malformed input. It
// imports nothing, so the importable packages that use it (envelope,
// limits) still depend on the standard library alone.
package jsonscan

// SkipSpace returns the index of the first byte at or after i that is not
// JSON whitespace.
func SkipSpace(b []byte, i int) int {
	for i < len(b) {
		switch b[i] {
		case ' ', '\t', '\n', '\r':
			i++
		default:
			return i
		}
	}
	return i
}

// StringEnd returns the index just past the string that starts at b[i] (a
// quote) and whether the string contains escape sequences.
func StringEnd(b []byte, i int) (end int, escaped bool) {
	for i++; i < len(b); i++ {
		switch b[i] {
		case '\\':
			escaped = true
			i++
		case '"':
			return i + 1, escaped
		}
	}
	return len(b), escaped
}

// NumberEnd returns the index just past the number that starts at b[i].
func NumberEnd(b []byte, i int) int {
	for i < len(b) {
		switch c := b[i]; {
		case c >= '0' && c <= '9', c == '-', c == '+', c == '.', c == 'e', c == 'E':
			i++
		default:
			return i
		}
	}
	return i
}

// ValueEnd returns the index just past the value that starts at b[i].
func ValueEnd(b []byte, i int) int {
	switch b[i] {
	case '"':
		end, _ := StringEnd(b, i)
		return end
	case '{', '[':
		depth := 0
		for i < len(b) {
			switch b[i] {
			case '"':
				i, _ = StringEnd(b, i)
				continue
			case '{', '[':
				depth++
			case '}', ']':
				depth--
				if depth == 0 {
					return i + 1
				}
			}
			i++
		}
		return len(b)
	case 't', 'n':
		return i + 4
	case 'f':
		return i + 5
	default:
		return NumberEnd(b, i)
	}
}
