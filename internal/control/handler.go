package control

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"

	"go.uber.org/zap"

	"github.com/pgseal/pgseal/internal/keyring"
)

const (
	// maxBody bounds request bodies.
	maxBody = 64 << 10
	// TokenTTL is how long an access token lives.
	TokenTTL = 15 * time.Minute
)

type route struct {
	methods []string
	public  bool // no bearer token needed (only /api/authorize)
	fn      func(ctx context.Context, r *http.Request) (any, error)
}

type handler struct {
	m      *keyring.Manager
	log    *zap.Logger
	routes map[string]route
}

// NewHandler returns the control API. m may be nil: then kr.Manager() is used (changes are in
// force in kr at once).
func NewHandler(kr *keyring.Keyring, m *keyring.Manager, log *zap.Logger) http.Handler {
	if m == nil {
		m = kr.Manager()
	}
	if log == nil {
		log = zap.NewNop()
	}
	h := &handler{m: m, log: log}
	post, list := []string{http.MethodPost}, []string{http.MethodGet, http.MethodPost}
	h.routes = map[string]route{
		"/api/authorize":       {post, true, h.authorize},
		"/create-keyset":       {post, false, h.createKeyset},
		"/grant-keyset":        {post, false, h.grant},
		"/revoke-keyset":       {post, false, h.revoke},
		"/rotate-keyset":       {post, false, h.keysetOp(h.m.Rotate)},
		"/rotate-keyset-index": {post, false, h.keysetOp(h.m.RotateIndex)},
		"/disable-keyset":      {post, false, h.keysetOp(h.m.Disable)},
		"/enable-keyset":       {post, false, h.keysetOp(h.m.Enable)},
		"/create-client":       {post, false, h.createClient},
		"/list-keysets":        {list, false, h.listKeysets},
		"/list-clients":        {list, false, h.listClients},
	}
	return h
}

// Paths lists the paths the handler serves, for mounting it on a mux.
func Paths() []string {
	return []string{"/api/authorize", "/create-keyset", "/grant-keyset", "/revoke-keyset", "/rotate-keyset", "/rotate-keyset-index",
		"/disable-keyset", "/enable-keyset", "/create-client", "/list-keysets", "/list-clients"}
}

func (h *handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	rt, ok := h.routes[r.URL.Path]
	if !ok {
		writeError(w, http.StatusNotFound, "no such endpoint")
		return
	}
	if !allowed(rt.methods, r.Method) {
		w.Header().Set("Allow", strings.Join(rt.methods, ", "))
		writeError(w, http.StatusMethodNotAllowed, "method "+r.Method+" not allowed")
		return
	}
	if !rt.public {
		key, err := h.authenticate(r)
		if err != nil {
			w.Header().Set("WWW-Authenticate", `Bearer realm="pgseal"`)
			h.fail(w, r, err)
			return
		}
		r = r.WithContext(context.WithValue(r.Context(), keyIDCtx{}, key.ID.String()))
	}
	r.Body = http.MaxBytesReader(w, r.Body, maxBody)
	out, err := rt.fn(r.Context(), r)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	h.log.Info("control api", zap.String("op", r.URL.Path), zap.Any("access_key", r.Context().Value(keyIDCtx{})))
	writeJSON(w, http.StatusOK, out)
}

type keyIDCtx struct{}

func allowed(methods []string, m string) bool {
	for _, x := range methods {
		if x == m {
			return true
		}
	}
	return false
}

// authenticate checks the bearer token.
func (h *handler) authenticate(r *http.Request) (keyring.AccessKeyInfo, error) {
	auth := r.Header.Get("Authorization")
	scheme, token, ok := strings.Cut(auth, " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") || token == "" {
		return keyring.AccessKeyInfo{}, fmt.Errorf("missing bearer token: %w", keyring.ErrUnauthorized)
	}
	info, err := h.m.VerifyToken(r.Context(), strings.TrimSpace(token))
	if err != nil {
		return keyring.AccessKeyInfo{}, fmt.Errorf("invalid or expired token: %w", err)
	}
	if info.Role != keyring.RoleControl {
		return keyring.AccessKeyInfo{}, fmt.Errorf("access key role %q may not use the control API: %w", info.Role, keyring.ErrUnauthorized)
	}
	return info, nil
}

// errBadBody marks a request body that does not decode.
var errBadBody = errors.New("bad request body")

// decode reads exactly one JSON object with no unknown fields. An empty body decodes as {} when
// emptyOK (list endpoints).
func decode(r *http.Request, v any, emptyOK bool) error {
	body, err := io.ReadAll(r.Body)
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return fmt.Errorf("%w: larger than %d bytes", errBadBody, maxBody)
		}
		return fmt.Errorf("%w: %v", errBadBody, err)
	}
	if len(strings.TrimSpace(string(body))) == 0 {
		if emptyOK {
			return nil
		}
		return fmt.Errorf("%w: empty body, want a JSON object", errBadBody)
	}
	dec := json.NewDecoder(strings.NewReader(string(body)))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return fmt.Errorf("%w: %v", errBadBody, err)
	}
	if dec.More() {
		return fmt.Errorf("%w: trailing data after the JSON object", errBadBody)
	}
	if _, err := dec.Token(); err != io.EOF {
		return fmt.Errorf("%w: trailing data after the JSON object", errBadBody)
	}
	return nil
}

// fail maps an error to its status. Unexpected errors are logged and answered without detail.
func (h *handler) fail(w http.ResponseWriter, r *http.Request, err error) {
	switch {
	case errors.Is(err, keyring.ErrUnauthorized):
		writeError(w, http.StatusUnauthorized, err.Error())
	case errors.Is(err, errBadBody), errors.Is(err, keyring.ErrInvalid):
		writeError(w, http.StatusBadRequest, err.Error())
	case errors.Is(err, keyring.ErrNotFound):
		writeError(w, http.StatusNotFound, err.Error())
	case errors.Is(err, keyring.ErrExists):
		writeError(w, http.StatusConflict, err.Error())
	default:
		h.log.Error("control api failed", zap.String("op", r.URL.Path), zap.Error(err))
		writeError(w, http.StatusInternalServerError, "internal error (see the pgseal log)")
	}
}

func writeJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(code)
	_ = json.NewEncoder(w).Encode(v)
}

func writeError(w http.ResponseWriter, code int, msg string) {
	writeJSON(w, code, map[string]string{"error": msg})
}
