package masking

import (
	"fmt"

	"github.com/kiln-bert/kiln/internal/setting"
)

// Mode says when rows are masked.
type Mode int

const (
	// Static masks each row once, when it is made: the masks are stored with it (kiln prep's
	// default, as Google's create_pretraining_data.py).
	Static Mode = iota
	// Dynamic stores rows unmasked; the trainer masks each one as it reads it, anew in each
	// epoch (as RoBERTa).
	Dynamic
)

// ParseMode parses "static" or "dynamic".
func ParseMode(s string) (Mode, error) {
	switch s {
	case "static":
		return Static, nil
	case "dynamic":
		return Dynamic, nil
	}
	return 0, setting.Errorf("Masking", s, "static or dynamic")
}

// String returns the mode's name: "static" or "dynamic".
func (m Mode) String() string {
	switch m {
	case Static:
		return "static"
	case Dynamic:
		return "dynamic"
	}
	return fmt.Sprintf("Mode(%d)", int(m))
}

// Validate reports a mode that is neither Static nor Dynamic.
func (m Mode) Validate() error {
	if m != Static && m != Dynamic {
		return setting.Errorf("Masking", m, "static or dynamic")
	}
	return nil
}

// MarshalText returns the mode's name, as configs spell it in JSON.
func (m Mode) MarshalText() ([]byte, error) {
	if err := m.Validate(); err != nil {
		return nil, err
	}
	return []byte(m.String()), nil
}

// UnmarshalText parses a mode's name (ParseMode).
func (m *Mode) UnmarshalText(b []byte) error {
	v, err := ParseMode(string(b))
	if err != nil {
		return err
	}
	*m = v
	return nil
}
