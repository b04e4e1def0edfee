"""The ``/connect`` page in a real headless browser (Debian's Chromium and its WebDriver, through Selenium): sign-in
at the identity provider, a bad key refused, the good key bound, then disconnect. ``tests/services/ensure_chromium.sh``
installs Chromium when it is missing, so this test never skips.

The server, the identity provider and the sandbox are the same real parts as in ``test_oauth.py``.
"""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Iterator

import pytest
from selenium import webdriver
from selenium.common.exceptions import WebDriverException
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.support.wait import WebDriverWait

from civis_mcp.sandbox import demo as d
from tests.hosted_support import ALICE_KEY, BAD_KEY, BOB_KEY, ROOT, text_of
from tests.oauth_support import ALICE, BOB, World, client, connect_link, oauth_world, stored_subjects


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    with oauth_world(tmp_path_factory.mktemp("oauth-browser")) as running:
        yield running


@pytest.fixture(scope="module")
def chromium(tmp_path_factory: pytest.TempPathFactory) -> Iterator[webdriver.Chrome]:
    """One headless Chromium for the file (starting one costs a second or two of CPU); see ``browser``."""
    tmp_path = tmp_path_factory.mktemp("chromium")
    subprocess.run(["bash", str(ROOT / "tests/services/ensure_chromium.sh")], check=True, timeout=900)
    options = webdriver.ChromeOptions()
    options.binary_location = shutil.which("chromium") or "/usr/bin/chromium"
    for argument in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu"):
        options.add_argument(argument)
    options.add_argument(f"--user-data-dir={tmp_path / 'profile'}")
    service = Service(executable_path=shutil.which("chromedriver") or "/usr/bin/chromedriver")
    driver = webdriver.Chrome(options=options, service=service)
    driver.set_page_load_timeout(60)
    try:
        yield driver
    finally:
        driver.quit()


@pytest.fixture
def browser(chromium: webdriver.Chrome) -> webdriver.Chrome:
    """The file's Chromium as a new visitor: no cookies (the sign-in and /connect sessions live in them), no page."""
    chromium.execute_cdp_cmd("Network.clearBrowserCookies", {})
    chromium.get("about:blank")
    return chromium


def click_and_wait(browser: webdriver.Chrome, button: str) -> str:
    """Click a form's button and wait for the next page (not a clock: until the old page is gone)."""
    old = browser.find_element(By.TAG_NAME, "html")
    browser.find_element(By.ID, button).click()

    def replaced(driver: webdriver.Chrome) -> bool:
        # While the next page loads, Chromium may answer a question about the old page's node with a stale-element
        # error or with a generic "node does not belong to the document": either way the old page is gone.
        try:
            old.is_enabled()
        except WebDriverException:
            return True
        return False

    WebDriverWait(browser, 60).until(replaced)
    # Then until the new page has loaded (questions asked mid-navigation may fail: they are asked again).
    WebDriverWait(browser, 60, ignored_exceptions=(WebDriverException,)).until(
        lambda driver: driver.execute_script("return document.readyState") == "complete"
    )
    return str(browser.find_element(By.TAG_NAME, "body").text)


def submit_key(browser: webdriver.Chrome, key: str) -> str:
    browser.find_element(By.ID, "key").send_keys(key)
    return click_and_wait(browser, "save")


async def test_sign_in_a_bad_key_the_good_key_then_disconnect(world: World, browser: webdriver.Chrome) -> None:
    link = await connect_link(world, ALICE)
    world.issuer.signed_in = ALICE
    browser.get(link)
    assert browser.current_url == f"{world.origin}/connect/callback" or browser.current_url.startswith(
        f"{world.origin}/connect/callback?"
    )
    assert browser.find_element(By.TAG_NAME, "h1").text == "Connect your Civis account"
    assert browser.find_element(By.ID, "key").get_attribute("type") == "password"
    session = next(c for c in browser.get_cookies() if c["name"] == "civis_mcp_connect")
    assert session["httpOnly"] is True
    assert session["sameSite"] == "Strict"
    assert session["path"] == "/connect"

    page = submit_key(browser, BAD_KEY)
    assert "Civis rejected this key" in page
    assert BAD_KEY not in browser.page_source
    assert ALICE not in stored_subjects(world)  # the other test may have bound Bob's key first: only Alice's counts

    page = submit_key(browser, ALICE_KEY)
    assert f"Civis user {d.DEMO_USER_ID}" in page
    assert ALICE_KEY not in browser.page_source
    assert ALICE in stored_subjects(world)
    async with client(world, world.token(ALICE)) as mcp:
        result = await mcp.call_tool("imports_list", {})
    assert not result.is_error, text_of(result)

    assert "Your Civis key was removed" in click_and_wait(browser, "disconnect")
    assert ALICE not in stored_subjects(world)
    await connect_link(world, ALICE)  # the next call asks again


async def test_a_link_opened_in_another_persons_browser_is_refused(world: World, browser: webdriver.Chrome) -> None:
    link = await connect_link(world, BOB)
    world.issuer.signed_in = ALICE  # Bob's link, forwarded to Alice, who is signed in at the identity provider
    browser.get(link)
    assert browser.find_element(By.TAG_NAME, "h1").text == "This link is for someone else"
    assert not browser.find_elements(By.ID, "key")
    assert BOB not in stored_subjects(world)
    world.issuer.signed_in = BOB  # Bob opens it himself: it still works (it was not spent)
    browser.delete_all_cookies()
    browser.get(link)
    assert f"Civis user {d.DEMO_OUTSIDER_ID}" in submit_key(browser, BOB_KEY)
    assert BOB in stored_subjects(world)
