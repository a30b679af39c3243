package wire

import "bytes"

// This file is the skipper: it finds where values end in JSON that the scanner (scan.go) has
// already validated, counting only quotes and brackets.

// EachElem calls f with the start of each element of the array that starts at b[0], in JSON the
// scanner has already validated; f returns the index past the element ([SkipValid] finds it for
// an element that f does not decode, at a fraction of the cost of validating it again). Input
// cut short is ErrUnexpectedEnd; other invalid input gives unspecified bounds but never a panic
// (unless f decodes it).
func EachElem(b []byte, f func(start int) (end int)) error {
	i := SkipSpace(b, 1)
	if i < len(b) && b[i] == ']' {
		return nil
	}
	for i < len(b) {
		end := f(i)
		i = SkipSpace(b, end)
		if i < len(b) && b[i] == ']' {
			return nil
		}
		i = SkipSpace(b, i+1) // past the ','
	}
	return ErrUnexpectedEnd
}

// SkipValid returns the index past the valid JSON value that starts at b[i]. It checks nothing:
// on invalid input the index is unspecified (but at most len(b)).
func SkipValid(b []byte, i int) int {
	depth := 0
	for i < len(b) {
		switch b[i] {
		case '"':
			i = skipValidString(b, i)
			if depth == 0 {
				return i
			}
			continue
		case '{', '[':
			depth++
		case '}', ']':
			if depth--; depth <= 0 {
				return i + 1
			}
		default:
			if depth == 0 { // a number or a literal
				for i < len(b) && !isSpace(b[i]) && b[i] != ',' && b[i] != ']' && b[i] != '}' {
					i++
				}
				return i
			}
		}
		i++
	}
	return len(b)
}

// skipValidString returns the index past the valid JSON string that starts at b[i].
func skipValidString(b []byte, i int) int {
	j := i + 1
	for {
		k := bytes.IndexByte(b[j:], '"')
		if k < 0 {
			return len(b)
		}
		j += k
		n := 0 // backslashes before the quote: an odd number escapes it
		for b[j-1-n] == '\\' {
			n++
		}
		if n%2 == 0 {
			return j + 1
		}
		j++
	}
}
