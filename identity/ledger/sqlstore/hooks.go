package sqlstore

import "github.com/webchatid/webchatid/identity/ledger/sqlstore/internal/hook"

// Test hooks (package hook): set once here, used only by tests.
func init() {
	hook.OnBatch = func(s any, f func(int)) { s.(*Store).testHookBatch = f }
	hook.OnGather = func(s any, f func()) { s.(*Store).testHookGather = f }
	hook.Queued = func(s any) int { return len(s.(*Store).queue) }
	hook.OnAdmitted = func(s any, f func()) { s.(*Store).testHookAdmitted = f }
	hook.OnCloseWaits = func(s any, f func()) { s.(*Store).testHookCloseWaits = f }
	hook.Closing = func(s any) bool {
		st := s.(*Store)
		st.closeMu.RLock()
		defer st.closeMu.RUnlock()
		return st.closed
	}
}
