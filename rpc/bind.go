package rpc

import (
	"context"
	"fmt"
	"reflect"
)

// Bind makes *fnPtr, a pointer to a func variable, call method on c: with
//
//	var add func(ctx context.Context, a, b int) (int, error)
//	err := rpc.Bind(client, "test_add", &add)
//
// add(ctx, 1, 2) calls test_add with params [1,2] and returns the decoded result. The func must
// take a context.Context first and return error last, with at most one result before it; a
// variadic last parameter is spread into the params.
func Bind(c *Client, method string, fnPtr any) error {
	pv := reflect.ValueOf(fnPtr)
	if pv.Kind() != reflect.Pointer || pv.Elem().Kind() != reflect.Func {
		return fmt.Errorf("rpc: Bind needs a pointer to a func variable, not %T", fnPtr)
	}
	ft := pv.Elem().Type()
	if ft.NumIn() == 0 || ft.In(0) != contextType {
		return fmt.Errorf("rpc: Bind: %s must take a context.Context first", ft)
	}
	if n := ft.NumOut(); n == 0 || n > 2 || ft.Out(n-1) != errorType {
		return fmt.Errorf("rpc: Bind: %s must return error or (T, error)", ft)
	}
	hasResult := ft.NumOut() == 2
	fn := reflect.MakeFunc(ft, func(in []reflect.Value) []reflect.Value {
		ctx, _ := in[0].Interface().(context.Context)
		if ctx == nil {
			ctx = context.Background()
		}
		args := make([]any, 0, len(in)-1)
		for i, v := range in[1:] {
			if ft.IsVariadic() && i == len(in)-2 {
				for k := 0; k < v.Len(); k++ {
					args = append(args, v.Index(k).Interface())
				}
				continue
			}
			args = append(args, v.Interface())
		}
		var res reflect.Value
		var target any
		if hasResult {
			res = reflect.New(ft.Out(0))
			target = res.Interface()
		}
		err := c.Call(ctx, target, method, args...)
		errv := reflect.Zero(errorType)
		if err != nil {
			errv = reflect.ValueOf(&err).Elem()
		}
		if !hasResult {
			return []reflect.Value{errv}
		}
		return []reflect.Value{res.Elem(), errv}
	})
	pv.Elem().Set(fn)
	return nil
}
