// Command webchatid is the operator's tool for sites that use webchatid:
// keys for IBM's Security tab, a token check the way IBM does it, the
// anonymous-ID ledger and erasure of a customer's data at IBM.
//
//	go install github.com/webchatid/webchatid/cmd/webchatid@latest
//	webchatid help
//
// Exit status: 0 on success, 1 when the command fails (a check failed, a
// store or IBM refused), 2 for bad usage.
package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Stdin, os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

// Exit codes.
const (
	exitOK    = 0
	exitFail  = 1
	exitUsage = 2
)

// stdio is where a command reads and writes.
type stdio struct {
	in       io.Reader
	out, err io.Writer
}

// A command is one subcommand: webchatid NAME ARGS.
type command struct {
	name    string
	args    string // the usage line's arguments
	summary string // one line for the command list
	run     func(ctx context.Context, args []string, io stdio) int
}

// commands lists the subcommands in the order help shows them.
var commands = []command{
	{"ledger", "-ledger DSN list|forget|export|prune ...", "the anonymous-ID ledger: list, export, forget, prune", runLedger},
	{"erase", "-ledger DSN [-dry-run] CUSTOM_USER_ID", "delete a user's data at IBM, then forget it in the ledger", runErase},
}

func usage(w io.Writer) {
	fmt.Fprint(w, "usage: webchatid COMMAND [FLAGS] [ARGS]\n\ncommands:\n")
	for _, c := range commands {
		fmt.Fprintf(w, "  %-12s %s\n", c.name, c.summary)
	}
	fmt.Fprint(w, "\nRun 'webchatid COMMAND -h' for a command's flags.\n")
}

func run(ctx context.Context, args []string, in io.Reader, out, errOut io.Writer) int {
	if len(args) == 0 {
		usage(errOut)
		return exitUsage
	}
	switch args[0] {
	case "help", "-h", "-help", "--help":
		usage(out)
		return exitOK
	}
	for _, c := range commands {
		if c.name == args[0] {
			return c.run(ctx, args[1:], stdio{in: in, out: out, err: errOut})
		}
	}
	fmt.Fprintf(errOut, "webchatid: unknown command %q\n", args[0])
	usage(errOut)
	return exitUsage
}
