package main

import (
	"io"
	"log/slog"
)

type slogLogger = slog.Logger

func newQuiet() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }
