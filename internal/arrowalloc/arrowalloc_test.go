package arrowalloc

import (
	"errors"
	"testing"
)

// refused runs f and returns the *Refused it panics with, or nil.
func refused(f func()) (r *Refused) {
	defer func() {
		if e := recover(); e != nil {
			if !errors.As(e.(error), &r) {
				panic(e)
			}
		}
	}()
	f()
	return nil
}

func TestHeld(t *testing.T) {
	a := NewHeld(100)
	b := a.Allocate(60)
	if r := refused(func() { a.Allocate(41) }); r == nil || r.Size != 41 || r.Counted != 60 || r.Total != 100 {
		t.Fatalf("61+41 bytes held under a limit of 100: refusal %+v", r)
	}
	a.Free(b) // held bytes are given back
	c := a.Allocate(100)
	c = a.Reallocate(40, c) // shrinking gives back 60
	if r := refused(func() { a.Allocate(60) }); r != nil {
		t.Fatalf("40+60 bytes held under a limit of 100 refused: %+v", r)
	}
	if r := refused(func() { a.Reallocate(41, c) }); r == nil {
		t.Fatal("growing past the limit granted")
	}
	if first := a.Refused(); first == nil || first.Size != 41 || first.Counted != 60 {
		t.Errorf("Refused() = %+v, want the first refusal (41 bytes with 60 held)", first)
	}
	if one, all := a.Peaks(); one != 100 || all != 100 {
		t.Errorf("Peaks() = %d, %d, want 100, 100", one, all)
	}
}

func TestGranted(t *testing.T) {
	a := NewGranted()
	if r := refused(func() { a.Allocate(1) }); r == nil {
		t.Fatal("granted before any Reset")
	}
	a.Reset(64, 100)
	if r := refused(func() { a.Allocate(65) }); r == nil || r.One != 64 {
		t.Fatalf("65 bytes at once under a bound of 64: refusal %+v", r)
	}
	b := a.Allocate(64)
	a.Free(b) // granted bytes are not given back
	if r := refused(func() { a.Allocate(40) }); r == nil || r.Counted != 64 {
		t.Fatalf("64+40 bytes granted under 100: refusal %+v", r)
	}
	c := a.Allocate(20)
	if r := refused(func() { a.Reallocate(65, c) }); r == nil {
		t.Fatal("Reallocate beyond the bound for one allocation granted")
	}
	a.Reset(64, 100) // a new batch
	if r := refused(func() { a.Allocate(64); a.Allocate(36) }); r != nil {
		t.Fatalf("after Reset: %+v", r)
	}
	if one, all := a.Peaks(); one != 64 || all != 100 {
		t.Errorf("Peaks() = %d, %d, want 64, 100", one, all)
	}
}

func TestNegativeSize(t *testing.T) {
	a := NewHeld(1 << 20)
	if r := refused(func() { a.Allocate(-1) }); r == nil {
		t.Fatal("negative size granted")
	}
}
