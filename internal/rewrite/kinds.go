package rewrite

import "fmt"

// StmtKind classifies a statement.
type StmtKind uint8

// Statement kinds.
const (
	StmtOther StmtKind = iota
	StmtSelect
	StmtInsert
	StmtUpdate
	StmtDelete
	StmtMerge
	StmtSet
	StmtReset
	StmtDiscard
	StmtCopy
	StmtExplain
	StmtDeclare
	StmtFetch
	StmtClose
	StmtPrepare
	StmtExecute
	StmtDeallocate
	StmtTransaction
	StmtDDL
)

var stmtKindNames = [...]string{"Other", "Select", "Insert", "Update", "Delete", "Merge", "Set",
	"Reset", "Discard", "Copy", "Explain", "Declare", "Fetch", "Close", "Prepare", "Execute",
	"Deallocate", "Transaction", "DDL"}

func (k StmtKind) String() string { return kindName(stmtKindNames[:], int(k)) }

// MarshalText makes kinds readable in JSON goldens.
func (k StmtKind) MarshalText() ([]byte, error) { return []byte(k.String()), nil }

// ParamKind is what the wire does with one parameter value.
type ParamKind uint8

// Parameter kinds.
const (
	ParamPass      ParamKind = iota // forwarded unchanged
	ParamEncrypt                    // value -> ciphertext envelope (+term if Column.Eq)
	ParamTerm                       // value -> 16-byte equality term (bytea)
	ParamTermArray                  // array of values -> bytea[] of terms
	ParamOrd                        // value -> order term (bytea), compared like ParamTerm
	// ParamMatch: a LIKE/ILIKE pattern -> text[] of the match tokens every matching value carries
	// (column.PatternTokens); for NOT LIKE/NOT ILIKE (Statement.Filters says which) an empty
	// array. A NULL pattern stays NULL. The pattern itself also feeds the Filter that names $N.
	ParamMatch
)

var paramKindNames = [...]string{"Pass", "Encrypt", "Term", "TermArray", "Ord", "Match"}

func (k ParamKind) String() string { return kindName(paramKindNames[:], int(k)) }

// MarshalText makes kinds readable in JSON goldens.
func (k ParamKind) MarshalText() ([]byte, error) { return []byte(k.String()), nil }

// EditKind is the kind of one text edit.
type EditKind uint8

// Edit kinds.
const (
	EditStatic  EditKind = iota // insert Edit.Text
	EditEncrypt                 // literal -> ciphertext (a bytea literal supplied by fill)
	EditTerm                    // literal -> equality term (a bytea literal supplied by fill)
	// EditTermArray: an array literal ('{a,b}', possibly cast to the plaintext type's array)
	// compared with = ANY / <> ALL -> an array of equality terms, one per element (a bytea[]
	// expression supplied by fill; Literal is the array's text).
	EditTermArray
	EditOrd // literal -> order term (a bytea literal supplied by fill)
	// EditMatch: a LIKE/ILIKE pattern literal -> a text[] literal of its match tokens (empty for
	// the NOT forms), as ParamMatch.
	EditMatch
	// EditKeyset: Text with every KeysetPlaceholder replaced by the session keyset's id as a
	// bytea literal (fill), e.g. min/max confined to the keyset.
	EditKeyset
)

// KeysetPlaceholder marks where an EditKeyset's Text takes the session keyset's id.
const KeysetPlaceholder = "{keyset}"

var editKindNames = [...]string{"Static", "Encrypt", "Term", "TermArray", "Ord", "Match", "Keyset"}

func (k EditKind) String() string { return kindName(editKindNames[:], int(k)) }

// MarshalText makes kinds readable in JSON goldens.
func (k EditKind) MarshalText() ([]byte, error) { return []byte(k.String()), nil }

// SettingKind is the kind of a setting change.
type SettingKind uint8

// Setting kinds.
const (
	SettingSet        SettingKind = iota // SET / SET SESSION / set_config(…, false)
	SettingSetLocal                      // SET LOCAL / set_config(…, true)
	SettingReset                         // RESET x / SET x TO DEFAULT
	SettingResetAll                      // RESET ALL
	SettingDiscardAll                    // DISCARD ALL (resets everything, like RESET ALL and more)
)

var settingKindNames = [...]string{"Set", "SetLocal", "Reset", "ResetAll", "DiscardAll"}

func (k SettingKind) String() string { return kindName(settingKindNames[:], int(k)) }

// MarshalText makes kinds readable in JSON goldens.
func (k SettingKind) MarshalText() ([]byte, error) { return []byte(k.String()), nil }

func kindName(names []string, i int) string {
	if i >= 0 && i < len(names) {
		return names[i]
	}
	return fmt.Sprintf("Kind(%d)", i)
}
