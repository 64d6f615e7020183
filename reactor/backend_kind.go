package reactor

// Backend names a kernel interface for the loops.
type Backend string

// Backends. The environment variable RINGO_BACKEND=auto|uring|epoll
// overrides the default (auto); an explicit WithBackend option wins over it.
const (
	BackendAuto  Backend = "auto"
	BackendUring Backend = "uring"
	BackendEpoll Backend = "epoll"
)

// EnvBackend is the environment variable that selects the backend.
const EnvBackend = "RINGO_BACKEND"
