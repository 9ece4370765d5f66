// Command webchatid is the operator's tool for sites that use webchatid:
// keys for IBM's Security tab, a token check the way IBM does it, the
// anonymous-ID ledger and erasure of a customer's data at IBM.
//
//	go install github.com/webchatid/webchatid/cmd/webchatid@latest
//	webchatid help
//	webchatid help doctor
//
// The subcommands:
//
//   - keygen writes a new RSA private key (PKCS#8 PEM, mode 0600, never
//     over an existing file) and prints its public half, ready to paste
//     into web chat's Security tab, with the kid and SHA-256 fingerprint
//     the server logs for it:
//
//     webchatid keygen -out key.pem
//
//   - fingerprint prints the kid and fingerprint of each key file, private
//     or public, so the key IBM holds can be matched with the one the
//     server signs with:
//
//     webchatid fingerprint key.pem ibm-security-tab.pem
//
//   - doctor checks a token the way IBM will (alg, signature, exp, iat,
//     sub, the claims the target expects, user_payload) and prints one line
//     per check, never the token or what its payload holds:
//
//     webchatid doctor -url http://127.0.0.1:3001/createJWT -jwks http://127.0.0.1:3001/.well-known/jwks.json
//     webchatid doctor -ibm-key public.pem -payload-key ibm-private.pem - < token.txt
//
//   - ledger lists, exports, forgets and prunes the anonymous-ID ledger
//     (JSON lines, one per row):
//
//     webchatid ledger -ledger sqlite:ledger.db list cade-id
//     webchatid ledger -ledger sqlite:ledger.db prune -older-than 45d
//
//   - erase deletes a user's data at IBM through ledger.Eraser, paced to
//     IBM's limit, and forgets in the ledger only what IBM confirmed:
//
//     webchatid erase -ledger sqlite:ledger.db cade-id
//
// Each subcommand's -h lists its flags.
//
// Exit status: 0 on success, 1 when the command fails (a check failed, a
// store or IBM refused), 2 for bad usage.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
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
	help    string // when set, -h prints it instead of the usage line and summary
	run     func(ctx context.Context, args []string, io stdio) int
}

// commands lists the subcommands in the order help shows them.
var commands = []command{
	keygenCmd.with(runKeygen),
	fingerprintCmd.with(runFingerprint),
	doctorCmd.with(runDoctor),
	ledgerCmd.with(runLedger),
	eraseCmd.with(runErase),
}

// with returns c running run. A command's own file declares c without run,
// so that run may use c's name and usage without an initialization cycle.
func (c command) with(run func(ctx context.Context, args []string, io stdio) int) command {
	c.run = run
	return c
}

// flags makes the flag set of command c. Parse it with parse.
func (c command) flags() *flag.FlagSet {
	fs := flag.NewFlagSet("webchatid "+c.name, flag.ContinueOnError)
	fs.Usage = func() {} // parse prints usage where it belongs
	return fs
}

// parse parses args with fs, the flag set of c. It returns ok when the
// command should go on; otherwise code is the exit status: help asked for
// with -h goes to stdout (exit 0), a usage error to stderr (exit 2).
func (c command) parse(fs *flag.FlagSet, args []string, io stdio) (code int, ok bool) {
	fs.SetOutput(io.err)
	err := fs.Parse(args)
	switch {
	case err == nil:
		return exitOK, true
	case errors.Is(err, flag.ErrHelp):
		c.usage(fs, io.out)
		return exitOK, false
	default: // flag has printed the error
		c.usage(fs, io.err)
		return exitUsage, false
	}
}

// usage prints the usage line and the summary (or the help) and the flags of c.
func (c command) usage(fs *flag.FlagSet, w io.Writer) {
	if c.help != "" {
		fmt.Fprint(w, c.help)
	} else {
		fmt.Fprintf(w, "usage: webchatid %s %s\n\n%s.\n", c.name, c.args, strings.ToUpper(c.summary[:1])+c.summary[1:])
	}
	n := 0
	fs.VisitAll(func(*flag.Flag) { n++ })
	if n > 0 {
		fmt.Fprint(w, "\nflags:\n")
		out := fs.Output()
		fs.SetOutput(w)
		fs.PrintDefaults()
		fs.SetOutput(out)
	}
}

// usageError reports bad usage of c on stderr and returns exitUsage.
func (c command) usageError(io stdio, format string, args ...any) int {
	fmt.Fprintf(io.err, "webchatid %s: %s\n", c.name, fmt.Sprintf(format, args...))
	fmt.Fprintf(io.err, "usage: webchatid %s %s (see -h)\n", c.name, c.args)
	return exitUsage
}

// fail reports a failure of c on stderr and returns exitFail.
func (c command) fail(io stdio, format string, args ...any) int {
	fmt.Fprintf(io.err, "webchatid %s: %s\n", c.name, fmt.Sprintf(format, args...))
	return exitFail
}

// exit reports err of c on stderr and returns the exit status: exitOK for
// nil; exitUsage, followed by c's help, for an errUsage; else exitFail.
func (c command) exit(io stdio, err error) int {
	switch {
	case err == nil:
		return exitOK
	case errors.Is(err, errUsage):
		fmt.Fprintf(io.err, "webchatid %s: %v\n\n%s", c.name, err, c.help)
		return exitUsage
	default:
		return c.fail(io, "%v", err)
	}
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
		if len(args) > 1 { // webchatid help COMMAND is COMMAND -h
			args = []string{args[1], "-h"}
			break
		}
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
