package limits

import (
	"math"
	"strconv"
)

// number describes a JSON number exactly, without rounding through float64:
// 1.0000000000000000001 is not an integer even though float64 says so, and
// 1e2 is the integer 100.
type number struct {
	// integral reports that the value has no fractional part.
	integral bool
	// fits reports that an integral value fits in int64 (then it is n).
	fits bool
	n    int64
	// canonical reports that the text is the plain decimal form of n:
	// no fraction, no exponent, no "-0".
	canonical bool
}

// maxExponent bounds the exponents readNumber computes with. Anything
// larger is out of every range this package cares about, and even with
// that many trailing zeros in the digits the sign of the scale stays right.
const maxExponent = 1 << 40

// readNumber reads the valid JSON number num.
func readNumber(num []byte) number {
	neg := num[0] == '-'
	if neg {
		num = num[1:]
	}
	// Split into integer digits, fraction digits and exponent.
	i := 0
	for i < len(num) && num[i] >= '0' && num[i] <= '9' {
		i++
	}
	intPart, rest := num[:i], num[i:]
	var frac []byte
	if len(rest) > 0 && rest[0] == '.' {
		j := 1
		for j < len(rest) && rest[j] >= '0' && rest[j] <= '9' {
			j++
		}
		frac, rest = rest[1:j], rest[j:]
	}
	var exp int64
	if len(rest) > 0 { // e or E
		rest = rest[1:]
		expNeg := rest[0] == '-'
		if rest[0] == '-' || rest[0] == '+' {
			rest = rest[1:]
		}
		for _, c := range rest {
			if exp < maxExponent {
				exp = exp*10 + int64(c-'0')
			}
		}
		if expNeg {
			exp = -exp
		}
	}
	canonical := len(frac) == 0 && len(rest) == 0 && len(num) == len(intPart) && !(neg && isZero(intPart))

	// The value is digits × 10^scale, digits being intPart followed by frac.
	digit := func(k int) byte {
		if k < len(intPart) {
			return intPart[k]
		}
		return frac[k-len(intPart)]
	}
	first, last := 0, len(intPart)+len(frac)
	for first < last && digit(first) == '0' {
		first++
	}
	if first == last {
		return number{integral: true, fits: true, canonical: canonical}
	}
	scale := exp - int64(len(frac))
	for digit(last-1) == '0' {
		last--
		scale++
	}
	if scale < 0 {
		return number{}
	}
	if int64(last-first)+scale > 19 {
		return number{integral: true}
	}
	var u uint64
	for k := first; k < last; k++ {
		u = u*10 + uint64(digit(k)-'0')
	}
	for ; scale > 0; scale-- {
		u *= 10
	}
	switch {
	case !neg && u <= math.MaxInt64:
		return number{integral: true, fits: true, n: int64(u), canonical: canonical}
	case neg && u <= 1<<63:
		return number{integral: true, fits: true, n: -int64(u-1) - 1, canonical: canonical}
	}
	return number{integral: true}
}

func isZero(digits []byte) bool {
	return len(digits) == 1 && digits[0] == '0'
}

// exceeds reports whether the JSON number num is greater than max.
func exceeds(num []byte, max int) bool {
	if r := readNumber(num); r.fits {
		return r.n > int64(max)
	}
	// A number too large for float64 parses as ±Inf (with ErrRange), one
	// too small as 0: comparing the result is right either way.
	f, _ := strconv.ParseFloat(string(num), 64)
	return f > float64(max)
}
