"""Schemathesis hooks for Vouch: deliveries to the webhook routes are signed as job software
signs them, so the fuzzer reaches past the signature check into the payload decoding."""

import base64
import hashlib
import hmac
import json
import os
import time
import uuid

import schemathesis

BUSINESS = os.environ["VOUCH_BUSINESS_ID"]
SECRET = os.environ["VOUCH_WEBHOOK_SECRET"]
KEY = base64.b64decode(SECRET.removeprefix("whsec_"))
STANDARD = ("webhook-id", "webhook-timestamp", "webhook-signature")
# The Housecall Pro signing secret scripts/api-fuzz.sh saves in the business's settings.
HCP_SECRET = os.environ["VOUCH_HCP_SECRET"].encode()
HCP_HEADERS = ("api-timestamp", "api-signature")


def raw_body(case):
    """The bytes the requests transport sends for a JSON body."""
    if case.body is None or type(case.body).__name__ == "NotSet":
        return b""
    if isinstance(case.body, (bytes, bytearray)):
        return bytes(case.body)
    return json.dumps(case.body, allow_nan=False).encode("utf-8")


@schemathesis.hook
def before_call(ctx, case, kwargs):
    path = case.operation.path
    if not path.startswith("/webhooks/"):
        return
    headers = case.headers if case.headers is not None else {}
    if path == "/webhooks/{business_id}":
        # Only a case that carries the headers is signed; one that leaves them out is meant to
        # be refused.
        if not all(name in headers for name in STANDARD):
            return
        case.path_parameters["business_id"] = BUSINESS
        delivery = str(uuid.uuid4())
        timestamp = str(int(time.time()))
        signed = f"{delivery}.{timestamp}.".encode() + raw_body(case)
        digest = base64.b64encode(hmac.new(KEY, signed, hashlib.sha256).digest()).decode()
        headers.update({"webhook-id": delivery, "webhook-timestamp": timestamp,
                        "webhook-signature": f"v1,{digest}"})
    elif path == "/webhooks/{business_id}/housecallpro":
        if not all(name in headers for name in HCP_HEADERS):
            return
        case.path_parameters["business_id"] = BUSINESS
        timestamp = str(int(time.time()))
        signed = f"{timestamp}.".encode() + raw_body(case)
        headers.update({"api-timestamp": timestamp,
                        "api-signature": hmac.new(HCP_SECRET, signed, hashlib.sha256).hexdigest()})
    case.headers = headers
