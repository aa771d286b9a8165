package migrate

import (
	"io"
	"time"
)

// Options are the knobs every shadow-column migration (Encrypt, Decrypt) shares.
type Options struct {
	Batch  int  // rows per batch and transaction; default 1000
	DryRun bool // print the plan, change nothing

	// Progress receives the progress bar or log lines; nil reports nothing.
	Progress io.Writer
	// CatchUpThreshold: the catch-up sweeps stop when one finds at most this many changed rows;
	// the rest is done under the cut-over lock. Default: Batch.
	CatchUpThreshold int64
	// LockTimeout bounds each wait for the cut-over's exclusive lock (default 2s); the cut-over
	// is retried LockRetries times (default 10), with a catch-up sweep in between.
	LockTimeout time.Duration
	LockRetries int
	// AfterBatch, when set, is called after each committed backfill batch with the number of
	// batches so far (tests cancel the run's context with it to simulate a kill).
	AfterBatch func(batches int)
}

func (o *Options) defaults() {
	if o.Batch <= 0 {
		o.Batch = 1000
	}
	if o.CatchUpThreshold <= 0 {
		o.CatchUpThreshold = int64(o.Batch)
	}
	if o.LockTimeout <= 0 {
		o.LockTimeout = 2 * time.Second
	}
	if o.LockRetries <= 0 {
		o.LockRetries = 10
	}
}

// Report says what a migration did (or, with DryRun, would do).
type Report struct {
	Table          string   `json:"table"`
	Column         string   `json:"column"`
	Operation      string   `json:"operation"`
	DryRun         bool     `json:"dry_run,omitempty"`
	AlreadyDone    bool     `json:"already_done,omitempty"`
	Resumed        bool     `json:"resumed,omitempty"`
	Rows           int64    `json:"rows"`            // rows in the table (estimate for large ones)
	Backfilled     int64    `json:"backfilled"`      // rows read by the backfill in this run
	Skipped        int64    `json:"skipped"`         // rows changed between read and write (redone later)
	Swept          int64    `json:"swept"`           // rows redone by catch-up sweeps
	FinalSwept     int64    `json:"final_swept"`     // rows redone under the cut-over lock
	LockAttempts   int      `json:"lock_attempts"`   // cut-over attempts
	CutoverMillis  int64    `json:"cutover_ms"`      // time the exclusive lock was held
	Seconds        float64  `json:"seconds"`         // whole run
	RowsPerSecond  float64  `json:"rows_per_second"` // backfill rate
	Statements     []string `json:"statements"`      // DDL run (or planned)
	ConvertedIndex []string `json:"converted_indexes,omitempty"`
	DroppedIndex   []string `json:"dropped_indexes,omitempty"`
	EstimatedSecs  float64  `json:"estimated_seconds,omitempty"` // dry run
}
