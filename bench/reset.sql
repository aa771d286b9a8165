-- One pooled request with a pool's reset (issue 11): a lookup, then DISCARD ALL as a pool runs it
-- at release. Through pgseal-enc the reset drops pgseal's LISTEN pgseal_catalog.
\set aid random(1, 100000 * :scale)
SELECT abalance FROM pgbench_accounts WHERE aid = :aid;
DISCARD ALL;
