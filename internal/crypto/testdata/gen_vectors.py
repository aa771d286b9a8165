#!/usr/bin/env python3
"""Independent generator for the pgseal envelope v1 known-answer vectors.

It recomputes every vector with pyca/cryptography (OpenSSL), not with our Go code, so the Go tests
compare two implementations of the documented format. Run from this directory:
    python3 gen_vectors.py > vectors_v1.json            # suite 1, AES-256-GCM
    python3 gen_vectors.py 2 > vectors_v1_suite2.json   # suite 2, ChaCha20-Poly1305 (RFC 8439)
The committed JSON is frozen: regenerate only for a NEW format version or suite, never to make a
test pass.
"""
import json
import struct
import sys

from cryptography.hazmat.primitives import cmac, hashes, hmac
from cryptography.hazmat.primitives.ciphers import algorithms
from cryptography.hazmat.primitives.ciphers.aead import AESGCM, ChaCha20Poly1305
from cryptography.hazmat.primitives.kdf.hkdf import HKDFExpand
from cryptography.hazmat.primitives.kdf.kbkdf import CounterLocation, KBKDFCMAC, Mode


def seq(start, n):
    return bytes((start + i) & 0xFF for i in range(n))


def hkdf_expand(prk, info):
    return HKDFExpand(hashes.SHA256(), 32, info).derive(prk)


def column_key(root, ks, gen, col):
    return hkdf_expand(root, b"pgseal/v1/data\x00" + ks + struct.pack(">I", gen) + col.encode())


def record_key(kcol, salt):
    return KBKDFCMAC(algorithms.AES, Mode.CounterMode, 32, 4, 4, CounterLocation.BeforeFixed,
                     b"pgseal/v1/rec", salt, None).derive(kcol)


def term(index_root, ks, gen, domain, tag, canonical):
    keq = hkdf_expand(index_root, b"pgseal/v1/eq\x00" + ks + struct.pack(">I", gen) + domain.encode())
    h = hmac.HMAC(keq, hashes.SHA256())
    h.update(bytes([1, tag]) + canonical)
    return h.finalize()[:16]


AEADS = {1: AESGCM, 2: ChaCha20Poly1305}


def envelope(suite, root, ks, gen, col, salt, nonce, pt, t):
    flags = 1 if t else 0
    header = bytes([1, suite, flags]) + ks + struct.pack(">I", gen) + (t or b"")
    kcol = column_key(root, ks, gen, col)
    krec = record_key(kcol, salt)
    aad = b"pgseal/v1/aad" + header + salt + struct.pack(">H", len(col)) + col.encode()
    return header + salt + nonce + AEADS[suite](krec).encrypt(nonce, pt, aad), kcol, krec


def main():
    suite = int(sys.argv[1]) if len(sys.argv) > 1 else 1
    root, iroot = seq(0x00, 32), seq(0x20, 32)
    ks1, ks2 = seq(0x40, 16), bytes.fromhex("0f1e2d3c4b5a69788796a5b4c3d2e1f0")
    cases = [
        ("email without term", root, ks1, 1, "public.users.email", b"alice@example.com", None),
        ("email with term", root, ks1, 1, "public.users.email", b"alice@example.com",
         ("public.users.email", 0x19, b"alice@example.com")),
        ("empty plaintext, generation 7", root, ks2, 7, "s.t.c", b"", None),
        ("int8 value, large generation", seq(0x80, 32), ks2, 0xFFFFFFFE, "public.orders.amount",
         bytes([0x14]) + struct.pack(">q", -42), ("amounts", 0x14, struct.pack(">q", -42))),
    ]
    out = {"envelopes": [], "record_keys": [], "cmac": []}
    for i, (name, r, ks, gen, col, pt, tspec) in enumerate(cases):
        salt, nonce = seq(0xA0 + i, 16), seq(0xC0 + i, 12)
        t = term(iroot, ks, gen, *tspec) if tspec else None
        env, kcol, krec = envelope(suite, r, ks, gen, col, salt, nonce, pt, t)
        out["envelopes"].append({
            "name": name, "suite": suite, "root": r.hex(), "keyset": ks.hex(), "generation": gen, "column": col,
            "salt": salt.hex(), "nonce": nonce.hex(), "plaintext": pt.hex(),
            "index_root": iroot.hex() if t else "", "domain": tspec[0] if t else "",
            "tag": tspec[1] if t else 0, "canonical": tspec[2].hex() if t else "",
            "term": t.hex() if t else "", "envelope": env.hex()})
        out["record_keys"].append({"kcol": kcol.hex(), "salt": salt.hex(), "krec": krec.hex()})
    # NIST SP 800-38B Appendix D.3 (AES-256) key and messages, tags recomputed by OpenSSL.
    k = bytes.fromhex("603deb1015ca71be2b73aef0857d77811f352c073b6108d72d9810a30914dff4")
    m = bytes.fromhex("6bc1bee22e409f96e93d7e117393172aae2d8a571e03ac9c9eb76fac45af8e51"
                      "30c81c46a35ce411e5fbc1191a0a52eff69f2445df4f9b17ad2b417be66c3710")
    for n in (0, 16, 40, 64):
        c = cmac.CMAC(algorithms.AES(k))
        c.update(m[:n])
        out["cmac"].append({"key": k.hex(), "msg": m[:n].hex(), "tag": c.finalize().hex()})
    print(json.dumps(out, indent=1))


if __name__ == "__main__":
    main()
