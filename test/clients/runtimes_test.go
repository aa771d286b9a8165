package clients

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
)

// systemPython is Debian's interpreter, which has python3-psycopg2, python3-psycopg and
// python3-sqlalchemy; the python3 on PATH may be a pyenv one without them.
const systemPython = "/usr/bin/python3"

// jdbcJar is Debian's libpostgresql-jdbc-java.
const jdbcJar = "/usr/share/java/postgresql.jar"

// client is one real client library and how to run the scenario with it.
type client struct {
	name string
	base int // first id of the client's range (ids base+1 … base+99 are its own)
	// available returns why the runtime is missing, or "" when it is there.
	available func() string
	// command returns the scenario's command line; it may prepare files (javac) first.
	command func(t *testing.T, s *suite) []string
}

// clients is every client the suite runs, each with a distinct id range.
var clients = []client{
	{name: "psql", base: 1000, available: needBinary("psql"), command: func(*testing.T, *suite) []string {
		return []string{"psql", "-X", "-q", "-A", "-t", "-F", " | ", "-v", "ON_ERROR_STOP=1", "-f", abs("psql/scenario.sql")}
	}},
	{name: "psycopg2", base: 2000, available: needPython("psycopg2"), command: func(*testing.T, *suite) []string {
		return []string{systemPython, abs("python/dbapi_scenario.py"), "psycopg2"}
	}},
	{name: "psycopg3", base: 3000, available: needPython("psycopg"), command: func(*testing.T, *suite) []string {
		return []string{systemPython, abs("python/dbapi_scenario.py"), "psycopg"}
	}},
	{name: "sqlalchemy", base: 4000, available: needPython("sqlalchemy", "psycopg2"), command: func(*testing.T, *suite) []string {
		return []string{systemPython, abs("python/sqlalchemy_scenario.py")}
	}},
	{name: "node-postgres", base: 5000, available: needNodePg, command: func(*testing.T, *suite) []string {
		return []string{"node", abs("node/scenario.js")}
	}},
	{name: "jdbc", base: 6000, available: needJava, command: func(t *testing.T, s *suite) []string {
		dir := s.compileJava(t)
		return []string{"java", "-cp", dir + string(os.PathListSeparator) + jdbcJar, "Scenario"}
	}},
}

func needBinary(name string) func() string {
	return func() string {
		if _, err := exec.LookPath(name); err != nil {
			return name + " is not installed"
		}
		return ""
	}
}

func needPython(modules ...string) func() string {
	return func() string {
		for _, m := range modules {
			if err := exec.Command(systemPython, "-c", "import "+m).Run(); err != nil {
				return fmt.Sprintf("%s cannot import %s (Debian package python3-%s)", systemPython, m, m)
			}
		}
		return ""
	}
}

func needNodePg() string {
	if _, err := exec.LookPath("node"); err != nil {
		return "node is not installed"
	}
	if _, err := os.Stat(abs("node/node_modules/pg/package.json")); err != nil {
		return "node-postgres is not installed (run npm install in test/clients/node)"
	}
	return ""
}

func needJava() string {
	for _, b := range []string{"java", "javac"} {
		if _, err := exec.LookPath(b); err != nil {
			return b + " is not installed"
		}
	}
	if _, err := os.Stat(jdbcJar); err != nil {
		return jdbcJar + " is missing (Debian package libpostgresql-jdbc-java)"
	}
	return ""
}

// compileJava compiles java/Scenario.java, java/Batch.java (batch_test.go) and java/Matrix.java
// (matrix_jdbc_test.go) once per suite, into the suite's directory; the parallel subtests that need
// it wait for the first.
func (s *suite) compileJava(t *testing.T) string {
	t.Helper()
	s.javaOnce.Do(func() {
		dir := filepath.Join(s.dir, "java")
		out, err := exec.Command("javac", "-d", dir, "-cp", jdbcJar, abs("java/Scenario.java"), abs("java/Batch.java"), abs("java/Matrix.java")).CombinedOutput()
		if err != nil {
			s.javaErr = fmt.Errorf("javac: %v\n%s", err, out)
		}
		s.javaDir = dir
	})
	if s.javaErr != nil {
		t.Fatal(s.javaErr)
	}
	return s.javaDir
}

// abs is a path under the package directory (go test runs in it).
func abs(rel string) string {
	p, err := filepath.Abs(rel)
	if err != nil {
		return rel
	}
	return p
}
