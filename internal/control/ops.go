package control

import (
	"context"
	"fmt"
	"net/http"

	"github.com/pgseal/pgseal/internal/keyring"
)

type authorizeRequest struct {
	AccessKey string `json:"accessKey"`
}

type authorizeResponse struct {
	AccessToken string `json:"accessToken"`
	Expiry      int64  `json:"expiry"`
}

func (h *handler) authorize(ctx context.Context, r *http.Request) (any, error) {
	var req authorizeRequest
	if err := decode(r, &req, false); err != nil {
		return nil, err
	}
	if req.AccessKey == "" {
		return nil, fmt.Errorf("%w: accessKey is required", errBadBody)
	}
	tok, exp, err := h.m.IssueToken(ctx, req.AccessKey, TokenTTL)
	if err != nil {
		return nil, fmt.Errorf("access key not accepted: %w", err)
	}
	return authorizeResponse{AccessToken: tok, Expiry: exp.Unix()}, nil
}

type createKeysetRequest struct {
	Name        string `json:"name"`
	Description string `json:"description"`
}

type keysetResponse struct {
	ID          string `json:"id"`
	Name        string `json:"name"`
	Description string `json:"description"`
}

func (h *handler) createKeyset(ctx context.Context, r *http.Request) (any, error) {
	var req createKeysetRequest
	if err := decode(r, &req, false); err != nil {
		return nil, err
	}
	ks, err := h.m.CreateKeyset(ctx, req.Name, req.Description)
	if err != nil {
		return nil, err
	}
	return keysetResponse{ID: ks.ID.String(), Name: ks.Name, Description: ks.Description}, nil
}

type grantRequest struct {
	KeysetID string `json:"keyset_id"`
	ClientID string `json:"client_id"`
}

func (h *handler) grant(ctx context.Context, r *http.Request) (any, error) {
	return h.grantOp(ctx, r, h.m.Grant)
}

func (h *handler) revoke(ctx context.Context, r *http.Request) (any, error) {
	return h.grantOp(ctx, r, h.m.Revoke)
}

func (h *handler) grantOp(ctx context.Context, r *http.Request, op func(ctx context.Context, keyset, client string) error) (any, error) {
	var req grantRequest
	if err := decode(r, &req, false); err != nil {
		return nil, err
	}
	if req.KeysetID == "" || req.ClientID == "" {
		return nil, fmt.Errorf("%w: keyset_id and client_id are required", errBadBody)
	}
	if err := op(ctx, req.KeysetID, req.ClientID); err != nil {
		return nil, err
	}
	return struct{}{}, nil
}

type keysetRequest struct {
	KeysetID string `json:"keyset_id"`
}

// keysetOp serves the operations that take one keyset and return it.
func (h *handler) keysetOp(op func(ctx context.Context, keyset string) (keyring.KeysetInfo, error)) func(context.Context, *http.Request) (any, error) {
	return func(ctx context.Context, r *http.Request) (any, error) {
		var req keysetRequest
		if err := decode(r, &req, false); err != nil {
			return nil, err
		}
		if req.KeysetID == "" {
			return nil, fmt.Errorf("%w: keyset_id is required", errBadBody)
		}
		return op(ctx, req.KeysetID)
	}
}

type createClientRequest struct {
	Name           string `json:"name"`
	NoDefaultGrant bool   `json:"no_default_grant"`
}

func (h *handler) createClient(ctx context.Context, r *http.Request) (any, error) {
	var req createClientRequest
	if err := decode(r, &req, false); err != nil {
		return nil, err
	}
	return h.m.CreateClient(ctx, req.Name, !req.NoDefaultGrant)
}

func (h *handler) listKeysets(ctx context.Context, r *http.Request) (any, error) {
	if err := decode(r, &struct{}{}, true); err != nil {
		return nil, err
	}
	ks, err := h.m.ListKeysets(ctx)
	if err != nil {
		return nil, err
	}
	return map[string]any{"keysets": ks}, nil
}

func (h *handler) listClients(ctx context.Context, r *http.Request) (any, error) {
	if err := decode(r, &struct{}{}, true); err != nil {
		return nil, err
	}
	cs, err := h.m.ListClients(ctx)
	if err != nil {
		return nil, err
	}
	return map[string]any{"clients": cs}, nil
}
