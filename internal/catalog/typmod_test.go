package catalog

import (
	"testing"

	"github.com/pgseal/pgseal/internal/value"
)

// TestTypmod: the encodings are the ones PostgreSQL stores (checked with
// SELECT atttypmod FROM pg_attribute for columns declared with these types).
func TestTypmod(t *testing.T) {
	tests := []struct {
		name string
		t    value.Type
		mods []int
		want int32
		err  bool
	}{
		{"no modifiers is -1", value.Text, nil, -1, false},
		{"varchar(120) counts the header", value.Varchar, []int{120}, 124, false},
		{"numeric(12,2) packs precision and scale", value.Numeric, []int{12, 2}, 786438, false},
		{"numeric(5) has scale 0", value.Numeric, []int{5}, 327684, false},
		{"numeric(3,-2) keeps the negative scale in 11 bits", value.Numeric, []int{3, -2}, 198658, false},
		{"timestamptz(3) is the precision", value.Timestamptz, []int{3}, 3, false},
		{"text takes no modifiers", value.Text, []int{5}, 0, true},
		{"varchar(0) is out of range", value.Varchar, []int{0}, 0, true},
		{"timestamp(7) is out of range", value.Timestamp, []int{7}, 0, true},
		{"varchar takes one modifier", value.Varchar, []int{1, 2}, 0, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := typmod(tt.t, tt.mods)
			if (err != nil) != tt.err || (!tt.err && got != tt.want) {
				t.Errorf("typmod(%v, %v) = %d, %v; want %d (error %v)", tt.t, tt.mods, got, err, tt.want, tt.err)
			}
		})
	}
}
