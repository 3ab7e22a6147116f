// Package logging builds the agent's logger: one JSON object per line on
// stderr, which journald stores as the message.
package logging

import (
	"io"
	"log/slog"
)

// New returns a JSON logger at the given level. Timestamps are kept (journald
// adds its own, but the JSON is also read outside journald, e.g. in tests).
func New(w io.Writer, level slog.Leveler) *slog.Logger {
	return slog.New(slog.NewJSONHandler(w, &slog.HandlerOptions{Level: level}))
}
