package migrate

import (
	"fmt"
	"io"
	"os"
	"time"
)

// progress reports rows done, rows/s and the ETA: a line rewritten in place (\r) on a terminal,
// a plain log line every few seconds otherwise. A nil *progress reports nothing.
type progress struct {
	w       io.Writer
	tty     bool
	label   string
	total   int64
	done    int64
	start   time.Time
	last    time.Time
	every   time.Duration
	now     func() time.Time
	printed bool
}

// IsTerminal reports whether w is a character device (a terminal), as the progress bar needs.
func IsTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	st, err := f.Stat()
	return err == nil && st.Mode()&os.ModeCharDevice != 0
}

func newProgress(w io.Writer, label string, total int64) *progress {
	if w == nil {
		return nil
	}
	p := &progress{w: w, tty: IsTerminal(w), label: label, total: total, now: time.Now}
	p.start, p.last = p.now(), p.now()
	p.every = 5 * time.Second
	if p.tty {
		p.every = 200 * time.Millisecond
	}
	return p
}

func (p *progress) add(n int64) {
	if p == nil {
		return
	}
	p.done += n
	if now := p.now(); now.Sub(p.last) >= p.every {
		p.last = now
		p.print(false)
	}
}

// line formats the current state.
func (p *progress) line() string {
	el := p.now().Sub(p.start).Seconds()
	rate := 0.0
	if el > 0 {
		rate = float64(p.done) / el
	}
	s := fmt.Sprintf("%s: %d", p.label, p.done)
	if p.total > 0 {
		pct := 100 * float64(p.done) / float64(p.total)
		s += fmt.Sprintf("/%d rows (%.0f%%)", p.total, min(pct, 100))
	} else {
		s += " rows"
	}
	s += fmt.Sprintf(", %.0f rows/s", rate)
	if p.total > p.done && rate > 0 {
		s += ", ETA " + (time.Duration(float64(p.total-p.done)/rate) * time.Second).Round(time.Second).String()
	}
	return s
}

func (p *progress) print(final bool) {
	if p.tty {
		end := ""
		if final {
			end = "\n"
		}
		fmt.Fprintf(p.w, "\r\033[K%s%s", p.line(), end)
	} else {
		fmt.Fprintln(p.w, p.line())
	}
	p.printed = true
}

// logf prints a message on its own line (ending a \r line first).
func (p *progress) logf(format string, args ...any) {
	if p == nil {
		return
	}
	if p.tty && p.printed {
		fmt.Fprint(p.w, "\r\033[K")
	}
	fmt.Fprintf(p.w, format+"\n", args...)
}

func (p *progress) finish() {
	if p == nil {
		return
	}
	p.print(true)
}
