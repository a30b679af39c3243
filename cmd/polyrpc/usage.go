package main

// The help texts of polyrpc and its subcommands.

const mainUsage = `polyrpc runs a JSON-RPC 2.0 server and talks to JSON-RPC 2.0 servers.

Usage:

  polyrpc [serve] [flags]               run the server (the default command)
  polyrpc attach [flags] [ENDPOINT]     interactive console on a running server
  polyrpc console [flags]               interactive console on an embedded server
  polyrpc call [flags] ENDPOINT METHOD [PARAMS...]
                                        one call; the result on stdout
  polyrpc version                       print the version
  polyrpc help [COMMAND]                this text, or a command's flags

ENDPOINT is http://HOST:PORT, ws://HOST:PORT (https:// and wss:// with TLS), an IPC socket
path (unix://PATH too) or, on Windows, \\.\pipe\NAME. Run polyrpc COMMAND --help for a
command's flags.
`

const serveUsage = `Usage: polyrpc [serve] [flags]

Serves the built-in services (admin, chat, rpc) over HTTP and WebSocket on one port
(default 127.0.0.1:8545; the browser console is at http://127.0.0.1:8545/) and over IPC at a
path it prints. admin is offered over IPC and in-process only unless --http.api or --ws.api
name it. SIGINT or SIGTERM stop it gracefully (SIGHUP too, unless --tls.cert is set: then it
reloads the certificate). --authrpc.jwtsecret FILE adds go-ethereum's authenticated endpoint
(127.0.0.1:8551, every namespace, each request and connection needing a JWT signed with the
secret in FILE).

Flags:
`

const attachUsage = `Usage: polyrpc attach [flags] [ENDPOINT]

Opens an interactive console on a JSON-RPC 2.0 server (polyrpc or any other), by default the
IPC socket of a local polyrpc serve. Type .help in the console for its commands.

Flags:
`

const consoleUsage = `Usage: polyrpc console [flags]

Opens the interactive console on a server embedded in this process, with the built-in
services (admin and chat included), through the in-process transport. Nothing listens on
the network. Type .help in the console for its commands.

Flags:
`

const callUsage = `Usage: polyrpc call [flags] ENDPOINT METHOD [PARAMS...]

Calls METHOD once and prints its result as JSON on stdout. Each of PARAMS is a JSON value or,
when it is not valid JSON, a string; a single JSON array is the params list and a single JSON
object gives params by name:

  polyrpc call http://127.0.0.1:8545 chat_send lobby ann "hello there"
  polyrpc call /run/user/1000/polyrpc.ipc test_add '[1,2]'

Exit status: 0 on success, 1 when the server answers with an error (code, message and data
on stderr), 2 on a usage or connection error.

Flags:
`
