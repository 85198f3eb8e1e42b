#!/usr/bin/env python3
"""The public pages in a real headless Chromium, as a referrer's phone shows them.

Run by `scripts/pages.sh` (in `make test`) against a local Vouch it started: the demo's loop
gives the business referrers with closed referrals, the leaderboard is made public, and each
page is opened at 390 px (a phone) and 1280 px. Checked: the content, no sideways scrolling on
the phone, nothing blocked by the Content-Security-Policy (the console stays clean), names
shown as text, the period tabs; and the top referrer's own page: their friends and where they
stand, the sharing links, the copy button, the QR code. Screenshots go to target/screenshots/
for people to look at.
"""

import json
import os
import subprocess
import sys
import urllib.request
from pathlib import Path

from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import WebDriverWait

SHOTS = Path("target/screenshots")
PHONE = (390, 844)
DESKTOP = (1280, 900)


def fail(message):
    print(f"pages: FAILED: {message}")
    sys.exit(1)


def call(method, url, body=None, key=None):
    headers = {"Content-Type": "application/json"}
    if key:
        headers["Authorization"] = f"Bearer {key}"
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(url, data=data, method=method, headers=headers)
    with urllib.request.urlopen(request) as response:
        return json.loads(response.read() or b"null")


def browser(size):
    options = webdriver.ChromeOptions()
    options.binary_location = "/usr/bin/chromium"
    for arg in ["--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu",
                f"--window-size={size[0]},{size[1]}", "--hide-scrollbars"]:
        options.add_argument(arg)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(service=Service("/usr/bin/chromedriver"), options=options)
    # The viewport itself, not the window around it.
    driver.execute_cdp_cmd("Emulation.setDeviceMetricsOverride", {
        "width": size[0], "height": size[1], "deviceScaleFactor": 1, "mobile": size[0] < 600})
    return driver


def clean_console(driver, page):
    problems = [entry for entry in driver.get_log("browser") if entry["level"] in ("SEVERE", "WARNING")]
    if problems:
        fail(f"{page}: the console reported {problems}")


def fits(driver, page, width):
    scroll = driver.execute_script("return document.documentElement.scrollWidth")
    if scroll > width:
        fail(f"{page}: {scroll}px wide on a {width}px screen (sideways scrolling)")


def whole_page(driver, width, path):
    """A screenshot of the whole page at `width`, however long it is."""
    height = driver.execute_script("return document.documentElement.scrollHeight")
    driver.execute_cdp_cmd("Emulation.setDeviceMetricsOverride", {
        "width": width, "height": height, "deviceScaleFactor": 1, "mobile": width < 600})
    driver.save_screenshot(str(path))


def referrer_page(base, key, printed):
    """The top referrer's own page on a phone (the demo's Rosa): friends, sharing, copy, QR; a
    forged link finds nothing. The link `make dev` printed for Maria opens too."""
    if call("GET", printed.replace("/me/", "/api/public/me/"))["first_name"] != "Maria":
        fail("the page link make dev printed")
    top = call("GET", f"{base}/api/admin/participants?sort=closed&limit=1", key=key)["items"][0]
    detail = call("GET", f"{base}/api/admin/participants/{top['customer_id']}", key=key)
    url = detail["status_url"]
    expected = call("GET", url.replace("/me/", "/api/public/me/"))
    if not expected["friends"]:
        fail("the demo left its top referrer without friends on their page")
    phone = browser(PHONE)
    try:
        phone.execute_cdp_cmd("Browser.grantPermissions", {
            "origin": base, "permissions": ["clipboardReadWrite", "clipboardSanitizedWrite"]})
        phone.get(url)
        if phone.find_element(By.TAG_NAME, "h1").text != f"Hi {expected['first_name']}!":
            fail("the referrer page's heading")
        names = [row.find_element(By.CLASS_NAME, "name").text
                 for row in phone.find_elements(By.CSS_SELECTOR, "ol.friends li")]
        if names != [friend["name"] for friend in expected["friends"]]:
            fail(f"friends {names} are not the page's {expected['friends']}")
        hrefs = [a.get_attribute("href") for a in phone.find_elements(By.CSS_SELECTOR, ".share a")]
        if [h.split(":")[0] for h in hrefs] != ["sms", "https", "mailto"] or "wa.me" not in hrefs[1]:
            fail(f"the sharing links: {hrefs}")
        if expected["next_reward"]["sentence"] not in phone.find_element(By.CSS_SELECTOR, ".next").text:
            fail("the next reward's sentence")
        fits(phone, "referrer page", PHONE[0])
        clean_console(phone, "referrer page")
        phone.save_screenshot(str(SHOTS / "me-phone.png"))
        copy = phone.find_element(By.CSS_SELECTOR, "button[data-copy]")
        if not copy.is_displayed():
            fail("the copy button stayed hidden: its script did not run")
        copy.click()
        WebDriverWait(phone, 5).until(lambda d: copy.text == "Copied!")
        phone.find_element(By.TAG_NAME, "summary").click()
        qr = phone.find_element(By.CSS_SELECTOR, ".qr svg")
        if not qr.is_displayed() or qr.size["width"] < 150:
            fail("the QR code")
        clean_console(phone, "referrer page (copied, QR shown)")
        whole_page(phone, PHONE[0], SHOTS / "me-phone-whole.png")
        phone.get(url[:-3] + ("AAA" if not url.endswith("AAA") else "BBB"))
        if "isn't available" not in phone.find_element(By.TAG_NAME, "h1").text:
            fail("a forged page link was not refused")
    finally:
        phone.quit()
    desktop = browser(DESKTOP)
    try:
        desktop.get(url)
        clean_console(desktop, "referrer page (desktop)")
        desktop.save_screenshot(str(SHOTS / "me-desktop.png"))
    finally:
        desktop.quit()
    return len(expected["friends"])


def main():
    session = json.load(open(os.environ["VOUCH_SESSION_FILE"]))
    base, business, key = session["base_url"], session["business_id"], session["admin_api_key"]
    subprocess.run([sys.executable, "scripts/demo.py"], check=True, stdout=subprocess.DEVNULL)
    call("PUT", f"{base}/api/admin/settings", {"public_leaderboard": True}, key)
    expected = call("GET", f"{base}/api/public/leaderboard/{business}")["items"]
    if not expected:
        fail("the demo left the leaderboard empty")
    SHOTS.mkdir(parents=True, exist_ok=True)

    phone = browser(PHONE)
    try:
        url = f"{base}/leaderboard/{business}"
        phone.get(url)
        if phone.find_element(By.TAG_NAME, "h1").text != "Top referrers":
            fail("the leaderboard's heading")
        rows = phone.find_elements(By.CSS_SELECTOR, "ol.board li")
        names = [row.find_element(By.CLASS_NAME, "name").text.replace(" VIP", "") for row in rows]
        if names != [item["name"] for item in expected]:
            fail(f"rows {names} are not the leaderboard's {expected}")
        fits(phone, "leaderboard", PHONE[0])
        clean_console(phone, "leaderboard")
        phone.save_screenshot(str(SHOTS / "leaderboard-phone.png"))
        # The tabs switch the period and say which is shown.
        phone.find_element(By.LINK_TEXT, "This month").click()
        WebDriverWait(phone, 10).until(
            lambda d: "period=month" in d.current_url
            and d.execute_script("return document.readyState") == "complete")
        current = phone.find_element(By.CSS_SELECTOR, "nav a[aria-current]").text
        if current != "This month" or "period=month" not in phone.current_url:
            fail(f"the month tab: {current} at {phone.current_url}")
        fits(phone, "leaderboard (month)", PHONE[0])
        clean_console(phone, "leaderboard (month)")
        phone.save_screenshot(str(SHOTS / "leaderboard-month-phone.png"))
        phone.get(f"{base}/leaderboard/no-such-business")
        if "isn't available" not in phone.find_element(By.TAG_NAME, "h1").text:
            fail("the missing leaderboard's page")
        fits(phone, "not found", PHONE[0])
        phone.save_screenshot(str(SHOTS / "leaderboard-missing-phone.png"))
    finally:
        phone.quit()

    desktop = browser(DESKTOP)
    try:
        desktop.get(f"{base}/leaderboard/{business}?period=year")
        clean_console(desktop, "leaderboard (desktop)")
        desktop.save_screenshot(str(SHOTS / "leaderboard-desktop.png"))
    finally:
        desktop.quit()
    friends = referrer_page(base, key, session["referrer_status_url"])
    print(f"pages: ok ({len(expected)} referrers on the leaderboard, {friends} friends on "
          f"the top referrer's page); screenshots in {SHOTS}/")


if __name__ == "__main__":
    main()
