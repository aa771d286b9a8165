package keyring

import (
	"bytes"
	"testing"
)

// indexOutputs computes the equality, order and match keys' outputs of one value, to compare index
// generations.
func indexOutputs(t *testing.T, ks *Keyset) [3][]byte {
	t.Helper()
	tk, err := ks.TermKey("d")
	if err != nil {
		t.Fatal(err)
	}
	ok, err := ks.OrdKey("d")
	if err != nil {
		t.Fatal(err)
	}
	mk, err := ks.MatchKey("d")
	if err != nil {
		t.Fatal(err)
	}
	ord, err := ok.Term(nil, []byte{0x55, 0xAA}, true)
	if err != nil {
		t.Fatal(err)
	}
	tok := mk.Token([]byte("abc"))
	return [3][]byte{tk.Term(nil, 1, []byte("v")), ord, {byte(tok >> 8), byte(tok)}}
}

func TestRotateIndexGivesNewTermsAndRefusesUntilRetired(t *testing.T) {
	e := fileEnv(t)
	initKeyring(t, e)
	k := openKeyring(t, e)
	km := k.Manager()
	ctx := ctxT(t)
	ks1 := mustKeyset(t, k.Snapshot(), "default")
	if ks1.IndexRotating() || ks1.IndexGeneration(1) != 1 {
		t.Fatalf("fresh keyset: IndexRotating() = %v, IndexGeneration(1) = %d; want false, 1", ks1.IndexRotating(), ks1.IndexGeneration(1))
	}
	before := indexOutputs(t, ks1)

	// A data rotation alone keeps the index generation, so no term changes.
	if _, err := km.Rotate(ctx, "default"); err != nil {
		t.Fatal(err)
	}
	ks2 := mustKeyset(t, k.Snapshot(), "default")
	if ks2.IndexRotating() || ks2.IndexGeneration(2) != 1 || !sameOutputs(indexOutputs(t, ks2), before) {
		t.Fatal("Rotate changed the index generation or a term")
	}

	info, err := km.RotateIndex(ctx, "default")
	if err != nil {
		t.Fatal(err)
	}
	if info.PrimaryGeneration != 3 || info.Generations[2].IndexGen != 2 || info.Generations[0].IndexGen != 1 {
		t.Fatalf("RotateIndex info = %+v, want primary 3 with index generation 2", info)
	}
	ks3 := mustKeyset(t, k.Snapshot(), "default")
	if !ks3.IndexRotating() || ks3.IndexGeneration(3) != 2 || ks3.IndexGeneration(1) != 1 {
		t.Fatalf("after RotateIndex: IndexRotating() = %v, IndexGeneration(3) = %d", ks3.IndexRotating(), ks3.IndexGeneration(3))
	}
	after := indexOutputs(t, ks3)
	for i := range after {
		if bytes.Equal(after[i], before[i]) {
			t.Fatalf("index output %d is the same under the new index generation", i)
		}
	}

	// A data rotation now carries index generation 2 on; retiring the older generations ends
	// the rotation.
	if _, err := km.Rotate(ctx, "default"); err != nil {
		t.Fatal(err)
	}
	for _, gen := range []uint32{1, 2} {
		if _, err := km.RetireGeneration(ctx, "default", gen); err != nil {
			t.Fatal(err)
		}
	}
	ks4 := mustKeyset(t, k.Snapshot(), "default")
	if ks4.IndexRotating() || ks4.IndexGeneration(4) != 2 || !sameOutputs(indexOutputs(t, ks4), after) {
		t.Fatalf("after retiring generations 1 and 2: IndexRotating() = %v, IndexGeneration(4) = %d; want false, 2, same terms",
			ks4.IndexRotating(), ks4.IndexGeneration(4))
	}
}

func TestIndexGenerationsMustNotGoBack(t *testing.T) {
	e := fileEnv(t)
	m := initKeyring(t, e)
	ctx := ctxT(t)
	if _, err := m.RotateIndex(ctx, "default"); err != nil {
		t.Fatal(err)
	}
	doc, err := m.Load(ctx)
	if err != nil {
		t.Fatal(err)
	}
	ks := &doc.Keysets[0]
	if err := doc.validate(); err != nil {
		t.Fatalf("validate() after RotateIndex = %v", err)
	}
	for name, edit := range map[string]func(){
		"an index generation older than the one before": func() { ks.Data[0].Index, ks.Data[1].Index = 2, 1 },
		"an unknown index generation":                   func() { ks.Data[1].Index = 3 },
		"index roots not numbered from 2":               func() { ks.IndexRoots[0].Gen = 5 },
	} {
		t.Run(name, func(t *testing.T) {
			saved := *ks
			saved.Data = append([]GenerationRecord(nil), ks.Data...)
			saved.IndexRoots = append([]GenerationRecord(nil), ks.IndexRoots...)
			defer func() { *ks = saved }()
			edit()
			if err := doc.validate(); err == nil {
				t.Fatal("validate() = nil, want an error")
			}
		})
	}
}

func sameOutputs(a, b [3][]byte) bool {
	return bytes.Equal(a[0], b[0]) && bytes.Equal(a[1], b[1]) && bytes.Equal(a[2], b[2])
}
