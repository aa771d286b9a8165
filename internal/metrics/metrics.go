// Package metrics defines every pgseal Prometheus metric in one place, on a registry of its own (no
// global state), so names, labels and help texts are reviewed together.
//
// Labels never carry values, keys, SQL text or user names. Per-keyset labels are off unless
// [metrics] keyset_labels = true, because tenant names can be sensitive and unbounded.
package metrics

import (
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
)

// Metrics holds the collectors. A nil *Metrics is not valid; use New.
type Metrics struct {
	Registry *prometheus.Registry

	ConnectionsActive   prometheus.Gauge
	ConnectionsTotal    prometheus.Counter
	ConnectionsRefused  *prometheus.CounterVec // reason
	BytesIn             prometheus.Counter     // client -> proxy
	BytesOut            prometheus.Counter     // proxy -> client
	Statements          *prometheus.CounterVec // kind: simple, parse, bind, execute, copy, function
	Refusals            *prometheus.CounterVec // sqlstate
	UpstreamConnectTime prometheus.Histogram
	UpstreamErrors      prometheus.Counter

	ValuesEncrypted *prometheus.CounterVec // keyset ("" unless keyset labels are on)
	ValuesDecrypted *prometheus.CounterVec // keyset
	CryptoSeconds   *prometheus.HistogramVec
	KeyringEpoch    prometheus.Gauge
	KeyringReloads  *prometheus.CounterVec // result: ok, error, sealed
	KeyringSealed   prometheus.Gauge       // 1 while the KMS refuses the master key
	AnalyzeCache    *prometheus.CounterVec // result: hit, miss
	KeysetLabels    bool
}

// New registers every metric on a fresh registry, with Go runtime and process collectors.
func New() *Metrics {
	r := prometheus.NewRegistry()
	r.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	f := func(c prometheus.Collector) { r.MustRegister(c) }
	m := &Metrics{Registry: r}
	m.ConnectionsActive = prometheus.NewGauge(prometheus.GaugeOpts{Name: "pgseal_connections_active", Help: "Client connections open now."})
	m.ConnectionsTotal = prometheus.NewCounter(prometheus.CounterOpts{Name: "pgseal_connections_total", Help: "Client connections accepted."})
	m.ConnectionsRefused = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "pgseal_connections_refused_total", Help: "Client connections refused, by reason."}, []string{"reason"})
	m.BytesIn = prometheus.NewCounter(prometheus.CounterOpts{Name: "pgseal_client_bytes_received_total", Help: "Bytes received from clients."})
	m.BytesOut = prometheus.NewCounter(prometheus.CounterOpts{Name: "pgseal_client_bytes_sent_total", Help: "Bytes sent to clients."})
	m.Statements = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "pgseal_statements_total", Help: "Statements relayed, by protocol message kind."}, []string{"kind"})
	m.Refusals = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "pgseal_refusals_total", Help: "Requests refused by pgseal, by SQLSTATE."}, []string{"sqlstate"})
	m.UpstreamConnectTime = prometheus.NewHistogram(prometheus.HistogramOpts{Name: "pgseal_upstream_connect_seconds", Help: "Time to connect (and TLS-handshake) to the upstream.", Buckets: prometheus.ExponentialBuckets(0.0001, 2, 16)})
	m.UpstreamErrors = prometheus.NewCounter(prometheus.CounterOpts{Name: "pgseal_upstream_connect_errors_total", Help: "Failed upstream connection attempts."})
	m.ValuesEncrypted = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "pgseal_values_encrypted_total", Help: "Values encrypted."}, []string{"keyset"})
	m.ValuesDecrypted = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "pgseal_values_decrypted_total", Help: "Values decrypted."}, []string{"keyset"})
	m.CryptoSeconds = prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "pgseal_crypto_seconds", Help: "Time spent encrypting or decrypting the values of one message (for rows decrypted as one batch, one observation of the batch's time per row).", Buckets: prometheus.ExponentialBuckets(0.000001, 4, 12)}, []string{"op"})
	m.KeyringEpoch = prometheus.NewGauge(prometheus.GaugeOpts{Name: "pgseal_keyring_epoch", Help: "Epoch of the keyring snapshot in force."})
	m.KeyringReloads = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "pgseal_keyring_reloads_total", Help: "Keyring reloads, by result."}, []string{"result"})
	m.KeyringSealed = prometheus.NewGauge(prometheus.GaugeOpts{Name: "pgseal_keyring_sealed", Help: "1 while the keyring is sealed (the key management service refused the master key at the last check), else 0."})
	m.AnalyzeCache = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "pgseal_analyze_cache_total", Help: "Statement analysis cache lookups, by result."}, []string{"result"})
	for _, c := range []prometheus.Collector{m.ConnectionsActive, m.ConnectionsTotal, m.ConnectionsRefused, m.BytesIn, m.BytesOut,
		m.Statements, m.Refusals, m.UpstreamConnectTime, m.UpstreamErrors, m.ValuesEncrypted, m.ValuesDecrypted,
		m.CryptoSeconds, m.KeyringEpoch, m.KeyringReloads, m.KeyringSealed, m.AnalyzeCache} {
		f(c)
	}
	return m
}

// Keyset is the label value for a keyset: its name when keyset labels are on, else "".
func (m *Metrics) Keyset(name string) string {
	if m.KeysetLabels {
		return name
	}
	return ""
}
