// Package setting is the error of a setting out of range: it names the config field (as the Go
// struct spells it), the value and what is wanted, so that each config type's Validate reports
// its own fields and a command line can name its flag instead (Rename).
package setting

import (
	"errors"
	"fmt"
	"regexp"
	"strings"
)

// Error is a config field whose value is not what the config allows.
type Error struct {
	Field string // the field, e.g. "MaxSeqLen"
	Value string // the value as given, formatted (strings quoted); may name other fields' values
	Want  string // what is wanted, e.g. "at least 5 for Task nsp"; may name other fields
}

// Error returns "Field Value: want Want", e.g. "MaxSeqLen 3: want at least 5 for Task nsp".
func (e *Error) Error() string { return e.Field + " " + e.Value + ": want " + e.Want }

// Errorf returns an *Error for field holding v (formatted with %v, a string with %q), with
// the wanted range formatted from format and args.
func Errorf(field string, v any, format string, args ...any) error {
	val := fmt.Sprint(v)
	if s, ok := v.(string); ok {
		val = fmt.Sprintf("%q", s)
	}
	return &Error{Field: field, Value: val, Want: fmt.Sprintf(format, args...)}
}

// names matches the words of a message that may be field names.
var names = regexp.MustCompile(`\b[A-Z][A-Za-z0-9]*(?:\.[A-Z][A-Za-z0-9]*)*\b`)

// Rename returns err with the field it names, and the fields its Value and Want mention, renamed
// through rename (a field absent from it keeps its name); ok says whether err is an *Error
// whose own field rename knows. A config that checks its fields through another config's
// Validate uses it to name its own fields; a command line, to name its flags.
func Rename(err error, rename map[string]string) (out *Error, ok bool) {
	var fe *Error
	if !errors.As(err, &fe) {
		return nil, false
	}
	r := *fe
	r.Field, ok = rename[fe.Field]
	if !ok {
		r.Field = fe.Field
	}
	replace := func(w string) string {
		if n, ok := rename[w]; ok {
			return n
		}
		return w
	}
	r.Want = names.ReplaceAllStringFunc(fe.Want, replace)
	if !strings.HasPrefix(fe.Value, `"`) { // a string as given is left as it is
		r.Value = names.ReplaceAllStringFunc(fe.Value, replace)
	}
	return &r, ok
}

// InRange returns an *Error for field when v is outside [min, max] ("Workers 0: want 1 to
// 256"), else nil. A Validate checks several with cmp.Or, which returns the first error.
func InRange(field string, v, min, max int) error {
	if v < min || v > max {
		return Errorf(field, v, "%d to %d", min, max)
	}
	return nil
}
