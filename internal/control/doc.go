// Package control is pgseal's HTTP control API, mounted on server.admin_listen next to /metrics.
//
// The flow an operator automates (issue 3, docs/design.md §6):
//
//	POST /api/authorize {"accessKey": "pgsk_…"}  ->  {"accessToken": "pgst_…", "expiry": <unix seconds>}
//
// then, with "Authorization: Bearer <accessToken>":
//
//	POST /create-keyset  {"name", "description"}          -> {"id", "name", "description"}
//	POST /grant-keyset   {"keyset_id", "client_id"}       -> {}
//	POST /revoke-keyset  {"keyset_id", "client_id"}       -> {}
//	POST /rotate-keyset  {"keyset_id"}                    -> the keyset
//	POST /rotate-keyset-index {"keyset_id"}               -> the keyset (data and index keys)
//	POST /disable-keyset {"keyset_id"}                    -> the keyset
//	POST /enable-keyset  {"keyset_id"}                    -> the keyset
//	POST /create-client  {"name", "no_default_grant"}     -> the client
//	GET or POST /list-keysets                             -> {"keysets": […]}
//	GET or POST /list-clients                             -> {"clients": […]}
//
// keyset_id and client_id accept a UUID or a name. Every error is JSON {"error": "…"}: 401 for a
// missing, malformed, expired or unknown token or access key; 400 for a bad body (unknown fields,
// trailing data, more than 64 KiB) or bad input; 404 unknown; 409 duplicate; 405 wrong method.
//
// Decisions: tokens are stateless (keyring.Manager.IssueToken: HMAC-signed under a key derived
// from the master key, 15 minutes), so every replica accepts them and nothing is stored; a token
// dies with its access key. Every operation goes through keyring.Manager, the same code the CLI
// runs. A control access key is not a client: it can manage keysets and grants but is never
// granted a keyset itself, so it can never decrypt data (granting a client to itself would need
// a client login, which only the proxy's PostgreSQL authentication provides).
//
// What it leaves out: TLS (put admin_listen on loopback or behind a TLS proxy), rate limiting,
// retiring generations and creating access keys (CLI only: those need the operator).
package control
