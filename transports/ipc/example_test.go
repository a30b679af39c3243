//go:build unix || windows

package ipc_test

import (
	"context"
	"fmt"
	"log"
	"os"
	"path/filepath"
	"runtime"

	"github.com/polyrpc/polyrpc/rpc"
	"github.com/polyrpc/polyrpc/transports/ipc"
)

// Calc is a service with one method, calc_add.
type Calc struct{}

// Add adds two integers.
func (Calc) Add(a, b int) int { return a + b }

func Example() {
	srv := rpc.NewServer(nil)
	if err := srv.Register("calc", Calc{}); err != nil {
		log.Fatal(err)
	}
	defer srv.Stop()

	// A named pipe on Windows, a socket in a private directory elsewhere.
	path := `\\.\pipe\polyrpc-example`
	if runtime.GOOS != "windows" {
		dir, err := os.MkdirTemp("", "polyrpc")
		if err != nil {
			log.Fatal(err)
		}
		defer os.RemoveAll(dir)
		path = filepath.Join(dir, "rpc.ipc")
	}
	ep, err := ipc.Serve(srv, path, nil)
	if err != nil {
		log.Fatal(err)
	}
	defer ep.Close()

	client, err := ipc.Dial(context.Background(), path)
	if err != nil {
		log.Fatal(err)
	}
	defer client.Close()
	var sum int
	if err := client.Call(context.Background(), &sum, "calc_add", 1, 2); err != nil {
		log.Fatal(err)
	}
	fmt.Println(sum)
	// Output: 3
}
