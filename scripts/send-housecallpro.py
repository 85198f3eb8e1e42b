#!/usr/bin/env python3
"""Sends one delivery to Vouch as Housecall Pro signs it: `Api-Timestamp` (unix seconds) and
`Api-Signature`, hex HMAC-SHA256 of "{timestamp}.{raw body}" keyed with the account's signing
secret (the one saved in the business's settings under integrations.housecallpro).

    scripts/send-housecallpro.py BASE_URL BUSINESS_ID SIGNING_SECRET BODY

BODY is the JSON itself or @FILE (for example
@shared/http/src/webhooks/fixtures/housecallpro/job_completed.json). Prints the HTTP status and
the response body.
"""
import argparse
import hashlib
import hmac
import sys
import time
import urllib.error
import urllib.request


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("base_url")
    parser.add_argument("business_id")
    parser.add_argument("secret", help="the Housecall Pro account's signing secret")
    parser.add_argument("body", help="the JSON body, or @FILE")
    args = parser.parse_args()

    if args.body.startswith("@"):
        with open(args.body[1:], "rb") as f:
            body = f.read()
    else:
        body = args.body.encode()
    timestamp = str(int(time.time()))
    signature = hmac.new(args.secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256).hexdigest()
    request = urllib.request.Request(
        f"{args.base_url.rstrip('/')}/webhooks/{args.business_id}/housecallpro",
        data=body,
        method="POST",
        headers={"content-type": "application/json", "Api-Timestamp": timestamp, "Api-Signature": signature},
    )
    try:
        with urllib.request.urlopen(request) as response:
            print(response.status, response.read().decode())
            return 0
    except urllib.error.HTTPError as err:
        print(err.code, err.read().decode())
        return 1


if __name__ == "__main__":
    sys.exit(main())
