package console

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"

	"github.com/polyrpc/polyrpc/rpc"
)

// ANSI colours of the printed JSON and errors.
const (
	colorReset  = "\x1b[0m"
	colorKey    = "\x1b[36m" // cyan
	colorString = "\x1b[32m" // green
	colorNumber = "\x1b[33m" // yellow
	colorLit    = "\x1b[35m" // magenta: true, false, null
	colorError  = "\x1b[31m" // red
	colorDim    = "\x1b[2m"
)

// FormatJSON returns v indented by two spaces (or on one line when compactForm is set),
// coloured when color is set. Invalid JSON is returned as it is.
func FormatJSON(v []byte, color, compactForm bool) string {
	var b bytes.Buffer
	var err error
	if compactForm {
		err = json.Compact(&b, v)
	} else {
		err = json.Indent(&b, v, "", "  ")
	}
	if err != nil {
		return string(v)
	}
	if !color {
		return b.String()
	}
	return colorize(b.Bytes())
}

// colorize colours the tokens of valid JSON text.
func colorize(s []byte) string {
	var out bytes.Buffer
	out.Grow(len(s) * 2)
	for i := 0; i < len(s); {
		c := s[i]
		switch {
		case c == '"':
			j := i + 1
			for j < len(s) && s[j] != '"' {
				if s[j] == '\\' {
					j++
				}
				j++
			}
			j = min(j+1, len(s))
			k := j
			for k < len(s) && (s[k] == ' ' || s[k] == '\n') {
				k++
			}
			col := colorString
			if k < len(s) && s[k] == ':' {
				col = colorKey
			}
			paint(&out, col, s[i:j])
			i = j
		case c == '-' || c >= '0' && c <= '9':
			j := i
			for j < len(s) && bytes.IndexByte([]byte("+-.eE0123456789"), s[j]) >= 0 {
				j++
			}
			paint(&out, colorNumber, s[i:j])
			i = j
		case c == 't' || c == 'f' || c == 'n':
			j := i
			for j < len(s) && s[j] >= 'a' && s[j] <= 'z' {
				j++
			}
			paint(&out, colorLit, s[i:j])
			i = j
		default:
			out.WriteByte(c)
			i++
		}
	}
	return out.String()
}

func paint(out *bytes.Buffer, color string, tok []byte) {
	out.WriteString(color)
	out.Write(tok)
	out.WriteString(colorReset)
}

// FormatError describes err: for an error answer its code, message and data (indented JSON),
// otherwise its text.
func FormatError(err error, color bool) string {
	var e *rpc.Error
	if !errors.As(err, &e) {
		return paintString(color, colorError, "error: "+err.Error())
	}
	s := paintString(color, colorError, "error "+strconv.Itoa(e.Code)+": "+e.Message)
	if e.Data != nil {
		data, derr := json.Marshal(e.Data)
		if raw, ok := e.Data.(json.RawMessage); ok {
			data, derr = raw, nil
		}
		if derr == nil {
			s += "\n" + paintString(color, colorDim, "data: ") + FormatJSON(data, color, false)
		}
	}
	return s
}

// ErrorJSON returns the error object of an error answer as one line of JSON, or a
// {"message": …} object for any other error.
func ErrorJSON(err error) string {
	var e *rpc.Error
	if !errors.As(err, &e) {
		b, _ := json.Marshal(map[string]string{"message": err.Error()})
		return string(b)
	}
	b, merr := json.Marshal(e)
	if merr != nil {
		return fmt.Sprintf(`{"code":%d,"message":%q}`, e.Code, e.Message)
	}
	return string(b)
}

func paintString(color bool, col, s string) string {
	if !color {
		return s
	}
	return col + s + colorReset
}

// IsErrorAnswer reports whether err is an error answer from the server (rather than a
// connection or encoding failure).
func IsErrorAnswer(err error) bool {
	var e *rpc.Error
	return errors.As(err, &e)
}
