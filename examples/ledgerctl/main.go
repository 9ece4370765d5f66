// Command ledgerctl answers privacy requests from the anonymous-ID ledger
// that identity.Server keeps (see package ledger's Ledger).
//
// Usage:
//
//	ledgerctl -ledger DSN list CUSTOM_USER_ID              anonymous IDs linked to a user
//	ledgerctl -ledger DSN forget CUSTOM_USER_ID [ANON_ID…] remove a user's links and IDs
//	ledgerctl -ledger DSN forget '' ANON_ID…               remove IDs linked to nobody
//	ledgerctl -ledger DSN export                           every row
//
// DSN is memory, sqlite:PATH or postgres://… (package ledgerdsn). Every
// command writes JSON lines to stdout, one object per ledger row:
//
//	{"anonymous_id":"anon-…","custom_user_id":"customer-42","first_seen":"2026-05-01T10:00:00Z","last_seen":"2026-05-03T08:12:44.5Z"}
//
// forget prints the rows it removed. Run it only after IBM confirmed the
// deletion of those customer_ids (ledger.Eraser does both in order).
// An anonymous ID shared with another user is kept for that user. With an
// empty CUSTOM_USER_ID it removes those of the given anonymous IDs that are
// linked to nobody: a visitor who never logged in, known by their cookie.
//
// A sqlite:PATH ledger must exist (a mistyped path is an error, not an empty
// ledger).
//
// Exit status: 0 on success, 1 when the ledger fails, 2 for bad usage.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"slices"
	"strings"
	"time"

	"github.com/webchatid/webchatid/identity/ledger"
	"github.com/webchatid/webchatid/identity/ledger/ledgerdsn"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	code := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

const usage = `usage: ledgerctl -ledger DSN COMMAND [ARGS]

commands:
  list CUSTOM_USER_ID                anonymous IDs linked to the user (JSON lines)
  forget CUSTOM_USER_ID [ANON_ID...] remove the user's links (all, or those given)
                                     and every ID left without a link; prints the removed rows
  forget '' ANON_ID...               remove those IDs if linked to nobody (a visitor who
                                     never logged in); prints the removed rows
  export                             every row (JSON lines)

DSN: memory | sqlite:PATH | postgres://USER:PASS@HOST:PORT/DB?sslmode=...
`

// errUsage marks a usage error: exit status 2.
var errUsage = errors.New("usage")

// row is one JSON line.
type row struct {
	AnonymousID  string    `json:"anonymous_id"`
	CustomUserID string    `json:"custom_user_id"`
	FirstSeen    time.Time `json:"first_seen"`
	LastSeen     time.Time `json:"last_seen"`
}

// run is the program without its process: it returns the exit status.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("ledgerctl", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprint(stderr, usage, "\nflags:\n")
		fs.PrintDefaults()
	}
	dsn := fs.String("ledger", "", "the ledger: memory, sqlite:PATH or postgres://… (required)")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return 2
	}
	err := command(ctx, *dsn, fs.Args(), stdout, stderr)
	switch {
	case err == nil:
		return 0
	case errors.Is(err, errUsage):
		fmt.Fprintf(stderr, "ledgerctl: %v\n\n%s", err, usage)
		return 2
	default:
		fmt.Fprintf(stderr, "ledgerctl: %v\n", err)
		return 1
	}
}

func command(ctx context.Context, ledgerDSN string, args []string, stdout, stderr io.Writer) (err error) {
	if ledgerDSN == "" {
		return fmt.Errorf("%w: -ledger is required", errUsage)
	}
	if ledgerdsn.Kind(ledgerDSN) == "" {
		return fmt.Errorf("%w: -ledger %q: want memory, sqlite:PATH or postgres://…", errUsage, ledgerdsn.Redact(ledgerDSN))
	}
	if len(args) == 0 {
		return fmt.Errorf("%w: no command", errUsage)
	}
	cmd, args := args[0], args[1:]
	switch {
	case cmd == "list" && len(args) == 1, cmd == "forget" && len(args) >= 1, cmd == "export" && len(args) == 0:
	case cmd == "list" || cmd == "forget" || cmd == "export":
		return fmt.Errorf("%w: wrong number of arguments for %s", errUsage, cmd)
	default:
		return fmt.Errorf("%w: unknown command %q", errUsage, cmd)
	}
	if (cmd == "list" || cmd == "forget" && len(args) == 1) && args[0] == "" {
		return fmt.Errorf("%w: empty CUSTOM_USER_ID", errUsage)
	}

	// ledgerdsn.Open creates a missing SQLite file: a mistyped path would
	// read as an empty ledger, and a privacy request be answered "nothing".
	if path, ok := strings.CutPrefix(ledgerDSN, "sqlite:"); ok && path != "" {
		if _, err := os.Stat(path); err != nil {
			return fmt.Errorf("no ledger at %s: %w", path, err)
		}
	}
	l, closeLedger, err := ledgerdsn.Open(ctx, ledgerDSN)
	if err != nil {
		return err
	}
	defer func() {
		if cerr := closeLedger(); cerr != nil && err == nil {
			err = fmt.Errorf("close ledger: %w", cerr)
		}
	}()

	enc := json.NewEncoder(stdout)
	write := func(e ledger.Entry) error {
		return enc.Encode(row{e.AnonymousID, e.CustomUserID, e.FirstSeen, e.LastSeen})
	}
	switch cmd {
	case "list":
		entries, err := l.Lookup(ctx, args[0])
		if err != nil {
			return err
		}
		for _, e := range entries {
			if err := write(e); err != nil {
				return err
			}
		}
		if len(entries) == 0 {
			fmt.Fprintf(stderr, "ledgerctl: no anonymous IDs linked to %q\n", args[0])
		}
	case "forget":
		user, only := args[0], args[1:]
		entries, err := l.Lookup(ctx, user)
		if user == "" { // IDs linked to nobody: Lookup cannot list them
			err = l.Export(ctx, func(e ledger.Entry) error {
				if e.CustomUserID == "" {
					entries = append(entries, e)
				}
				return nil
			})
		}
		if err != nil {
			return err
		}
		if err := l.Forget(ctx, user, only...); err != nil {
			return err
		}
		n := 0
		for _, e := range entries {
			if len(only) == 0 || slices.Contains(only, e.AnonymousID) {
				n++
				if err := write(e); err != nil {
					return err
				}
			}
		}
		if user == "" {
			fmt.Fprintf(stderr, "ledgerctl: forgot %d anonymous ID(s) linked to nobody\n", n)
		} else {
			fmt.Fprintf(stderr, "ledgerctl: forgot %d link(s) of %q\n", n, user)
		}
	case "export":
		return l.Export(ctx, write)
	}
	return nil
}
