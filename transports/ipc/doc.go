/*
Package ipc serves an [rpc.Server] over local inter-process connections, Unix domain sockets or
Windows named pipes, and dials them. It works with go-ethereum's IPC clients (geth attach, ethclient
over a .ipc path).

	srv := rpc.NewServer(nil)
	ep, err := ipc.Serve(srv, "/run/myapp/rpc.ipc", nil)
	if err != nil {
		log.Fatal(err)
	}
	defer ep.Close()

	client, err := ipc.Dial(ctx, "/run/myapp/rpc.ipc")

# Wire format

A connection carries a byte stream of JSON values, read by the shared framer of
[rpc.Server.ServeStream]: requests may be separated by newlines, other whitespace or nothing at
all, may arrive split over many writes or several in one write. Every answer is one line of
JSON ending in '\n'. Calls on one connection run concurrently and are answered as they finish, so
a client may multiplex (the [rpc.Client] returned by [Dial] does). When a client ends its side of
the stream (a half-close, or closing the connection), calls already received still run and their
answers are still written when the connection can carry them. Each connection's peer has
Transport "ipc" and RemoteAddr the endpoint's path.

# Unix (Linux, macOS and the BSDs)

The path names a Unix domain socket. [Listen] (and [Serve]) require that:

  - the directory holding the path exists; it is not created, so that its owner and mode stay
    the caller's choice (a directory only the server's user can enter, mode 0700, keeps other
    users out regardless of the socket's mode);
  - the path is shorter than the operating system's limit for a socket address (107 bytes on
    Linux, 103 on macOS: the size of sockaddr_un's path minus its terminating NUL);
  - nothing else is at the path. A socket file left behind by a server that is gone (nothing
    answers a connection attempt: ECONNREFUSED) is removed and replaced. A socket on which a
    server answers is an "already in use" error, as is one that cannot be probed. Anything
    that is not a socket (a regular file, a directory, a symbolic link) is an error and is never
    removed.

The socket file is given mode 0600 (owner read and write) right after it is created, before the
first connection is accepted. Closing the [Endpoint] (or the listener) removes the socket file.
Linux abstract socket names (starting with '@') are refused.

# Windows

The path must be a local named pipe, \\.\pipe\NAME, with NAME non-empty and free of
backslashes. Pipes are created with gopkg.in/natefinch/npipe.v2: byte mode, the default security
descriptor (full control for LocalSystem, administrators and the creating user; read-only access
for others, which is not enough to connect) and remote clients are not refused, so the pipe's
access control, not its name, is what keeps other machines out. Listening on a pipe name that
another server holds fails with an "already in use" error. [Dial] waits for a busy pipe until the
context's deadline, or 2 seconds without one, as go-ethereum does; a path that is not a pipe name
is dialled as an AF_UNIX socket (Windows 10 1803 and later). Named pipes cannot be half-closed.

# Limits and defaults

Options.WriteTimeout (default 10 s, go-ethereum's value) bounds every write to a client: a client
that does not read its answers for that long is disconnected, so it cannot hold the server's
call slots forever. Transient accept errors (too many open files, for example) are retried with a
backoff from 5 ms to 1 s. Message size, concurrency per connection, batch limits and call timeouts
are those of the [rpc.Server] (see [rpc.Options]).
*/
package ipc
