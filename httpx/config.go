package httpx

import (
	"errors"
	"log/slog"
)

// Defaults for the Server limits (used when a field is zero).
const (
	DefaultMaxRequestLineBytes = 8 << 10
	DefaultMaxHeaderBytes      = 32 << 10
	DefaultMaxHeaderCount      = 100
	DefaultMaxBodyBytes        = 4 << 20
)

// ErrNoHandler is returned when Server.Handler is nil.
var ErrNoHandler = errors.New("httpx: Server.Handler is nil")

// buildConfig validates the server's settings and fills defaults.
func (s *Server) buildConfig() (*config, error) {
	cfg := &config{
		lim: limits{
			requestLine: s.MaxRequestLineBytes,
			headerBytes: s.MaxHeaderBytes,
			headerCount: s.MaxHeaderCount,
			body:        s.MaxBodyBytes,
		},
		logger: s.Logger,
	}
	if cfg.lim.requestLine <= 0 {
		cfg.lim.requestLine = DefaultMaxRequestLineBytes
	}
	if cfg.lim.headerBytes <= 0 {
		cfg.lim.headerBytes = DefaultMaxHeaderBytes
	}
	if cfg.lim.headerCount <= 0 {
		cfg.lim.headerCount = DefaultMaxHeaderCount
	}
	if cfg.lim.body <= 0 {
		cfg.lim.body = DefaultMaxBodyBytes
	}
	if cfg.logger == nil {
		cfg.logger = slog.Default()
	}
	cfg.holdMax = cfg.lim.requestLine + cfg.lim.headerBytes + 64<<10
	switch h := s.Handler.(type) {
	case nil:
		return nil, ErrNoHandler
	case HandlerFunc:
		if h == nil {
			return nil, ErrNoHandler
		}
		cfg.fast = h
	case *Adapter:
		if h == nil || h.h == nil {
			return nil, ErrNoHandler
		}
		cfg.adapter = h
		cfg.pool = newPool(h.maxHandlers, h.workerIdle)
	default:
		return nil, errors.New("httpx: unknown Handler type")
	}
	return cfg, nil
}
