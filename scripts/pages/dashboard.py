#!/usr/bin/env python3
"""The staff dashboard in a real headless Chromium, as the office uses it.

Run by `scripts/pages.sh` (in `make test`) after the public pages, against the same local Vouch
(`make dev`'s server with its demo owner). Signs in through the login form (a wrong password
first), opens every page at 390 px and 1280 px, invites a staff member whose name is a
`<script>` through the staff page, accepts the invite in a second browser through the invite
form (a mismatched password first), checks that staff cannot reach owner pages, that a forged
CSRF token is refused and changes nothing, that removing the member ends their session at once,
and that the audit names who added them. Screenshots go to target/screenshots/dashboard-*.png.
"""

import json
import os
import sys

from selenium.webdriver.common.by import By
from selenium.common.exceptions import WebDriverException
from selenium.webdriver.support.ui import WebDriverWait

sys.path.insert(0, os.path.dirname(__file__))
from check import DESKTOP, PHONE, SHOTS, browser, call, clean_console, fail, fits  # noqa: E402

HOSTILE = "Sam <script>window.pwned=1</script>"
LEAD = "Dana <script>window.pwned=1</script>"


def shot(driver, name):
    driver.save_screenshot(str(SHOTS / f"dashboard-{name}.png"))


def heading(driver):
    return driver.find_element(By.TAG_NAME, "h1").text


def fill(driver, fields):
    for name, value in fields.items():
        element = driver.find_element(By.NAME, name)
        if element.tag_name == "select":
            element.find_element(By.CSS_SELECTOR, f"option[value='{value}']").click()
        else:
            element.clear()
            element.send_keys(value)


def navigates(driver, act):
    """Does `act` (a click that submits a form) and waits for the page it leads to."""
    driver.execute_script("window.__before = true")
    act()
    WebDriverWait(driver, 10, ignored_exceptions=[WebDriverException]).until(
        lambda d: d.execute_script(
            "return window.__before === undefined && document.readyState === 'complete'"))


def submit(driver, form_css="main form"):
    """Submits a form and waits for the page it leads to."""
    button = driver.find_element(By.CSS_SELECTOR, f"{form_css} button[type=submit]")
    navigates(driver, button.click)


def expected_errors(driver):
    """Drops the console's note of an error status the test asked for (a refused form)."""
    driver.get_log("browser")


def check_page(driver, name, width):
    fits(driver, name, width)
    clean_console(driver, name)
    if driver.execute_script("return window.pwned === 1"):
        fail(f"{name}: a name ran as a script")


def main():
    session = json.load(open(os.environ["VOUCH_SESSION_FILE"]))
    base, key = session["base_url"], session["admin_api_key"]
    email, password = session["owner_email"], session["owner_password"]
    SHOTS.mkdir(parents=True, exist_ok=True)

    owner = browser(PHONE)
    sam = browser(PHONE)
    try:
        # Signed out, the dashboard is the sign-in page.
        owner.get(f"{base}/admin")
        if not owner.current_url.endswith("/admin/login") or heading(owner) != "Sign in":
            fail(f"signed out, /admin showed {owner.current_url}")
        check_page(owner, "login", PHONE[0])
        shot(owner, "login-phone")
        fill(owner, {"email": email, "password": "not the password"})
        submit(owner)
        alert = owner.find_element(By.CSS_SELECTOR, ".alert").text
        if "don't match" not in alert:
            fail(f"a wrong password said {alert!r}")
        expected_errors(owner)
        shot(owner, "login-error-phone")
        fill(owner, {"email": email, "password": password})
        submit(owner)
        if not owner.current_url.endswith("/admin"):
            fail(f"signing in led to {owner.current_url}")
        cards = owner.find_elements(By.CSS_SELECTOR, ".cards .stat")
        if len(cards) != 6 or not owner.find_elements(By.CSS_SELECTOR, ".chart svg rect"):
            fail("the home page's figures or chart")
        check_page(owner, "home", PHONE[0])
        shot(owner, "home-phone")

        # A held mention from the website form, by a lead whose name is markup: approving it
        # through the review page picks the referrer, and the history names who approved.
        lead = call("POST", f"{base}/api/leads", {
            "business_id": session["business_id"], "name": LEAD, "phone": "512-555-0166",
            "referred_by": "Maria Garcia"})
        owner.get(f"{base}/admin/review")
        check_page(owner, "review", PHONE[0])
        if LEAD not in owner.find_element(By.TAG_NAME, "main").text:
            fail("the held lead's name is not shown as text")
        shot(owner, "review-phone")
        card = [c for c in owner.find_elements(By.CSS_SELECTOR, ".rows > li") if LEAD in c.text][0]
        card.find_element(By.CSS_SELECTOR, "input[type=radio]").click()
        navigates(owner, card.find_element(By.XPATH, ".//button[text()='Approve']").click)
        if LEAD in owner.find_element(By.TAG_NAME, "main").text:
            fail("the approved referral is still waiting")
        check_page(owner, "review (after)", PHONE[0])
        referrals = call("GET", f"{base}/api/admin/referrals?status=pending", key=key)["items"]
        approved = [r for r in referrals if r["lead"]["customer_id"] == lead["customer_id"]] \
            if "customer_id" in lead else [r for r in referrals if r["lead"]["name"] == LEAD]
        if not approved or approved[0]["history"][-1].get("by") != "Olivia Owens (owner)" \
                or approved[0]["referrer"]["name"] != "Maria Garcia":
            fail(f"the approval through the page: {approved}")

        # An issued reward marked redeemed, with a note, through the rewards page.
        owner.get(f"{base}/admin/rewards?status=issued")
        check_page(owner, "rewards", PHONE[0])
        shot(owner, "rewards-phone")
        first = owner.find_element(By.CSS_SELECTOR, ".rows > li form")
        reward_id = first.get_attribute("action").rsplit("/", 1)[1]
        first.find_element(By.NAME, "note").send_keys("Used on the spring tune-up")
        navigates(owner, first.find_element(By.CSS_SELECTOR, "button[value=redeemed]").click)
        redeemed = [r for r in call("GET", f"{base}/api/admin/rewards?status=redeemed", key=key)["items"]
                    if r["reward_id"] == reward_id]
        if not redeemed or not any(c["by"] == "Olivia Owens (owner)"
                                   and c["note"] == "Used on the spring tune-up"
                                   for c in redeemed[0]["audit"]):
            fail(f"the reward marked redeemed through the page: {redeemed}")
        owner.get(f"{base}/admin/rewards?status=redeemed")
        if "Olivia Owens (owner)" not in owner.find_element(By.TAG_NAME, "main").get_attribute("textContent"):
            fail("the reward's history does not name who redeemed it")
        check_page(owner, "rewards (redeemed)", PHONE[0])

        # Participants: search, a participant's page with the QR, their own reward, and a
        # customer enrolled by hand (a bad phone first: its reason shows beside the field).
        owner.get(f"{base}/admin/participants")
        check_page(owner, "participants", PHONE[0])
        shot(owner, "participants-phone")
        fill(owner, {"q": "Maria"})
        submit(owner, "form.search")
        owner.find_element(By.LINK_TEXT, "Open").click()
        WebDriverWait(owner, 10).until(lambda d: "/admin/participants/" in d.current_url)
        qr = owner.find_element(By.CSS_SELECTOR, ".share img")
        if not owner.execute_script("return arguments[0].complete && arguments[0].naturalWidth > 0", qr):
            fail("the participant's QR code did not load")
        fill(owner, {"type": "service_credit", "amount": "40", "description": "Loyal customer credit"})
        submit(owner, "form[action$='/reward']")
        if "$40 Loyal customer credit" not in owner.find_element(By.TAG_NAME, "main").text:
            fail("the participant's own reward was not saved")
        check_page(owner, "participant", PHONE[0])
        shot(owner, "participant-phone")
        owner.get(f"{base}/admin/participants")
        fill(owner, {"id": "walk-in-7", "first_name": "Lee", "phone": "12"})
        submit(owner, "section form[action='/admin/participants']")
        reasons = [e.text for e in owner.find_elements(By.CSS_SELECTOR, ".field-error")]
        if not any(r.startswith("Phone") for r in reasons):
            fail(f"a bad phone's reason was not shown: {reasons}")
        expected_errors(owner)
        fill(owner, {"phone": "512-555-0177"})
        submit(owner, "section form[action='/admin/participants']")
        if heading(owner) != "Lee":
            fail(f"manual enrolment led to {heading(owner)}")

        # Manual attribution: a website lead who named nobody, credited to Maria by hand.
        call("POST", f"{base}/api/leads", {
            "business_id": session["business_id"], "name": "Pat Quinn", "phone": "512-555-0199"})
        owner.get(f"{base}/admin/attribute?lead_q=Pat&referrer_q=Maria")
        check_page(owner, "attribute", PHONE[0])
        owner.find_element(By.CSS_SELECTOR, "input[name=lead_customer_id]").click()
        owner.find_element(By.CSS_SELECTOR, "input[name=referrer_customer_id]").click()
        shot(owner, "attribute-phone")
        submit(owner, "main form[method=post]")
        if heading(owner) != "Maria Garcia" or "Pat Quinn" not in owner.find_element(By.TAG_NAME, "main").text:
            fail(f"manual attribution led to {heading(owner)}")

        # The leaderboard and the reports (a refused range shows each date's reason).
        owner.get(f"{base}/admin/leaderboard")
        if not owner.find_elements(By.CSS_SELECTOR, "ol.rows li"):
            fail("the leaderboard page is empty after the demo")
        check_page(owner, "leaderboard", PHONE[0])
        shot(owner, "leaderboard-phone")
        owner.get(f"{base}/admin/reports")
        if not owner.find_elements(By.CSS_SELECTOR, ".chart svg rect") or \
                not owner.find_elements(By.LINK_TEXT, "Download CSV"):
            fail("the reports page's chart or CSV link")
        check_page(owner, "reports", PHONE[0])
        shot(owner, "reports-phone")
        owner.get(f"{base}/admin/reports?from=2026-05-01&to=2026-04-01")
        if not owner.find_elements(By.ID, "from-error"):
            fail("a refused range did not say why beside the date")
        expected_errors(owner)

        # Settings: refused values show their reasons beside the fields and change nothing;
        # a good change is saved.
        owner.get(f"{base}/admin/settings")
        check_page(owner, "settings", PHONE[0])
        shot(owner, "settings-phone")
        fill(owner, {"tier1_from": "1", "tier1_amount": "abc", "hold_days": "two"})
        submit(owner, "form[action='/admin/settings']")
        reasons = " ".join(e.text for e in owner.find_elements(By.CSS_SELECTOR, ".field-error"))
        if "Hold before issuing must be a whole number" not in reasons or "Tier 2: amount" not in reasons:
            fail(f"refused settings did not say why beside the fields: {reasons!r}")
        expected_errors(owner)
        shot(owner, "settings-errors-phone")
        owner.get(f"{base}/admin/settings")
        # The segment count follows the typing (the page's one script asks the server).
        fill(owner, {"template_invitation": "Hi {first_name}! " + "x" * 170 + " {link}"})
        WebDriverWait(owner, 10).until(
            lambda d: d.find_element(By.ID, "count-invitation").text.startswith("2 segments"))
        owner.get(f"{base}/admin/settings")
        fill(owner, {"hold_days": "2"})
        submit(owner, "form[action='/admin/settings']")
        if "Saved" not in owner.find_element(By.TAG_NAME, "main").text:
            fail("a good settings change was not saved")
        if call("GET", f"{base}/api/admin/settings", key=key)["hold_days"] != 2:
            fail("the saved hold is not in the settings")

        # Housecall Pro: a secret too short is refused beside its field and never shown back;
        # a good one connects, and the page says so without ever showing it.
        owner.get(f"{base}/admin/settings")
        fill(owner, {"hcp_signing_secret": "tooshort"})
        submit(owner, "form[action='/admin/settings']")
        if not owner.find_elements(By.ID, "hcp_signing_secret-error"):
            fail("a refused signing secret did not say why beside its field")
        if "tooshort" in owner.page_source:
            fail("a typed signing secret was shown back")
        expected_errors(owner)
        hcp_secret = "hcp-pages-check-signing-secret-42"
        owner.get(f"{base}/admin/settings")
        fill(owner, {"hcp_signing_secret": hcp_secret})
        submit(owner, "form[action='/admin/settings']")
        owner.get(f"{base}/admin/settings")
        main = owner.find_element(By.TAG_NAME, "main").text
        if "Connected" not in main or "/housecallpro" not in main:
            fail(f"the settings do not say Housecall Pro is connected, or where it sends: {main[-400:]!r}")
        if hcp_secret in owner.page_source:
            fail("the saved signing secret is on the page")
        if call("GET", f"{base}/api/admin/settings", key=key)["integrations"]["housecallpro"] != {"configured": True}:
            fail("the saved signing secret is not configured in the settings")
        owner.execute_script("document.getElementById('hcp_signing_secret').scrollIntoView()")
        shot(owner, "settings-integrations-phone")

        # Gift cards from Tremendous: a bad funding source is refused beside its field (the
        # typed key never shown back); a good key connects, shown as such and never on the page.
        gc_key = "TEST_pages-check-gift-card-key"
        owner.get(f"{base}/admin/settings")
        fill(owner, {"gc_api_key": gc_key, "gc_funding_source": "not a source"})
        submit(owner, "form[action='/admin/settings']")
        if not owner.find_elements(By.ID, "gc_funding_source-error"):
            fail("a refused funding source did not say why beside its field")
        if gc_key in owner.page_source:
            fail("a typed gift-card API key was shown back")
        expected_errors(owner)
        owner.get(f"{base}/admin/settings")
        fill(owner, {"gc_api_key": gc_key, "gc_funding_source": "balance"})
        submit(owner, "form[action='/admin/settings']")
        owner.get(f"{base}/admin/settings")
        if "Ordered from Tremendous" not in owner.find_element(By.TAG_NAME, "main").text:
            fail("the settings do not say gift cards are ordered from Tremendous")
        if gc_key in owner.page_source:
            fail("the saved gift-card API key is on the page")
        shown = call("GET", f"{base}/api/admin/settings", key=key)["integrations"]["gift_cards"]
        if shown != {"configured": True, "provider": "tremendous", "funding_source_id": "balance"}:
            fail(f"the gift-card provider is not configured as saved: {shown}")
        owner.execute_script("document.getElementById('gc_api_key').scrollIntoView()")
        shot(owner, "settings-gift-cards-phone")

        # Jobber: the app's client id and secret saved (the secret never shown back), then
        # "Connect Jobber" through the stand-in's authorize page and back to the settings, which
        # name the connected account.
        jobber = session["jobber"]
        owner.get(f"{base}/admin/settings")
        if owner.find_elements(By.NAME, "jb_remove"):
            # Connected by the demo run before these checks: disconnect first, from this page.
            owner.find_element(By.NAME, "jb_remove").click()
            submit(owner, "form[action='/admin/settings']")
            owner.get(f"{base}/admin/settings")
            if "Not connected. In Jobber" not in owner.find_element(By.TAG_NAME, "main").text:
                fail("removing the Jobber app did not disconnect it")
        fill(owner, {"jb_client_id": jobber["client_id"], "jb_client_secret": jobber["client_secret"]})
        submit(owner, "form[action='/admin/settings']")
        owner.get(f"{base}/admin/settings")
        if jobber["client_secret"] in owner.page_source:
            fail("the saved Jobber client secret is on the page")
        connect = owner.find_elements(By.CSS_SELECTOR, "a[href='/integrations/jobber/connect']")
        if not connect:
            text = owner.find_element(By.TAG_NAME, "main").text
            fail("no Connect Jobber link once the app is saved: " + text[text.find("Jobber"):][:1500])
        owner.execute_script("document.getElementById('jobber').scrollIntoView()")
        shot(owner, "settings-jobber-saved-phone")
        navigates(owner, connect[0].click)
        if "jobber=connected" not in owner.current_url:
            fail(f"Connect Jobber did not come back connected: {owner.current_url}")
        if "Connected: Riverside Plumbing (stand-in)" not in owner.find_element(By.TAG_NAME, "main").text:
            fail("the settings do not name the connected Jobber account")
        check_page(owner, "settings (Jobber connected)", PHONE[0])
        owner.execute_script("document.getElementById('jobber').scrollIntoView()")
        shot(owner, "settings-jobber-phone")

        # The texts the demo sent, with their segments.
        owner.get(f"{base}/admin/texts")
        texts = owner.find_elements(By.CSS_SELECTOR, ".rows .sms")
        if not texts or "segment" not in owner.find_element(By.CSS_SELECTOR, ".rows").text:
            fail("the texts page lists no texts")
        check_page(owner, "texts", PHONE[0])
        shot(owner, "texts-phone")

        # Invite a member whose name is markup: it shows as text and never runs.
        owner.get(f"{base}/admin/staff")
        check_page(owner, "staff", PHONE[0])
        fill(owner, {"name": HOSTILE, "email": "sam@localhost", "role": "staff"})
        submit(owner, "form[action='/admin/staff']")
        reasons = [e.text for e in owner.find_elements(By.CSS_SELECTOR, ".field-error")]
        if not any(r.startswith("Email") for r in reasons):
            fail(f"an invalid email's reason was not shown: {reasons}")
        expected_errors(owner)
        shot(owner, "staff-error-phone")
        fill(owner, {"name": HOSTILE, "email": "sam@example.com", "role": "staff"})
        submit(owner, "form[action='/admin/staff']")
        invite_url = owner.find_element(By.CSS_SELECTOR, "input.copy").get_attribute("value")
        if "/admin/invite/" not in invite_url:
            fail(f"no invite link: {invite_url!r}")
        if HOSTILE not in owner.find_element(By.CSS_SELECTOR, ".rows").text:
            fail("the hostile name is not shown as text")
        check_page(owner, "staff (invited)", PHONE[0])
        shot(owner, "staff-phone")
        members = call("GET", f"{base}/api/admin/staff", key=key)["items"]
        added = [m for m in members if m["email"] == "sam@example.com"]
        if not added or added[0]["added_by"] != "Olivia Owens (owner)":
            fail(f"the audit of the invite: {members}")

        # Sam sets a password through the invite link, in a browser of their own.
        sam.get(invite_url)
        shot(sam, "invite-phone")
        check_page(sam, "invite", PHONE[0])
        fill(sam, {"password": "sam's long password", "confirm": "something else entirely"})
        submit(sam)
        if "doesn't match" not in sam.find_element(By.CSS_SELECTOR, ".field-error").text:
            fail("a mismatched confirmation was not explained")
        expected_errors(sam)
        fill(sam, {"password": "sam's long password", "confirm": "sam's long password"})
        submit(sam)
        if not sam.current_url.endswith("/admin"):
            fail(f"accepting the invite led to {sam.current_url}")
        if sam.find_elements(By.LINK_TEXT, "Staff"):
            fail("staff see the owners' Staff section")
        sam.get(f"{base}/admin/settings")
        if heading(sam) != "Owners only":
            fail(f"staff reached the settings: {heading(sam)}")
        expected_errors(sam)
        sam.get(f"{base}/admin/staff")
        if heading(sam) != "Owners only":
            fail(f"staff reached the staff page: {heading(sam)}")
        expected_errors(sam)
        sam.get(invite_url)
        if "can't be used" not in heading(sam):
            fail("an invite link worked twice")
        expected_errors(sam)

        # A forged CSRF token is refused and changes nothing.
        owner.get(f"{base}/admin/staff")
        owner.execute_script(
            "document.querySelector(\"form[action$='/remove'] input[name=csrf]\").value = 'forged'")
        submit(owner, "form[action$='/remove']")
        if heading(owner) != "This form has expired":
            fail(f"a forged token was not refused: {heading(owner)}")
        shot(owner, "forged-csrf-phone")
        expected_errors(owner)
        if not [m for m in call("GET", f"{base}/api/admin/staff", key=key)["items"]
                if m["email"] == "sam@example.com"]:
            fail("a forged form removed someone")

        # Removing Sam ends their session at once.
        sam.get(f"{base}/admin")
        if not sam.current_url.endswith("/admin"):
            fail("Sam was not signed in")
        owner.get(f"{base}/admin/staff")
        submit(owner, "form[action$='/remove']")
        if HOSTILE in owner.find_element(By.TAG_NAME, "main").text:
            fail("Sam is still listed")
        sam.get(f"{base}/admin")
        if not sam.current_url.endswith("/admin/login"):
            fail(f"a removed member's session lives on: {sam.current_url}")

        # Signing out ends the owner's session.
        owner.get(f"{base}/admin")
        submit(owner, "form[action='/admin/logout']")
        owner.get(f"{base}/admin")
        if not owner.current_url.endswith("/admin/login"):
            fail("signing out did not end the session")
    finally:
        owner.quit()
        sam.quit()

    desktop = browser(DESKTOP)
    try:
        desktop.get(f"{base}/admin/login")
        fill(desktop, {"email": email, "password": password})
        submit(desktop)
        check_page(desktop, "home (desktop)", DESKTOP[0])
        shot(desktop, "home-desktop")
        for page in ["staff", "settings", "participants", "review", "attribute", "rewards",
                     "leaderboard", "reports", "texts"]:
            desktop.get(f"{base}/admin/{page}")
            check_page(desktop, f"{page} (desktop)", DESKTOP[0])
            shot(desktop, f"{page}-desktop")
        desktop.get(f"{base}/admin/settings")
        desktop.execute_script("document.getElementById('hcp_signing_secret').scrollIntoView()")
        shot(desktop, "settings-integrations-desktop")
        desktop.execute_script("document.getElementById('gc_api_key').scrollIntoView()")
        shot(desktop, "settings-gift-cards-desktop")
        desktop.execute_script("document.getElementById('jobber').scrollIntoView()")
        shot(desktop, "settings-jobber-desktop")
    finally:
        desktop.quit()
    print(f"dashboard: ok; screenshots in {SHOTS}/dashboard-*.png")


if __name__ == "__main__":
    main()
