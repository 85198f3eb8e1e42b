#!/usr/bin/env python3
"""Sends one webhook to Vouch as field-service software would: signed with the Standard Webhooks
reference library (`standardwebhooks` from PyPI), not with Vouch's own code.

    scripts/send-webhook.py BASE_URL BUSINESS_ID WEBHOOK_SECRET TYPE DATA_JSON [--id ID] [--timestamp RFC3339]

Prints the HTTP status and the response body.
"""
import argparse
import datetime
import json
import sys
import urllib.error
import urllib.request
import uuid

from standardwebhooks.webhooks import Webhook


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("base_url")
    parser.add_argument("business_id")
    parser.add_argument("secret", help="the business's whsec_ secret")
    parser.add_argument("type", help="customer.upserted, lead.created, job.status_changed, review.submitted")
    parser.add_argument("data", help="the data object, as JSON")
    parser.add_argument("--id", default=None, help="webhook-id (default: a fresh one)")
    parser.add_argument("--timestamp", default=None, help="the event's RFC 3339 timestamp (default: now)")
    args = parser.parse_args()

    now = datetime.datetime.now(tz=datetime.timezone.utc)
    body = json.dumps({
        "type": args.type,
        "timestamp": args.timestamp or now.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "data": json.loads(args.data),
    })
    message_id = args.id or f"msg_{uuid.uuid4().hex}"
    signature = Webhook(args.secret).sign(message_id, now, body)
    request = urllib.request.Request(
        f"{args.base_url.rstrip('/')}/webhooks/{args.business_id}",
        data=body.encode(),
        method="POST",
        headers={
            "content-type": "application/json",
            "webhook-id": message_id,
            "webhook-timestamp": str(int(now.timestamp())),
            "webhook-signature": signature,
        },
    )
    try:
        with urllib.request.urlopen(request) as response:
            print(response.status, response.read().decode())
            return 0
    except urllib.error.HTTPError as error:
        print(error.code, error.read().decode())
        return 1


if __name__ == "__main__":
    sys.exit(main())
