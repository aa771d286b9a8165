package rewrite

import "testing"

func BenchmarkAnalyze(b *testing.B) {
	s := loadSchema(b)
	cases := []struct{ name, sql string }{
		{"untouched_prefilter", "SELECT id, total, note FROM orders WHERE user_id = $1 AND total > 10"},
		{"touched_select", "SELECT id, email, name FROM users WHERE email = $1 AND tenant_id = $2"},
		{"touched_insert", "INSERT INTO users (id, email, name) VALUES ($1, $2, $3) ON CONFLICT (email) DO UPDATE SET name = EXCLUDED.name"},
	}
	for _, c := range cases {
		b.Run(c.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, err := Analyze(c.sql, s); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkShape: what a simple-protocol text of a known shape costs instead of a parse.
func BenchmarkShape(b *testing.B) {
	s := loadSchema(b)
	sql := "INSERT INTO users (id, email, name) VALUES (123456789, 123456789::text, 'a name') ON CONFLICT DO NOTHING"
	sh, _ := ShapeOf(sql)
	p, err := Analyze(sql, s)
	if err != nil {
		b.Fatal(err)
	}
	tmpl, ok := NewTemplate(p, sh, s)
	if !ok {
		b.Fatal("no template")
	}
	b.Run("ShapeOf", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			ShapeOf(sql)
		}
	})
	b.Run("Template.Plan", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			tmpl.Plan(sql, sh)
		}
	})
	b.Run("Analyze", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := Analyze(sql, s); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// BenchmarkPrefilter: the byte scan every statement text pays, on texts it lets through unparsed.
func BenchmarkPrefilter(b *testing.B) {
	s := loadSchema(b)
	cases := []struct{ name, sql string }{
		{"short", "SELECT id, total, note FROM orders WHERE user_id = $1 AND total > 10"},
		{"long", "SELECT o.id, o.total, o.note, p.id AS pid FROM orders o JOIN products p ON p.id = o.product_id " +
			"WHERE o.user_id = $1 AND o.total > 10 AND o.created_at > now() - interval '30 days' " +
			"ORDER BY o.created_at DESC LIMIT 50"},
	}
	for _, c := range cases {
		b.Run(c.name, func(b *testing.B) {
			if MayMatter(c.sql, s) {
				b.Fatal("text would be parsed")
			}
			b.SetBytes(int64(len(c.sql)))
			for b.Loop() {
				MayMatter(c.sql, s)
			}
		})
	}
}
