package prepflags

import (
	"encoding"
	"errors"
	"flag"
	"fmt"

	"github.com/kiln-bert/kiln/internal/setting"
)

// kiln checks every flag value in one way: the flags fill a config (or local values) as the
// flag package parses them, and once they are parsed the config's Validate checks it; an
// error naming a field (a *setting.Error) becomes a usage error naming the field's flag
// (SettingError), through a map from the config's field names to the flags. Only the
// syntax of a value (an integer that is not one) is the flag package's to refuse. Values
// that no config holds (tokenize's, the MB of --shard-mb) are checked with CheckRange or
// BadFlag, with the same messages.

// textValue is a flag whose value is a typed setting (pipeline.Format, pairing.Task,
// masking.Mode, shards.Compression, ...): Set only keeps the text; Parse parses it into
// the setting (settleText), so that an unknown name is reported as any other bad value is.
type textValue struct {
	text string
	dst  encoding.TextUnmarshaler
}

func (v *textValue) String() string {
	if v == nil {
		return ""
	}
	return v.text
}

func (v *textValue) Set(s string) error { v.text = s; return nil }

// TextSetting is a typed setting: it has a name, and parses one.
type TextSetting interface {
	encoding.TextMarshaler
	encoding.TextUnmarshaler
}

// TextVar defines a flag whose value is the typed setting dst, by default its present value.
func TextVar(fs *flag.FlagSet, dst TextSetting, name, usage string) {
	b, err := dst.MarshalText()
	if err != nil {
		panic(fmt.Sprintf("flag --%s: default %v: %v", name, dst, err)) // a programming error
	}
	fs.Var(&textValue{text: string(b), dst: dst}, name, usage)
}

// settleText parses the text of each textValue flag of fs into its setting. An unknown name
// is a usage error naming the flag.
func settleText(fs *flag.FlagSet) error {
	var err error
	fs.VisitAll(func(f *flag.Flag) {
		v, ok := f.Value.(*textValue)
		if !ok || err != nil {
			return
		}
		if e := v.dst.UnmarshalText([]byte(v.text)); e != nil {
			var fe *setting.Error
			if errors.As(e, &fe) {
				err = BadFlag("--%s %s: want %s", f.Name, fe.Value, fe.Want)
			} else {
				err = BadFlag("--%s %q: %v", f.Name, v.text, e)
			}
		}
	})
	return err
}

// SettingError returns err, a config's Validate error, as a usage error naming the flag of its
// field ("--max-seq-len 3: want at least 5 for --task nsp"), flags mapping field names to flag
// names ("--max-seq-len"; the fields its message mentions are renamed too). An error of a field
// that has no flag is returned as it is.
func SettingError(err error, flags map[string]string) error {
	fe, ok := setting.Rename(err, flags)
	if !ok {
		return err
	}
	return BadFlag("%s %s: want %s", fe.Field, fe.Value, fe.Want)
}

// CheckRange returns a usage error naming the flag when v is outside [min, max], for the
// values that no config holds.
func CheckRange(name string, v, min, max int) error {
	if v < min || v > max {
		return BadFlag("--%s %d: want %d to %d", name, v, min, max)
	}
	return nil
}
