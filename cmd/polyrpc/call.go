package main

import (
	"context"
	"errors"
	"fmt"

	"github.com/polyrpc/polyrpc/cmd/polyrpc/internal/console"
)

// callError is an error answer to polyrpc call, already printed; it makes the exit status 1.
type callError struct{ err error }

func (e *callError) Error() string { return e.err.Error() }

// callCmd runs polyrpc call ENDPOINT METHOD [PARAMS...].
func callCmd(ctx context.Context, args []string, io stdio) error {
	var cf clientFlags
	fs := newFlagSet("polyrpc call", callUsage, io)
	cf.register(fs)
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() < 2 {
		fs.Usage()
		return errors.New("call needs an endpoint and a method")
	}
	endpoint, method := fs.Arg(0), fs.Arg(1)
	req := console.ParseArgs(method, fs.Args()[2:])
	client, err := cf.dial(ctx, endpoint)
	if err != nil {
		return err
	}
	defer client.Close()
	cctx, cancel := context.WithTimeout(ctx, cf.timeout)
	defer cancel()
	res, err := console.Do(cctx, client, req)
	if err != nil {
		if console.IsErrorAnswer(err) {
			fmt.Fprintln(io.err, console.ErrorJSON(err))
			return &callError{err}
		}
		return fmt.Errorf("calling %s: %w", method, err)
	}
	fmt.Fprintln(io.out, console.FormatJSON(res, useColor(io.out), false))
	return nil
}
