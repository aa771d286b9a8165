# Independent computation of the order-term vector of TestOrdTermFrozen (docs/search.md §2)
# and of the match tokens of TestMatchTokenFrozen (§3)
# with pyca/cryptography: python3 gen_ord_vector.py prints the first 12 numbers and the SHA-256
# of the whole term, then the SHA-256 of a second term (a last group of 2 bits).
from cryptography.hazmat.primitives.kdf.hkdf import HKDFExpand
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
import struct
root = bytes((0x30+i)&0xff for i in range(32))
ks = bytes([0x11,0x22,0x33,0x44,0x55,0x66,0x77,0x88,0x99,0xaa,0xbb,0xcc,0xdd,0xee,0xff,0x01])
info = b"pgseal/v1/ord\x00" + ks + struct.pack(">I",1) + b"public.users.email"
km = HKDFExpand(hashes.SHA256(), 64, info).derive(root)
def aes(k, b):
    e = Cipher(algorithms.AES(k), modes.ECB()).encryptor(); return e.update(b)+e.finalize()
def term(form):
    bits = []
    for c in form:
        bits.append(1); bits += [(c>>(7-i))&1 for i in range(8)]
    bits.append(0)
    out = ks + b"\x01"
    C = bytes(16)
    for j in range(0, len(bits), 64):
        chunk = bits[j:j+64]
        for t in range(len(chunk)):
            # one AES block per group of 3 positions, on the input of the group's first position g;
            # position t takes the 16-bit number v[idx] of its output, idx chosen by the group's
            # bits before t: 0; 1 + b_g; 3 + 2*b_g + b_(g+1)
            g = t - t % 3
            pre = 0
            for i in range(g): pre |= chunk[i] << (63-i)
            blk = bytes([g]) + bytes(7) + struct.pack(">Q", pre)
            inp = bytes(a^b for a,b in zip(C, blk))
            v = struct.unpack(">8H", aes(km[:32], inp))
            if t == g: idx = 0
            elif t == g + 1: idx = 1 + chunk[g]
            else: idx = 3 + 2*chunk[g] + chunk[g+1]
            r = v[idx] % 65535
            out += struct.pack(">H", r + chunk[t])
        if j+64 < len(bits):
            w = 0
            for i in range(64): w |= chunk[i] << (63-i)
            blk = bytes([64]) + bytes(7) + struct.pack(">Q", w)
            C = aes(km[32:], bytes(a^b for a,b in zip(C, blk)))
    return out
out = term(b"pgseal order term vector!")
print(out[17:41].hex())
import hashlib; print(hashlib.sha256(out).hexdigest(), len(out))
# a 15-byte text form: 136 bits, whose last chunk's last group has 2 bits
out = term(b"pgseal ord vec!")
print(hashlib.sha256(out).hexdigest(), len(out))

# Match token (docs/search.md §3) of the trigram "abc" and of "日本語" under the same root, keyset,
# generation and domain: TestMatchTokenFrozen.
import hmac, hashlib
info = b"pgseal/v1/match\x00" + ks + struct.pack(">I",1) + b"public.users.email"
km = HKDFExpand(hashes.SHA256(), 32, info).derive(root)
for tri in ["abc", "日本語"]:
    print(tri, hmac.new(km, tri.encode(), hashlib.sha256).digest()[:2].hex())

# Envelopes with an equality term, an order term and match tokens (docs/search.md §1), suites 1
# and 2: TestEnvelopeWithSearchTermsVector. Column key and record key as in gen_vectors.py.
from cryptography.hazmat.primitives import cmac
from cryptography.hazmat.primitives.kdf.kbkdf import CounterLocation, KBKDFCMAC, Mode
from cryptography.hazmat.primitives.ciphers.aead import AESGCM, ChaCha20Poly1305
kcol = HKDFExpand(hashes.SHA256(), 32, b"pgseal/v1/data\x00" + ks + struct.pack(">I", 1) + b"public.users.email").derive(root)
salt, nonce = bytes(range(0x40, 0x50)), bytes(range(0x50, 0x5c))
krec = KBKDFCMAC(algorithms.AES, Mode.CounterMode, 32, 4, 4, CounterLocation.BeforeFixed, b"pgseal/v1/rec", salt, None).derive(kcol)
eq, ordt, match = bytes(range(0x60, 0x70)), b"ORD-TERM-BYTES", b"k00 abcd"
col = b"public.users.email"
for suite, aead in [(1, AESGCM), (2, ChaCha20Poly1305)]:
    for flags, e, o, m in [(7, eq, ordt, match), (2, b"", ordt, b""), (4, b"", b"", match)]:
        dirb = struct.pack(">HH", len(o), len(m))
        header = bytes([1, suite, flags]) + ks + struct.pack(">I", 1) + e + dirb + o + m
        aad = b"pgseal/v1/aad" + header + salt + struct.pack(">H", len(col)) + col
        print(suite, flags, (header + salt + nonce + aead(krec).encrypt(nonce, b"alice", aad)).hex())
