// Package hook lets the tests of the store packages (which must open a real
// database, and so cannot live in package sqlstore without giving its
// importers a driver) reach into a sqlstore.Store's writer. Package
// sqlstore sets these at init; nothing but tests calls them.
package hook

var (
	// OnBatch sets, on store s (a *sqlstore.Store), a function each writer
	// calls with a batch's size before committing it. Set it before the
	// first write.
	OnBatch func(s any, f func(n int))

	// OnGather sets, on store s, a function a writer calls when it starts
	// waiting out Options.CommitSpacing before a commit. Set it before
	// the first write.
	OnGather func(s any, f func())

	// Queued returns how many rows wait in s's queue.
	Queued func(s any) int

	// Closing reports whether Close has begun on s.
	Closing func(s any) bool

	// OnAdmitted sets, on store s, a function every method but Record,
	// Link, Close, Stats, DB and Dialect calls once it passed the open
	// check, before it touches the database. Set it before the first call.
	OnAdmitted func(s any, f func())

	// OnCloseWaits sets, on store s, a function Close calls once it has
	// refused new writes, just before it waits for the writes it had
	// already admitted. Set it before calling Close.
	OnCloseWaits func(s any, f func())
)
