package value

import (
	"encoding/binary"
	"math"
	"strconv"
)

var (
	int2Codec = intCodec(Int2, 2, math.MinInt16, math.MaxInt16)
	int4Codec = intCodec(Int4, 4, math.MinInt32, math.MaxInt32)
	int8Codec = intCodec(Int8, 8, math.MinInt64, math.MaxInt64)
)

// intCodec builds the codec for a two's complement big-endian integer of size bytes.
func intCodec(t Type, size int, min, max int64) codec {
	return codec{
		encText: func(dst, in []byte, _ *Session) ([]byte, error) {
			v, err := parseInt(t, in, min, max)
			if err != nil {
				return dst, err
			}
			return appendInt(dst, v, size), nil
		},
		encBin: func(dst, in []byte) ([]byte, error) {
			if len(in) != size {
				return dst, binaryError(t)
			}
			return append(dst, in...), nil
		},
		check: fixedLen(t, size),
		decText: func(dst, c []byte, _ *Session) ([]byte, error) {
			return strconv.AppendInt(dst, readInt(c), 10), nil
		},
	}
}

// parseInt mirrors pg_strtoint16/32/64 in PostgreSQL 15: optional surrounding whitespace, an
// optional sign and decimal digits only (no underscores, no hex: those came in 16).
func parseInt(t Type, in []byte, min, max int64) (int64, error) {
	b := trimSpace(in)
	neg := false
	if len(b) > 0 && (b[0] == '+' || b[0] == '-') {
		neg = b[0] == '-'
		b = b[1:]
	}
	if len(b) == 0 {
		return 0, syntaxError(t)
	}
	// Accumulate negatively so that the minimum value fits.
	var acc int64
	overflow := false
	for _, c := range b {
		if c < '0' || c > '9' {
			return 0, syntaxError(t)
		}
		d := int64(c - '0')
		if acc < (math.MinInt64+d)/10 {
			overflow = true
			continue
		}
		acc = acc*10 - d
	}
	if !neg {
		if acc == math.MinInt64 {
			overflow = true
		}
		acc = -acc
	}
	if overflow || acc < min || acc > max {
		return 0, rangeError(t)
	}
	return acc, nil
}

func appendInt(dst []byte, v int64, size int) []byte {
	switch size {
	case 2:
		return binary.BigEndian.AppendUint16(dst, uint16(v))
	case 4:
		return binary.BigEndian.AppendUint32(dst, uint32(v))
	}
	return binary.BigEndian.AppendUint64(dst, uint64(v))
}

func readInt(c []byte) int64 {
	switch len(c) {
	case 2:
		return int64(int16(binary.BigEndian.Uint16(c)))
	case 4:
		return int64(int32(binary.BigEndian.Uint32(c)))
	}
	return int64(binary.BigEndian.Uint64(c))
}
