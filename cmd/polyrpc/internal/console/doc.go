// Package console is the interactive JSON-RPC 2.0 console of polyrpc attach and polyrpc
// console, and the parsing and printing shared with polyrpc call.
//
// A line is a method and its params, or a raw request object:
//
//	test_add 1 2            params [1,2]: each word a JSON value, or a string when it is not JSON
//	test_add [1,2]          a single array is the params list
//	test_echo {"s":"x"}     a single object gives params by name
//	chat_send lobby ann "hello there"
//	{"jsonrpc":"2.0","id":1,"method":"test_add","params":[1,2]}
//	chat_subscribe messages lobby      a subscription: notifications print as they arrive
//
// and commands start with a dot: .help, .methods [PREFIX], .subs, .unsub ID, .handle [METHOD
// [JSON]], .exit. Results are printed as indented JSON, coloured when Config.Color is set.
//
// The server may call the console's client (a method's rpc.CallClient): each call prints as it
// arrives and is answered -32601, unless .handle METHOD JSON gave METHOD a canned result.
//
// The console reads lines through a [LineReader]: [NewTerminal] gives line editing, history
// and tab completion on a terminal (github.com/peterh/liner); [NewLines] reads plain lines
// from any reader, so scripts and tests drive the console without a terminal.
package console
