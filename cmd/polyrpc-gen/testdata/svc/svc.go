// Package svc is the input of the generator's tests.
package svc

import (
	stdctx "context"
	js "encoding/json"
	"errors"
	"math/big"
)

// Calc is a service.
type Calc struct{ base }

// Add adds a and b.
//
// Returns their sum, which may overflow.
func (c *Calc) Add(ctx stdctx.Context, a, b int) (sum int, err error) { return a + b, nil }

// Div divides.
//
// Errors:
//
//	-32001 division by zero
//	-32002: overflow
//
// Deprecated: use Quo.
func (Calc) Div(x, y int) (int, error) {
	if y == 0 {
		return 0, errors.New("division by zero")
	}
	return x / y, nil
}

// Raw takes unnamed params.
//
//polyrpc:positional
func (Calc) Raw(int, string) Result { return Result{} }

func (Calc) hidden() {}

// Result is what Raw returns.
type Result struct{}

type base struct{}

// Version comes from an embedded type.
func (base) Version() string { return "1" }

// Pair is generic.
type Pair[T any] struct{}

// lower is an unexported service type.
type lower struct{}

// Ping answers.
func (lower) Ping() {}

// Shape is taken by Calc.Area.
type Shape struct {
	// W is the width.
	W    float64
	H, D float64 // H and D share this doc.

	Inner *Inner `json:"inner"` // the nested part

	Undocumented int
}

// Inner is nested in Shape.
type Inner struct{ Tags []Tag }

// Tag is reached through a slice.
type Tag string

// Sub stands for a subscription.
type Sub struct{}

// Tick is what Ticks notifies.
type Tick struct {
	N int // the count
}

// Ticks is a subscription.
//
// Notifies: *Tick
func (Calc) Ticks(ctx stdctx.Context) (*Sub, error) { return nil, nil }

// Area computes the area.
//
// Permission: geometry
func (Calc) Area(s Shape, Shape int) float64 { return s.W * s.H }

// Decode takes types of other packages, one imported under another name.
func (*Calc) Decode(raw js.RawMessage, n *big.Int) error { return nil }

// Many is variadic: left to reflection.
func (Calc) Many(xs ...int) int { return len(xs) }

// Three has more results than a method may: left to reflection.
func (Calc) Three() (int, int, error) { return 0, 0, nil }
