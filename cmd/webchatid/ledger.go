package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/webchatid/webchatid/identity/ledger"
	"github.com/webchatid/webchatid/identity/ledger/ledgerdsn"
)

const ledgerUsage = `usage: webchatid ledger -ledger DSN COMMAND [ARGS]

commands:
  list CUSTOM_USER_ID                anonymous IDs linked to the user (JSON lines)
  forget CUSTOM_USER_ID [ANON_ID...] remove the user's links (all, or those given)
                                     and every ID left without a link; prints the removed rows
  forget '' ANON_ID...               remove those IDs if linked to nobody (a visitor who
                                     never logged in); prints the removed rows
  export                             every row (JSON lines)
  prune -older-than AGE | -before TIME
                                     remove the IDs linked to nobody and not seen since
                                     AGE ago (45d, 36h) or TIME (RFC 3339)

Run forget only after IBM confirmed the deletion of those customer_ids
('webchatid erase' does both, in order). Every row is a JSON line:
{"anonymous_id":"anon-…","custom_user_id":"…","first_seen":"…","last_seen":"…"}

DSN: memory | sqlite:PATH (must exist) | postgres://USER:PASS@HOST:PORT/DB?sslmode=...
`

var ledgerCmd = command{
	name:    "ledger",
	args:    "-ledger DSN list|forget|export|prune ...",
	summary: "the anonymous-ID ledger: list, export, forget, prune",
	help:    ledgerUsage,
}

// errUsage marks a usage error: exit status 2.
var errUsage = errors.New("usage")

// openFunc opens a ledger named by a DSN; ledgerdsn.Open, or a test's.
type openFunc func(ctx context.Context, dsn string) (ledger.Ledger, func() error, error)

// row is one JSON line.
type row struct {
	AnonymousID  string    `json:"anonymous_id"`
	CustomUserID string    `json:"custom_user_id"`
	FirstSeen    time.Time `json:"first_seen"`
	LastSeen     time.Time `json:"last_seen"`
}

func runLedger(ctx context.Context, args []string, std stdio) int {
	return ledgerCommand{open: ledgerdsn.Open, now: time.Now}.run(ctx, args, std)
}

// ledgerCommand is webchatid ledger, with its ledger opener and clock.
type ledgerCommand struct {
	open openFunc
	now  func() time.Time
}

func (c ledgerCommand) run(ctx context.Context, args []string, std stdio) int {
	fs := ledgerCmd.flags()
	dsn := fs.String("ledger", "", "the ledger `DSN`: memory, sqlite:PATH or postgres://… (required)")
	if code, ok := ledgerCmd.parse(fs, args, std); !ok {
		return code
	}
	return ledgerCmd.exit(std, c.command(ctx, *dsn, fs.Args(), std))
}

func (c ledgerCommand) command(ctx context.Context, dsn string, args []string, std stdio) (err error) {
	if err := checkDSN(dsn); err != nil {
		return err
	}
	if len(args) == 0 {
		return fmt.Errorf("%w: no command", errUsage)
	}
	cmd, args := args[0], args[1:]
	var cutoff time.Time
	switch {
	case cmd == "prune":
		if cutoff, err = c.pruneCutoff(args); err != nil {
			return err
		}
	case cmd == "list" || cmd == "forget" || cmd == "export":
		// list takes one CUSTOM_USER_ID, forget one or more IDs, export none.
		if n := len(args); cmd == "list" && n != 1 || cmd == "forget" && n == 0 || cmd == "export" && n != 0 {
			return fmt.Errorf("%w: wrong number of arguments for %s", errUsage, cmd)
		}
	default:
		return fmt.Errorf("%w: unknown command %q", errUsage, cmd)
	}
	if (cmd == "list" || cmd == "forget" && len(args) == 1) && args[0] == "" {
		return fmt.Errorf("%w: empty CUSTOM_USER_ID", errUsage)
	}

	l, closeLedger, err := openLedger(ctx, dsn, c.open)
	if err != nil {
		return err
	}
	defer func() {
		if cerr := closeLedger(); cerr != nil && err == nil {
			err = fmt.Errorf("close ledger: %w", cerr)
		}
	}()

	enc := json.NewEncoder(std.out)
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
			fmt.Fprintf(std.err, "webchatid ledger: no anonymous IDs linked to %q\n", args[0])
		}
	case "forget":
		return forget(ctx, l, args[0], args[1:], write, std.err)
	case "export":
		return l.Export(ctx, write)
	case "prune":
		n, err := l.Prune(ctx, cutoff)
		if err != nil {
			return fmt.Errorf("prune: %w", err)
		}
		fmt.Fprintf(std.err, "webchatid ledger: pruned %d anonymous ID(s) linked to nobody and not seen since %s\n", n, cutoff.UTC().Format(time.RFC3339))
	}
	return nil
}

// forget removes user's links (only's, if any) and prints the rows removed.
func forget(ctx context.Context, l ledger.Ledger, user string, only []string, write func(ledger.Entry) error, stderr io.Writer) error {
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
		fmt.Fprintf(stderr, "webchatid ledger: forgot %d anonymous ID(s) linked to nobody\n", n)
	} else {
		fmt.Fprintf(stderr, "webchatid ledger: forgot %d link(s) of %q\n", n, user)
	}
	return nil
}

// pruneCutoff parses prune's flags: exactly one of -older-than and -before.
func (c ledgerCommand) pruneCutoff(args []string) (time.Time, error) {
	fs := flag.NewFlagSet("webchatid ledger prune", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	olderThan := fs.String("older-than", "", "")
	before := fs.String("before", "", "")
	if err := fs.Parse(args); err != nil {
		return time.Time{}, fmt.Errorf("%w: prune: %v", errUsage, err)
	}
	switch {
	case fs.NArg() > 0:
		return time.Time{}, fmt.Errorf("%w: prune takes no arguments, only -older-than or -before", errUsage)
	case (*olderThan == "") == (*before == ""):
		return time.Time{}, fmt.Errorf("%w: prune needs one of -older-than AGE and -before TIME", errUsage)
	case *before != "":
		t, err := time.Parse(time.RFC3339, *before)
		if err != nil {
			return time.Time{}, fmt.Errorf("%w: prune -before %q: want an RFC 3339 time such as 2026-05-01T00:00:00Z", errUsage, *before)
		}
		return t, nil
	}
	age, err := parseAge(*olderThan)
	if err != nil {
		return time.Time{}, fmt.Errorf("%w: prune -older-than %q: %v", errUsage, *olderThan, err)
	}
	return c.now().Add(-age), nil
}

// parseAge parses a positive age: whole days (45d) or a Go duration (36h).
func parseAge(s string) (time.Duration, error) {
	var d time.Duration
	if days, ok := strings.CutSuffix(s, "d"); ok {
		n, err := strconv.Atoi(days)
		if err != nil || n > 100*365 {
			return 0, errors.New("want whole days (45d) or a duration (36h)")
		}
		d = time.Duration(n) * 24 * time.Hour
	} else {
		var err error
		if d, err = time.ParseDuration(s); err != nil {
			return 0, errors.New("want whole days (45d) or a duration (36h)")
		}
	}
	if d <= 0 {
		return 0, errors.New("want an age above zero")
	}
	return d, nil
}

// checkDSN refuses a missing or malformed -ledger, without its password.
func checkDSN(dsn string) error {
	if dsn == "" {
		return fmt.Errorf("%w: -ledger is required", errUsage)
	}
	if ledgerdsn.Kind(dsn) == "" {
		return fmt.Errorf("%w: -ledger %q: want memory, sqlite:PATH or postgres://…", errUsage, ledgerdsn.Redact(dsn))
	}
	return nil
}

// openLedger opens dsn with open. A sqlite:PATH ledger must exist:
// ledgerdsn.Open creates a missing file, so a mistyped path would read as an
// empty ledger, and a privacy request be answered "nothing".
func openLedger(ctx context.Context, dsn string, open openFunc) (ledger.Ledger, func() error, error) {
	if path, ok := strings.CutPrefix(dsn, "sqlite:"); ok && path != "" {
		if _, err := os.Stat(path); err != nil {
			return nil, nil, fmt.Errorf("no ledger at %s: %w", path, err)
		}
	}
	return open(ctx, dsn)
}
