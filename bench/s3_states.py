"""Fresh S3 dialog submissions, one JSON body per line, each with its own signed state.

bench/s3_states.py DIALOG_JSON SECRET_BASE64 COUNT

DIALOG_JSON is what the stand-in recorded for the dialog Switchboard opened (its `state` is a
real token). Each body carries that state re-signed with a new nonce, in Switchboard's token
format (src/signing.rs: `sb1.<kid>.<payload>.<mac>`, URL-safe base64 without padding, the MAC
an HMAC-SHA256 over everything before it), so each is accepted once, as a genuine submission.
"""
import base64
import hashlib
import hmac
import json
import secrets
import sys

dialog_file, secret_b64, count = sys.argv[1], sys.argv[2], int(sys.argv[3])
dialog = json.load(open(dialog_file))["dialog"]
version, kid, payload, _mac = dialog["state"].split(".")
claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
key = base64.b64decode(secret_b64)


def b64(raw):
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


out = sys.stdout
prefix = secrets.token_hex(6)  # nonces unique across runs: a used state stays refused
for n in range(count):
    claims["n"] = f"{prefix}{n:x}"
    signed = f"{version}.{kid}.{b64(json.dumps(claims, separators=(',', ':')).encode())}"
    mac = b64(hmac.new(key, signed.encode(), hashlib.sha256).digest())
    out.write(json.dumps({
        "type": "dialog_submission", "callback_id": dialog["callback_id"],
        "state": f"{signed}.{mac}", "user_id": "benchuserid000000000000000",
        "channel_id": "benchchannelid000000000000", "team_id": "benchteamid000000000000000",
        "cancelled": False, "submission": {"version": "v1.2.3", "env": "staging"},
    }, separators=(",", ":")) + "\n")
