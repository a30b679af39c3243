/*
Package ipc serves an [rpc.Server] over local inter-process connections, Unix domain sockets or
Windows named pipes, and dials them. It speaks go-ethereum's IPC stream format (JSON values on a
byte stream), so go-ethereum's IPC clients can use it.

	srv := rpc.NewServer(nil)
	ep, err := ipc.Serve(srv, "/run/myapp/rpc.ipc", nil)
	if err != nil {
		log.Fatal(err)
	}
	defer ep.Close()

	client, err := ipc.Dial(ctx, "/run/myapp/rpc.ipc")

[DialWith] with DialOptions.Reconnect returns a client that dials the path again whenever the
connection fails and resumes its subscriptions (see [rpc.NewReconnectingClient]).

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
  - nothing else is at the path. A socket file left behind by a server that is gone (a
    connection attempt is refused: ECONNREFUSED) is removed and replaced. A socket on which a
    server answers is an "already in use" error; one that cannot be probed (permission denied,
    a full backlog) is an error too and is left alone. Anything that is not a socket (a regular
    file, a directory, a symbolic link) is an error and is never removed.

The socket file is given mode 0600 (owner read and write) right after it is created, before the
first connection is accepted. Closing the [Endpoint] (or the listener) removes the socket file.
Linux abstract socket names (starting with '@') are refused.

# Windows

The path must be a local named pipe, \\.\pipe\NAME, with NAME non-empty and free of
backslashes. Pipes are created with gopkg.in/natefinch/npipe.v2: byte mode, the default security
descriptor (full control for LocalSystem, administrators and the creating user; read-only access
for others, which is not enough to connect) and remote clients are not refused, so the pipe's
access control, not its name, is what keeps other machines out. Listening on a pipe name that
another server holds fails with an "already in use" error (the name is probed with an anonymous
connection first, then created as the pipe's first instance). [Dial] waits for a busy pipe until
the context's deadline, or 2 seconds without one, as go-ethereum does; a path that is not a pipe
name is dialled as an AF_UNIX socket (Windows 10 1803 and later). Named pipes cannot be
half-closed: a client ends its side by closing the connection.

# Authentication

The socket's mode (or the pipe's access control) decides who may connect. With
Options.Authenticator set, each accepted connection is also authenticated before it is served:
the authenticator sees the identity of the client's process as the kernel reports it
(rpc.Credentials.Process: uid, gid and pid, from SO_PEERCRED on Linux, LOCAL_PEERCRED and
LOCAL_PEERPID on macOS; nil on Windows, where npipe does not expose the client's identity, and
on other systems). A connection it refuses is closed; the principal it returns is the
connection's, and the connection is closed when its expiry passes.

# Limits and defaults

Options.WriteTimeout (default 10 s, go-ethereum's value) bounds every write to a client: a client
that does not read its answers for that long is disconnected, so it cannot hold the server's
call slots forever (any failed write closes the connection). Transient accept errors (too many open files, for example) are retried with a
backoff from 5 ms to 1 s. Message size, concurrency per connection, batch limits and call timeouts
are those of the [rpc.Server] (see [rpc.Options]).
*/
package ipc
