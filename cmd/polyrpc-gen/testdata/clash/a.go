// Package clash has two service types whose files import different packages under one name.
package clash

import x "math/big"

// A is a service.
type A struct{}

// M takes a type of math/big, imported as x.
func (A) M(v *x.Int) {}
