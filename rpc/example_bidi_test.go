package rpc_test

import (
	"context"
	"fmt"
	"log"

	"github.com/polyrpc/polyrpc/rpc"
	"github.com/polyrpc/polyrpc/transports/inproc"
)

// Files is a server's service: Delete asks the calling client to confirm, Upload takes the
// lines a client streams to it.
type Files struct{}

// Delete asks the client (its ui_confirm) before it deletes name.
func (Files) Delete(ctx context.Context, name string) (string, error) {
	var ok bool
	if err := rpc.CallClient(ctx, &ok, "ui_confirm", "delete "+name+"?"); err != nil {
		return "", err
	}
	if !ok {
		return "kept " + name, nil
	}
	return "deleted " + name, nil
}

// Upload counts the lines and bytes a client streams to it (files_streamItem), and answers
// once the client ends the stream (files_streamEnd).
func (Files) Upload(ctx context.Context, name string, lines *rpc.Stream[string]) (string, error) {
	n, size := 0, 0
	for line, err := range lines.All() {
		if err != nil {
			return "", err
		}
		n, size = n+1, size+len(line)
	}
	return fmt.Sprintf("%s: %d lines, %d bytes", name, n, size), nil
}

// UI is what the client serves to the server.
type UI struct{}

// Confirm answers the server's question.
func (UI) Confirm(question string) bool {
	fmt.Println("server asks:", question)
	return question == "delete draft.txt?"
}

// Example_bothDirections: the server calls its client back from a method, and the client
// streams values to a method. Both work over WebSocket, IPC and in-process connections.
func Example_bothDirections() {
	srv := rpc.NewServer(nil)
	defer srv.Stop()
	if err := srv.Register("files", Files{}); err != nil {
		log.Fatal(err)
	}
	client, err := inproc.Dial(srv) // or wsrpc.Dial, ipc.Dial
	if err != nil {
		log.Fatal(err)
	}
	defer client.Close()
	if err := client.Register("ui", UI{}); err != nil { // served to the server: ui_confirm
		log.Fatal(err)
	}
	ctx := context.Background()

	for _, name := range []string{"draft.txt", "thesis.txt"} {
		var res string
		if err := client.Call(ctx, &res, "files_delete", name); err != nil {
			log.Fatal(err)
		}
		fmt.Println(res)
	}

	up, err := client.OpenStream(ctx, "files_upload", "notes.txt")
	if err != nil {
		log.Fatal(err)
	}
	for _, line := range []string{"one", "two", "three"} {
		if err := up.Send(ctx, line); err != nil {
			log.Fatal(err)
		}
	}
	var summary string
	if err := up.CloseAndRecv(ctx, &summary); err != nil {
		log.Fatal(err)
	}
	fmt.Println(summary)
	// Output:
	// server asks: delete draft.txt?
	// deleted draft.txt
	// server asks: delete thesis.txt?
	// kept thesis.txt
	// notes.txt: 3 lines, 11 bytes
}
