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
}
