package value

import (
	"bytes"
	"context"
	"encoding/binary"
	"fmt"
	"math"
	"math/rand/v2"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgconn"

	"github.com/pgseal/pgseal/internal/pgtest"
)

// TestDecodeMatchesServerOnRandomValues feeds the server random binary values and random text
// literals (fixed seed) and checks that Decode reproduces every output byte.
func TestDecodeMatchesServerOnRandomValues(t *testing.T) {
	db := pgtest.New(t)
	conn := db.Conn(t)
	ctx := context.Background()
	rng := rand.New(rand.NewPCG(1, 2))
	for _, sess := range serverSessions {
		t.Run(sess.name, func(t *testing.T) {
			for _, q := range sess.sets {
				if _, err := conn.Exec(ctx, q); err != nil {
					t.Fatal(err)
				}
			}
			s := sessionFrom(t, conn)
			pc := conn.PgConn()
			for i := 0; i < 150; i++ {
				for _, typ := range []Type{Float4, Float8, Date, Timestamp, Timestamptz, Numeric} {
					checkBinaryAgainstServer(t, pc, s, typ, randomBinary(rng, typ))
				}
				checkAgainstServer(t, pc, s, Numeric, randomNumericText(rng))
				checkAgainstServer(t, pc, s, Float8, randomNumericText(rng))
				checkAgainstServer(t, pc, s, Timestamptz, randomTimestampText(rng))
			}
			for _, in := range transitionTimes(t, s) {
				checkAgainstServer(t, pc, s, Timestamptz, in)
			}
		})
	}
}

// checkBinaryAgainstServer sends a binary value and compares the server's text and binary output
// with Decode of our Encode of the same binary value.
func checkBinaryAgainstServer(t *testing.T, pc *pgconn.PgConn, s *Session, typ Type, in []byte) {
	t.Helper()
	sql := fmt.Sprintf("SELECT $1::%[1]s, $1::%[1]s", typ)
	res := pc.ExecParams(context.Background(), sql, [][]byte{in}, []uint32{typ.OID()}, []int16{1}, []int16{0, 1}).Read()
	plain, err := Encode(nil, typ, FormatBinary, in, s)
	if res.Err != nil {
		if err == nil {
			t.Errorf("Encode(%s, binary %x) succeeded, server says %v", typ, in, res.Err)
		}
		return
	}
	if err != nil {
		t.Errorf("Encode(%s, binary %x) = %v, want success", typ, in, err)
		return
	}
	if got, err := Decode(nil, typ, plain, FormatText, s); err != nil || !bytes.Equal(got, res.Rows[0][0]) {
		t.Errorf("Decode(%s, binary %x) text = %q, %v, want %q", typ, in, got, err, res.Rows[0][0])
	}
	if got, err := Decode(nil, typ, plain, FormatBinary, s); err != nil || !bytes.Equal(got, res.Rows[0][1]) {
		t.Errorf("Decode(%s, binary %x) binary = %x, %v, want %x", typ, in, got, err, res.Rows[0][1])
	}
}

func randomBinary(rng *rand.Rand, typ Type) []byte {
	switch typ {
	case Float4:
		if rng.IntN(2) == 0 {
			return binary.BigEndian.AppendUint32(nil, rng.Uint32())
		}
		return binary.BigEndian.AppendUint32(nil, math.Float32bits(float32(rng.IntN(1e7))/float32(math.Pow10(rng.IntN(9)))))
	case Float8:
		if rng.IntN(2) == 0 {
			return binary.BigEndian.AppendUint64(nil, rng.Uint64())
		}
		return binary.BigEndian.AppendUint64(nil, math.Float64bits(float64(rng.Int64N(1e15))/math.Pow10(rng.IntN(20))))
	case Date:
		return binary.BigEndian.AppendUint32(nil, uint32(int32(rng.Int64N(dateEndJulian)-postgresEpochJDate)))
	case Timestamp, Timestamptz:
		lo := minTimestamp
		v := int64(uint64(lo) + rng.Uint64N(uint64(endTimestamp)-uint64(lo)))
		if rng.IntN(2) == 0 { // 1850..2150, where zone rules matter
			v = -150*365*usecsPerDay + rng.Int64N(300*365*usecsPerDay)
		}
		return binary.BigEndian.AppendUint64(nil, uint64(v))
	}
	// Numeric: a random non-canonical binary value (padding zeros, digits beyond dscale).
	n := pgNumeric{sign: numericPos, weight: rng.IntN(12) - 6, dscale: rng.IntN(30)}
	if rng.IntN(3) == 0 {
		n.sign = numericNeg
	}
	for i := rng.IntN(8); i > 0; i-- {
		n.digits = append(n.digits, uint16(rng.IntN(nbase)))
	}
	return n.appendTo(nil)
}

func randomNumericText(rng *rand.Rand) string {
	var b strings.Builder
	if rng.IntN(3) == 0 {
		b.WriteByte('-')
	}
	for i := rng.IntN(25); i >= 0; i-- {
		b.WriteByte(byte('0' + rng.IntN(10)))
	}
	if rng.IntN(2) == 0 {
		b.WriteByte('.')
		for i := rng.IntN(25); i > 0; i-- {
			b.WriteByte(byte('0' + rng.IntN(10)))
		}
	}
	if rng.IntN(3) == 0 {
		fmt.Fprintf(&b, "e%d", rng.IntN(80)-40)
	}
	return b.String()
}

func randomTimestampText(rng *rand.Rand) string {
	return fmt.Sprintf("%04d-%02d-%02d %02d:%02d:%02d.%d", 1850+rng.IntN(300), 1+rng.IntN(12), 1+rng.IntN(28),
		rng.IntN(24), rng.IntN(60), rng.IntN(60), rng.IntN(1000000))
}

// transitionTimes returns local wall-clock times every 15 minutes around each UTC offset change of
// the session zone in 2024, so that gaps and repeated hours are covered.
func transitionTimes(t *testing.T, s *Session) []string {
	loc, err := s.location()
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	at := time.Date(2024, 1, 1, 0, 0, 0, 0, loc)
	for at.Year() == 2024 {
		_, end := at.ZoneBounds()
		if end.IsZero() || end.Year() != 2024 {
			break
		}
		// Step the wall clock, not the instant, so that skipped and repeated wall times occur.
		b := end.Add(-3 * time.Hour)
		wall := time.Date(b.Year(), b.Month(), b.Day(), b.Hour(), b.Minute(), 0, 0, time.UTC)
		for i := 0; i < 24; i++ {
			out = append(out, wall.Add(time.Duration(i)*15*time.Minute).Format("2006-01-02 15:04:05"))
		}
		at = end
	}
	return out
}
