package crypto

import "unsafe"

// sliceForAppend extends in by n bytes, reusing its capacity when possible; it returns the whole
// slice and the new tail. Same contract as the standard library's internal helper.
func sliceForAppend(in []byte, n int) (head, tail []byte) {
	if total := len(in) + n; cap(in) >= total {
		head = in[:total]
	} else {
		head = make([]byte, total)
		copy(head, in)
	}
	tail = head[len(in):]
	return head, tail
}

// anyOverlap reports whether x and y share memory at any index. The AEAD panics on such
// overlaps; checking first turns a caller mistake into an error instead of a panic.
// (Same logic as crypto/internal/fips140/alias.)
func anyOverlap(x, y []byte) bool {
	return len(x) > 0 && len(y) > 0 &&
		uintptr(unsafe.Pointer(&x[0])) <= uintptr(unsafe.Pointer(&y[len(y)-1])) &&
		uintptr(unsafe.Pointer(&y[0])) <= uintptr(unsafe.Pointer(&x[len(x)-1]))
}
