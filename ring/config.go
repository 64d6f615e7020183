package ring

// Config chooses the size and setup flags of a Ring. The zero value is valid.
type Config struct {
	// Entries is the SQ size, rounded up to a power of two; 0 means 256.
	// At most 32768.
	Entries uint32
	// CQEntries is the CQ size (rounded up to a power of two by the kernel);
	// 0 means 4*Entries, so the CQ does not overflow in normal use.
	// Must be >= Entries and at most 65536.
	CQEntries uint32
	// Require lists setup flags New must use: it fails instead of degrading
	// when the kernel refuses one of them.
	Require uint32
	// Disable lists setup flags New must never try (used to mask features,
	// for example SetupSingleIssuer|SetupDeferTaskrun for a ring driven from
	// a goroutine that is not locked to its OS thread).
	Disable uint32
	// DisableExtArg makes the ring behave as if the kernel lacked
	// IORING_FEAT_EXT_ARG (5.11): SubmitAndWaitTimeout then waits with an
	// internal TIMEOUT SQE, as on older kernels. For tests, and for
	// reproducing pre-5.11 behaviour on a newer kernel. FeatFlags still
	// reports what the kernel offers; UsesExtArg reports the choice.
	DisableExtArg bool
	// DisableMinWait makes the ring behave as if the kernel lacked
	// IORING_FEAT_MIN_TIMEOUT (6.12): SubmitAndWaitMin then waits for one
	// CQE, as SubmitAndWaitTimeout(1, d) does. Implied by DisableExtArg.
	DisableMinWait bool
}
