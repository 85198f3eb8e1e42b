#!/usr/bin/env python3
"""The whole referral loop against a running `make dev`, driven as its users would drive it.

    make demo          (or: .venv/bin/python scripts/demo.py)

1. The job software's signed webhooks make Rosa a happy customer: she is enrolled and invited.
2. Her friend clicks her link and fills in the business website's plain form.
3. The software sends the friend as a customer and invoices the friend's job.
4. The bus hands `referral.qualified` to the reward issuer: Rosa gets one $25 credit, a reward
   text and a thank-you text.
5. Two more friends close: the third closed referral pays the third tier ($50).
6. Staff delete the first attribution: its reward is reversed on the ledger.
7. Jobber: the owner saves the Jobber app and connects the stand-in's account through Jobber's
   authorize page; a client of the business refers a new client, whose request names her in
   "Jobber"; the job is done, invoiced and paid there; Vouch reads each change back from Jobber's
   API and the referrer is rewarded.

Reads the keys `make dev` wrote to .local/dev-session.json. Exits non-zero if any check fails.
"""

import json
import os
import random
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from datetime import datetime, timezone

from standardwebhooks.webhooks import Webhook

SESSION = os.environ.get("VOUCH_SESSION_FILE", ".local/dev-session.json")


class NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None


OPENER = urllib.request.build_opener(NoRedirect)


def call(method, url, body=None, headers=None, form=False):
    headers = dict(headers or {})
    data = None
    if body is not None:
        if form:
            data = urllib.parse.urlencode(body).encode()
            headers["Content-Type"] = "application/x-www-form-urlencoded"
        else:
            data = json.dumps(body).encode()
            headers["Content-Type"] = "application/json"
    request = urllib.request.Request(url, data=data, method=method, headers=headers)
    try:
        with OPENER.open(request) as response:
            return response.status, dict(response.headers), response.read().decode()
    except urllib.error.HTTPError as err:
        return err.code, dict(err.headers), err.read().decode()


class Demo:
    def __init__(self, session):
        self.s = session
        self.base = session["base_url"]
        self.admin = {"Authorization": f"Bearer {session['admin_api_key']}"}
        self.hook = Webhook(session["webhook_secret"])
        self.failures = 0

    def check(self, ok, what):
        print(f"  {'ok ' if ok else 'FAIL'} {what}")
        if not ok:
            self.failures += 1

    def webhook(self, kind, data):
        body = json.dumps({"type": kind, "timestamp": datetime.now(timezone.utc).isoformat(), "data": data})
        msg_id = f"msg_{random.getrandbits(64):x}"
        now = datetime.now(timezone.utc)
        signature = self.hook.sign(msg_id, now, body)
        headers = {"webhook-id": msg_id, "webhook-timestamp": str(int(now.timestamp())),
                   "webhook-signature": signature, "Content-Type": "application/json"}
        request = urllib.request.Request(f"{self.base}/webhooks/{self.s['business_id']}",
                                         data=body.encode(), method="POST", headers=headers)
        with urllib.request.urlopen(request) as response:
            assert response.status == 200, response.read()

    def get(self, path):
        status, _, body = call("GET", f"{self.base}{path}", headers=self.admin)
        assert status == 200, f"GET {path}: {status} {body}"
        return json.loads(body)

    def customer(self, cid, first, last, phone):
        self.webhook("customer.upserted", {"customer": {"id": cid, "first_name": first, "last_name": last,
                                                        "phone": phone, "sms_consent": True}})

    def friend_closes(self, code, cid, first, phone, total):
        """The friend clicks the link, sends the website form, becomes the software's customer, is invoiced."""
        status, headers, _ = call("GET", f"{self.base}/r/{code}?ch=sms",
                                  headers={"User-Agent": "Mozilla/5.0 (iPhone)"})
        landing = headers.get("Location") or headers.get("location")
        query = dict(urllib.parse.parse_qsl(urllib.parse.urlparse(landing).query))
        # The landing page's plain form, posted as a browser would.
        form = {"business_id": self.s["business_id"], "name": f"{first} Demo", "phone": phone,
                "message": "Water heater", "ref": query["ref"], "vclid": query.get("vclid", ""),
                "website": ""}
        status, headers, _ = call("POST", f"{self.base}/api/leads", form, form=True,
                                  headers={"Origin": self.base})
        self.check(status == 303, f"{first}: link 302 → landing page, form post 303 → thank-you page")
        self.customer(cid, first, "Demo", phone)
        self.webhook("job.status_changed", {"job": {"id": f"job-{cid}", "customer_id": cid,
                                                    "status": "invoiced", "invoice_total_cents": total}})

    def rewards_of(self, customer, count, timeout=20):
        deadline = time.time() + timeout
        while True:
            detail = self.get(f"/api/admin/participants/{customer}")
            settled = [r for r in detail["rewards"] if r["status"] != "pending"]
            if len(settled) >= count or time.time() > deadline:
                return detail
            time.sleep(0.5)

    def send_deferred(self):
        """Texts deferred by quiet hours go out when the window opens: run the scheduler as of
        then (the local stand-in's time travel) instead of waiting for the morning."""
        deferred = self.get("/api/admin/messages?status=deferred&limit=100")["items"]
        due = sorted(m["due_at"] for m in deferred if m.get("reason") == "quiet_hours" and m.get("due_at"))
        if due:
            print(f"  ..  {len(deferred)} text(s) deferred by quiet hours; running the scheduler as of {due[-1]}")
            call("POST", f"{self.base}/_local/scheduler/run?now={urllib.parse.quote(due[-1])}")

    def texts_to(self, phone):
        with urllib.request.urlopen(f"{self.s['emulator']}/moto-api/data.json") as response:
            data = json.load(response)
        return [t["message"] for t in data.get("sns", {}).get("SMS", []) if t.get("phone_number") == phone]


def jobber_leg(d, run):
    jobber = d.s["jobber"]
    status, _, body = call("PUT", f"{d.base}/api/admin/settings", headers=d.admin, body={
        "integrations": {"jobber": {"client_id": jobber["client_id"],
                                    "client_secret": jobber["client_secret"]}}})
    d.check(status == 200, "the Jobber app's client id and secret saved (settings)")
    # The owner signs in and connects, as in the dashboard's settings.
    status, headers, _ = call("POST", f"{d.base}/admin/login", form=True,
                              body={"email": d.s["owner_email"], "password": d.s["owner_password"]},
                              headers={"Origin": d.base})
    cookie = {"Cookie": (headers.get("Set-Cookie") or headers.get("set-cookie") or "").split(";")[0]}
    status, headers, _ = call("GET", f"{d.base}/integrations/jobber/connect", headers=cookie)
    authorize = headers.get("Location") or headers.get("location") or ""
    status, headers, _ = call("GET", authorize)
    back = headers.get("Location") or headers.get("location") or ""
    status, headers, body = call("GET", back, headers=cookie)
    d.check(status == 303 and (headers.get("Location") or headers.get("location")) ==
            "/admin/settings?jobber=connected#jobber", "connected through Jobber's authorize page")

    def standin(path, body=None):
        status, _, text = call("POST", f"{jobber['base_url']}/_standin/{path}", body=body or {})
        assert status in (200, 201), f"{path}: {status} {text}"
        return json.loads(text) if text else {}

    phone = lambda: f"+1512{random.randint(2000000, 9999998)}"
    lucia = standin("clients", {"firstName": "Lucia", "lastName": f"Jobber{run}", "phone": phone(),
                                "smsAllowed": True})["id"]
    # Lucia is a client in Jobber; once read back, staff enrol her.
    deadline = time.time() + 20
    while True:
        status, _, _ = call("POST", f"{d.base}/api/admin/participants", headers=d.admin,
                            body={"customer_id": lucia})
        if status in (200, 201) or time.time() > deadline:
            break
        time.sleep(0.5)
    d.check(status in (200, 201), f"Lucia read back from Jobber and enrolled ({lucia})")
    friend = standin("clients", {"firstName": "Omar", "lastName": f"Jobber{run}", "phone": phone(),
                                 "smsAllowed": True})["id"]
    standin("requests", {"clientId": friend, "referringClientId": lucia})
    job = standin("jobs", {"clientId": friend, "totalCents": 38000})["id"]
    standin(f"jobs/{job}/status", {"status": "requires_invoicing"})
    invoice = standin("invoices", {"jobId": job})["id"]
    paid = standin(f"invoices/{invoice}/pay")
    d.check(paid.get("webhook_status") == 200 and paid.get("payment_webhook_status") == 200,
            "Jobber's webhooks answered 200 (queued for read-back)")
    detail = d.rewards_of(lucia, 1)
    issued = [r for r in detail["rewards"] if r["status"] == "issued"]
    d.check(len(detail["rewards"]) == 1 and len(issued) == 1 and issued[0]["amount_cents"] == 2500,
            f"Lucia rewarded once: {[(r['amount_cents'], r['status']) for r in detail['rewards']]}")


def main():
    try:
        with open(SESSION) as f:
            session = json.load(f)
    except FileNotFoundError:
        print(f"{SESSION} not found: start `make dev` first (in another terminal).")
        return 2
    d = Demo(session)
    try:
        status, _, _ = call("GET", f"{d.base}/health")
    except OSError:
        status = None
    if status != 200:
        print(f"nothing answers on {d.base}: start `make dev` first.")
        return 2

    run = str(int(time.time()))[-6:]
    rosa, rosa_phone = f"rosa-{run}", f"+1512{random.randint(2000000, 9999998)}"
    print(f"1. Signed webhooks: {rosa} finishes a job and reviews it 5/5")
    d.customer(rosa, "Rosa", "Diaz", rosa_phone)
    d.webhook("job.status_changed", {"job": {"id": f"job-{rosa}", "customer_id": rosa, "status": "completed"}})
    d.webhook("review.submitted", {"customer_id": rosa, "score": 5})
    detail = d.get(f"/api/admin/participants/{rosa}")
    code = detail["code"]
    d.check(bool(code), f"enrolled with code {code}, link {detail['link']}")
    d.send_deferred()
    d.check(any("Refer a friend" in t for t in d.texts_to(rosa_phone)), "invitation text sent (emulator SNS log)")

    print("2-4. A friend clicks the link, sends the website form, and the friend's job is invoiced")
    d.friend_closes(code, f"friend1-{run}", "Ana", f"+1512{random.randint(2000000, 9999998)}", 42000)
    detail = d.rewards_of(rosa, 1)
    issued = [r for r in detail["rewards"] if r["status"] == "issued"]
    d.check(len(detail["rewards"]) == 1 and len(issued) == 1 and issued[0]["amount_cents"] == 2500,
            f"exactly one reward: {[(r['amount_cents'], r['status']) for r in detail['rewards']]}")
    d.check(detail["credit_balance_cents"] == 2500, f"credit balance {detail['credit_balance_cents']} cents")
    d.send_deferred()
    texts = d.texts_to(rosa_phone)
    d.check(sum("earned" in t for t in texts) == 1, "one reward text")
    d.check(sum(t.startswith("Thank you") for t in texts) == 1, "one thank-you text")

    print("5. Two more friends close: the third closed referral pays the third tier")
    d.friend_closes(code, f"friend2-{run}", "Ben", f"+1512{random.randint(2000000, 9999998)}", 30000)
    d.friend_closes(code, f"friend3-{run}", "Cy", f"+1512{random.randint(2000000, 9999998)}", 30000)
    detail = d.rewards_of(rosa, 3)
    paid = sorted((r["ordinal"], r["amount_cents"]) for r in detail["rewards"])
    d.check(paid == [(1, 2500), (2, 2500), (3, 5000)], f"tiers by ordinal: {paid}")
    d.check(detail["vip"] is True, "VIP after 3 closed referrals")

    print("6. Staff delete the first attribution")
    referrals = [r for r in d.get("/api/admin/referrals?limit=100")["items"]
                 if r["referrer"] and r["referrer"]["customer_id"] == rosa]
    first = min(referrals, key=lambda r: r["created_at"] + r["referral_id"])
    status, _, _ = call("DELETE", f"{d.base}/api/admin/referrals/{first['referral_id']}", headers=d.admin)
    d.check(status == 204, "DELETE /api/admin/referrals/{id} → 204")
    detail = d.get(f"/api/admin/participants/{rosa}")
    reversed_ = [r for r in detail["rewards"] if r["status"] == "reversed"]
    d.check(len(reversed_) == 1, "its reward is reversed")
    d.check(detail["credit_balance_cents"] == 7500, f"ledger balance now {detail['credit_balance_cents']} cents")

    print("7. Jobber: connect the account, a referred client's invoice is paid in Jobber")
    jobber_leg(d, run)

    print("\nall checks passed" if d.failures == 0 else f"\n{d.failures} check(s) failed")
    return 0 if d.failures == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
