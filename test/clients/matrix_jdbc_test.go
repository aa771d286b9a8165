package clients

import (
	"os"
	"testing"
)

// TestJDBCMatrix runs java/Matrix.java on items (matrix_test.go) directly and through pgseal:
// CopyManager in and out in text, CSV and binary format (the binary stream's digest is in the
// transcript, so it must be byte-identical to a plaintext table's), and executeBatch with a typed
// setter for every type.
func TestJDBCMatrix(t *testing.T) {
	requireRuntime(t, "jdbc", needJava())
	s := &suite{dir: t.TempDir()}
	bin := buildProxy(t, s.dir)
	classes := s.compileJava(t)
	for _, sc := range []struct{ name, part string }{
		{"CopyManager copies in and out in text, CSV and binary", "copy"},
		{"executeBatch with a typed setter for every type", "batch"},
	} {
		t.Run(sc.name, func(t *testing.T) {
			m := newMatrix(t, bin)
			argv := []string{"java", "-cp", classes + string(os.PathListSeparator) + jdbcJar, "Matrix", sc.part}
			direct := runProgram(t, argv, m.plain.Server.Addr(), m.role, m.plain.Name)
			through := runProgram(t, argv, m.proxyAddr, m.role, m.enc.Name)
			compare(t, direct, through)
			checkItemsCiphertext(t, m.enc, countItems(t, m))
		})
	}
}
