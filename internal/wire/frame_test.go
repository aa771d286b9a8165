package wire

import (
	"bytes"
	"encoding/binary"
	"io"
	"math/rand/v2"
	"testing"
)

// chunkReader returns at most a random few bytes per Read, as a socket may.
type chunkReader struct {
	r   io.Reader
	rnd *rand.Rand
	max int
}

func (c *chunkReader) Read(p []byte) (int, error) {
	n := 1 + c.rnd.IntN(c.max)
	return c.r.Read(p[:min(len(p), n)])
}

// TestMsgReaderGrowShrinkKeepsStream grows the read buffer mid-stream and shrinks it back at
// various points, over reads of various sizes: every message must come out whole and in order,
// and the buffer must be the regular one again once drained.
func TestMsgReaderGrowShrinkKeepsStream(t *testing.T) {
	var stream bytes.Buffer
	var want [][]byte
	rnd := rand.New(rand.NewPCG(1, 2))
	for i := range 3000 {
		body := make([]byte, rnd.IntN(300))
		if i%500 == 7 {
			body = make([]byte, 40<<10) // larger than the regular buffer
		}
		for j := range body {
			body[j] = byte(i + j)
		}
		want = append(want, body)
		stream.WriteByte('D')
		stream.Write(binary.BigEndian.AppendUint32(nil, uint32(4+len(body))))
		stream.Write(body)
	}
	for _, c := range []struct {
		name            string
		growAt, shrinkN int // grow before message growAt; try to shrink every shrinkN messages
		maxRead         int
		regrow          bool // grow again after each shrink: a pooled buffer holding old bytes
	}{
		{"grow at the first message, whole reads", 0, 0, 1 << 20, false},
		{"grow mid-stream, small reads", 100, 0, 700, false},
		{"grow mid-stream, shrink when drained, byte reads", 50, 3, 1, false},
		{"grow late, shrink often, mixed reads", 2500, 1, 9000, false},
		{"grow again after every shrink, mixed reads", 10, 1, 5000, true},
	} {
		t.Run(c.name, func(t *testing.T) {
			src := &chunkReader{r: bytes.NewReader(stream.Bytes()), rnd: rand.New(rand.NewPCG(3, 4)), max: c.maxRead}
			r := newMsgReader(src, 1<<20)
			grown, shrunk := false, false
			for i, w := range want {
				typ, err := r.next()
				if err != nil || typ != 'D' {
					t.Fatalf("message %d: next() = %q, %v", i, typ, err)
				}
				if i >= c.growAt && r.small == nil && (!shrunk || c.regrow) {
					r.grow(rowReadBufSize)
					grown = r.small != nil
				}
				body, err := r.load()
				if err != nil || !bytes.Equal(body, w) {
					t.Fatalf("message %d: load() = %d bytes, %v; want %d bytes", i, len(body), err, len(w))
				}
				if c.shrinkN > 0 && i%c.shrinkN == 0 && r.small != nil {
					r.shrink()
					shrunk = shrunk || r.small == nil
				}
			}
			if _, err := r.next(); err != io.EOF {
				t.Fatalf("after the stream: next() = %v, want EOF", err)
			}
			if !grown {
				t.Fatal("the buffer never grew")
			}
			if r.shrink(); r.small != nil || r.br.Size() != readBufSize {
				t.Fatalf("drained: buffer of %d bytes, want the regular %d", r.br.Size(), readBufSize)
			}
		})
	}
}

// A grown writer writes through the regular one: bytes the regular one held before keep their
// place, flush empties both and gives the grown buffer back, and a later grow may reuse a pooled
// buffer that still holds old bytes.
func TestMsgWriterGrowKeepsStream(t *testing.T) {
	var out, want bytes.Buffer
	w := newMsgWriter(&out)
	rnd := rand.New(rand.NewPCG(5, 6))
	for round := range 20 {
		for i := range 2000 {
			p := make([]byte, rnd.IntN(700))
			for j := range p {
				p[j] = byte(round + i + j)
			}
			if i == 3*round {
				w.grow(rowReadBufSize)
				if w.bw.Size() != rowReadBufSize || w.small == nil {
					t.Fatalf("round %d: after grow the buffer holds %d bytes, small %v", round, w.bw.Size(), w.small != nil)
				}
			}
			if err := w.write(p); err != nil {
				t.Fatal(err)
			}
			want.Write(p)
		}
		if err := w.flush(); err != nil {
			t.Fatal(err)
		}
		if w.small != nil || w.bw.Size() != writeBufSize || w.buffered() != 0 {
			t.Fatalf("round %d: after flush: small %v, size %d, buffered %d", round, w.small != nil, w.bw.Size(), w.buffered())
		}
		if !bytes.Equal(out.Bytes(), want.Bytes()) {
			t.Fatalf("round %d: stream differs (%d bytes written, %d wanted)", round, out.Len(), want.Len())
		}
	}
}

// forwardRun passes a run of same-type messages through as bytes: over reads of any size the
// output is the input, every other message still comes out of next, messages larger than the
// buffer go through whole, and the byte count covers the whole run.
func TestMsgReaderForwardRunKeepsStream(t *testing.T) {
	var stream bytes.Buffer
	rnd := rand.New(rand.NewPCG(7, 8))
	others := 0
	for i := range 4000 {
		typ, body := byte('D'), make([]byte, rnd.IntN(200))
		switch {
		case i%97 == 5:
			typ, others = 'C', others+1
		case i%700 == 11:
			body = make([]byte, 40<<10) // larger than the regular buffer
		}
		for j := range body {
			body[j] = byte(i * j)
		}
		stream.WriteByte(typ)
		stream.Write(binary.BigEndian.AppendUint32(nil, uint32(4+len(body))))
		stream.Write(body)
	}
	for _, maxRead := range []int{1, 300, 5000, 1 << 20} {
		var out bytes.Buffer
		src := &chunkReader{r: bytes.NewReader(stream.Bytes()), rnd: rand.New(rand.NewPCG(9, 10)), max: maxRead}
		r, w := newMsgReader(src, 1<<20), newMsgWriter(&out)
		seen, calls := 0, 0
		for {
			typ, err := r.next()
			if err == io.EOF {
				break
			}
			if err != nil {
				t.Fatal(err)
			}
			calls++
			if typ == 'D' {
				err = r.forwardRun(w)
			} else {
				seen++
				err = r.forward(w)
			}
			if err != nil {
				t.Fatal(err)
			}
		}
		if err := w.flush(); err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(out.Bytes(), stream.Bytes()) || r.bytes != int64(stream.Len()) {
			t.Fatalf("reads of up to %d bytes: %d bytes out, %d counted, want %d", maxRead, out.Len(), r.bytes, stream.Len())
		}
		if seen != others {
			t.Fatalf("reads of up to %d bytes: next returned %d other messages, want %d", maxRead, seen, others)
		}
		if maxRead == 1<<20 && calls > 400 {
			t.Fatalf("whole reads: %d calls for 4,000 messages; runs were not forwarded together", calls)
		}
	}
}
