package keyring

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/google/uuid"
)

// ClientInfo is the public view of a client.
type ClientInfo struct {
	ID        uuid.UUID `json:"id"`
	Name      string    `json:"name"`
	Active    bool      `json:"active"`
	Grants    []string  `json:"grants"` // keyset names, sorted
	CreatedAt time.Time `json:"created_at"`
}

func clientInfo(doc *Document, c *ClientRecord) ClientInfo {
	info := ClientInfo{ID: c.ID, Name: c.Name, Active: c.Active, Grants: []string{}, CreatedAt: c.CreatedAt}
	for _, g := range c.Grants {
		if ks, err := doc.keyset(g.String()); err == nil {
			info.Grants = append(info.Grants, ks.Name)
		}
	}
	slices.Sort(info.Grants)
	return info
}

// CreateClient adds a client (the PostgreSQL role or TLS subject it authenticates as). With
// grantDefault it is granted the default keyset; otherwise it starts with no grants at all.
func (m *Manager) CreateClient(ctx context.Context, name string, grantDefault bool) (ClientInfo, error) {
	if err := ValidClientName(name); err != nil {
		return ClientInfo{}, err
	}
	var info ClientInfo
	_, err := m.update(ctx, func(doc *Document) error {
		if _, err := doc.client(name); err == nil {
			return fmt.Errorf("client %q: %w", name, ErrExists)
		}
		c := ClientRecord{ID: uuid.New(), Name: name, Active: true, CreatedAt: m.now().UTC(), Grants: []uuid.UUID{}}
		if grantDefault {
			c.Grants = append(c.Grants, doc.DefaultKeyset)
		}
		doc.Clients = append(doc.Clients, c)
		info = clientInfo(doc, &c)
		return nil
	})
	return info, err
}

// ListClients returns every client, sorted by name.
func (m *Manager) ListClients(ctx context.Context) ([]ClientInfo, error) {
	doc, err := m.load(ctx)
	if err != nil {
		return nil, err
	}
	out := make([]ClientInfo, 0, len(doc.Clients))
	for i := range doc.Clients {
		out = append(out, clientInfo(doc, &doc.Clients[i]))
	}
	slices.SortFunc(out, func(a, b ClientInfo) int { return strings.Compare(a.Name, b.Name) })
	return out, nil
}

// Grant lets a client use a keyset (both by name or UUID). Granting twice is not an error.
func (m *Manager) Grant(ctx context.Context, keyset, client string) error {
	_, err := m.update(ctx, func(doc *Document) error {
		ks, c, err := doc.keysetAndClient(keyset, client)
		if err != nil {
			return err
		}
		if slices.Contains(c.Grants, ks.ID) {
			return errNoChange
		}
		c.Grants = append(c.Grants, ks.ID)
		return nil
	})
	return err
}

// Revoke removes a client's grant on a keyset; in force at the next statement of every session.
// Revoking a grant the client does not hold is not an error.
func (m *Manager) Revoke(ctx context.Context, keyset, client string) error {
	_, err := m.update(ctx, func(doc *Document) error {
		ks, c, err := doc.keysetAndClient(keyset, client)
		if err != nil {
			return err
		}
		i := slices.Index(c.Grants, ks.ID)
		if i < 0 {
			return errNoChange
		}
		c.Grants = slices.Delete(c.Grants, i, i+1)
		return nil
	})
	return err
}

func (d *Document) keysetAndClient(keyset, client string) (*KeysetRecord, *ClientRecord, error) {
	ks, err := d.keyset(keyset)
	if err != nil {
		return nil, nil, err
	}
	c, err := d.client(client)
	if err != nil {
		return nil, nil, err
	}
	return ks, c, nil
}
