// Command polyrpc-gen writes the metadata of polyrpc services from their Go source: parameter
// names, doc comments, result docs and declared errors, which reflection cannot see, and the
// docs of the package's types (and their fields) that the methods take and return. Run it with
// go generate from the package that declares the service types:
//
//	//go:generate go run github.com/polyrpc/polyrpc/cmd/polyrpc-gen -type Service,Notify
//
// It writes service_rpcmeta.go (named after the first type; -output chooses another name), whose
// init function hands the metadata to rpc.RegisterMetadata. Server.Register then accepts params
// by name under the source's parameter names, checks that the metadata still fits the methods
// (a stale file is an error naming the type and method), and rpc.discover describes the
// methods with their docs. The file also holds an invoker per method (rpc.MethodMetadata.Invoke)
// that calls it directly, so that calls skip reflect.Value.Call; variadic methods, and those
// whose argument types the file cannot name (a dot import, an import name that clashes), are
// left to reflection.
//
// Conventions in a method's doc comment:
//
//   - the first sentence is the summary, the whole comment the description;
//   - a paragraph beginning "Returns" describes the result (otherwise the doc of the result's
//     type, when it is declared in the package);
//   - a paragraph beginning "Deprecated:" marks the method deprecated;
//   - the directive //polyrpc:positional keeps its params positional only (the names still
//     describe them in the document);
//   - a line "Notifies: T" in a subscription method's doc names the Go type T of its
//     notifications (a type of the package or a predeclared one: *Tick, []int), for their
//     schema in the document;
//   - a line "Errors:" starts the list of errors the method can return, one a line, code first;
//   - a line "Permission: NAME" names the permission a caller needs (rpc.MethodMetadata's
//     Permission; rpc.WithPermission at registration wins over it).
//
// For example:
//
//	// Transfer moves amount from one account to another.
//	//
//	// Errors:
//	//
//	//	-32042 the account is locked
//	//	-32043 the balance is too low
package main

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

func main() {
	if err := run(os.Args[1:]); err != nil {
		fmt.Fprintln(os.Stderr, "polyrpc-gen:", err)
		os.Exit(1)
	}
}

// run parses the command line and writes the file.
func run(args []string) error {
	fs := flag.NewFlagSet("polyrpc-gen", flag.ContinueOnError)
	types := fs.String("type", "", "comma-separated names of the service types (required)")
	output := fs.String("output", "", "output file name; default <first type, lowercased>_rpcmeta.go")
	dir := fs.String("dir", ".", "directory of the package to read")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *types == "" || fs.NArg() > 0 {
		fs.Usage()
		return fmt.Errorf("-type is required and no other arguments are taken")
	}
	names := strings.Split(*types, ",")
	src, err := Generate(*dir, names, args)
	if err != nil {
		return err
	}
	out := *output
	if out == "" {
		out = OutputName(names)
	}
	return os.WriteFile(filepath.Join(*dir, out), src, 0o644)
}

// OutputName is the default file name for the types: service_rpcmeta.go for Service.
func OutputName(types []string) string {
	return strings.ToLower(types[0]) + "_rpcmeta.go"
}
