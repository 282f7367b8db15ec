#!/usr/bin/env python3
"""Cross-checks the token engine against two independent JOSE libraries.

Usage: interop.py INPUT.json OUTPUT.json

INPUT holds what the engine produced:
  {"issuer": str, "audience": str, "now": int,
   "jwks": {"keys": [...]},                       # the published JWK Set
   "tokens": [{"token": str, "sub": str}],         # tokens minted by the engine
   "signers": [{"kid": str, "alg": "EdDSA"|"ES256", "pkcs8_pem": str}]}

For every engine token, both joserfc and PyJWT must verify it using only the JWK Set (signature,
issuer, audience, expiry) and read back its subject. For every signer, both libraries sign a token
with the PKCS#8 PEM key; OUTPUT lists them for the engine to verify:
  {"verified": [{"library": str, "index": int, "sub": str}],
   "signed": [{"library": str, "kid": str, "sub": str, "token": str}]}

Any verification failure exits with status 1 and a message on standard error.
"""

import json
import sys

import jwt as pyjwt
from joserfc import jwt as josejwt
from joserfc.jwk import ECKey, KeySet, OKPKey

ALGORITHMS = ["EdDSA", "ES256"]


def verify_with_joserfc(token, jwks, issuer, audience, now):
    key_set = KeySet.import_key_set(jwks)
    decoded = josejwt.decode(token, key_set, algorithms=ALGORITHMS)
    registry = josejwt.JWTClaimsRegistry(
        now=now,
        iss={"essential": True, "value": issuer},
        aud={"essential": True, "value": audience},
        exp={"essential": True},
        sub={"essential": True},
    )
    registry.validate(decoded.claims)
    if decoded.header.get("typ") != "at+jwt":
        raise ValueError("typ is not at+jwt")
    return decoded.claims["sub"]


def verify_with_pyjwt(token, jwks, issuer, audience):
    key_id = pyjwt.get_unverified_header(token)["kid"]
    key_set = pyjwt.PyJWKSet.from_dict(jwks)
    key = key_set[key_id]
    claims = pyjwt.decode(
        token,
        key,
        algorithms=ALGORITHMS,
        audience=audience,
        issuer=issuer,
        options={"require": ["exp", "iat", "iss", "sub", "aud", "jti"]},
    )
    return claims["sub"]


def claims_for(library, signer, issuer, audience, now):
    return {
        "iss": issuer,
        "sub": f"{library}-{signer['alg']}",
        "aud": audience,
        "iat": now,
        "nbf": now,
        "exp": now + 300,
        "jti": "AAAAAAAAAAAAAAAAAAAAAA",
        "sid": "interop-session",
        "scope": "read write",
    }


def sign_with_joserfc(signer, claims):
    key_type = OKPKey if signer["alg"] == "EdDSA" else ECKey
    key = key_type.import_key(signer["pkcs8_pem"])
    header = {"alg": signer["alg"], "typ": "at+jwt", "kid": signer["kid"]}
    return josejwt.encode(header, claims, key, algorithms=ALGORITHMS)


def sign_with_pyjwt(signer, claims):
    return pyjwt.encode(
        claims,
        signer["pkcs8_pem"],
        algorithm=signer["alg"],
        headers={"kid": signer["kid"], "typ": "at+jwt"},
    )


def main():
    if len(sys.argv) != 3:
        sys.exit("usage: interop.py INPUT.json OUTPUT.json")
    with open(sys.argv[1], encoding="utf-8") as file:
        given = json.load(file)
    issuer, audience, now, jwks = given["issuer"], given["audience"], given["now"], given["jwks"]

    verified = []
    for index, entry in enumerate(given["tokens"]):
        for library, verify in (
            ("joserfc", lambda t: verify_with_joserfc(t, jwks, issuer, audience, now)),
            ("pyjwt", lambda t: verify_with_pyjwt(t, jwks, issuer, audience)),
        ):
            try:
                subject = verify(entry["token"])
            except Exception as error:  # report which library rejected which token
                print(f"{library} rejected engine token {index}: {error!r}", file=sys.stderr)
                sys.exit(1)
            if subject != entry["sub"]:
                print(f"{library} read sub {subject!r} from token {index}", file=sys.stderr)
                sys.exit(1)
            verified.append({"library": library, "index": index, "sub": subject})

    signed = []
    for signer in given["signers"]:
        for library, sign in (("joserfc", sign_with_joserfc), ("pyjwt", sign_with_pyjwt)):
            claims = claims_for(library, signer, issuer, audience, now)
            token = sign(signer, claims)
            signed.append({"library": library, "kid": signer["kid"], "sub": claims["sub"], "token": token})

    with open(sys.argv[2], "w", encoding="utf-8") as file:
        json.dump({"verified": verified, "signed": signed}, file)


if __name__ == "__main__":
    main()
